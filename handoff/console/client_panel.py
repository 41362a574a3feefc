"""The client panel beside a conversation: the profile in words and the
client's consents as the ledger records them."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, tzinfo

from bot.consent import texts as consent_texts
from bot.consent.model import PROFILE_FIELD, PROFILE_VERSION_FIELD, ConsentState, Kind
from bot.core.numbers import parse_epoch
from knowledge_base.models import LIFE_SITUATIONS, SEGMENT_TITLES, Segment

PROFILE_LABELS = {
    "segment": "Кто клиент",
    "life_situation": "Жизненная ситуация",
    "last_channel": "Канал",
    "first_seen": "Впервые обратился",
    "last_seen": "Последнее сообщение",
    "phone": "Телефон",
}


def profile_rows(profile: dict[str, str]) -> list[tuple[str, str]]:
    rows = []
    for name, value in sorted(profile.items()):
        if name == "segment":
            with contextlib.suppress(ValueError):
                value = SEGMENT_TITLES.get(Segment(value), "универсальный профиль")
        elif name == "life_situation":
            value = LIFE_SITUATIONS.get(value, value)
        elif name in ("first_seen", "last_seen") and (ts := parse_epoch(value)) is not None:
            value = datetime.fromtimestamp(ts, UTC).strftime("%d.%m.%Y %H:%M UTC")
        elif name in (PROFILE_FIELD, PROFILE_VERSION_FIELD, "pd_sources", "rating_asked_at") or name.startswith(
            "consent_pd_"
        ):
            continue  # consents are shown from the ledger (`consent_rows`), not from profile caches
        rows.append((PROFILE_LABELS.get(name, name), value))
    return rows


def consent_rows(state: ConsentState, zone: tzinfo) -> list[tuple[str, str]]:
    """The client's consents from the ledger: what, since when, through which channel, on which text."""
    rows = []
    for g in state.active():
        if g.kind is Kind.notify:
            continue
        via = consent_texts.CHANNEL_TITLES.get(g.channel, g.channel)
        text = f"{g.text_id or '—'}, версия {g.version or '—'}"
        rows.append(
            (
                consent_texts.short_title(g.kind, g.scope),
                f"дано {datetime.fromtimestamp(g.granted_at, zone):%d.%m.%Y %H:%M} {via} (текст {text})",
            )
        )
    for key, ts in sorted(state.withdrawn.items(), key=lambda kv: kv[1]):
        if key in state.grants:
            continue
        kind, _, scope = key.partition(":")
        rows.append(
            (
                consent_texts.short_title(Kind(kind), scope),
                f"отозвано {datetime.fromtimestamp(ts, zone):%d.%m.%Y %H:%M}",
            )
        )
    return rows
