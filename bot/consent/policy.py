"""Pure delivery decisions: may this notification go to this client now?

Checked at send time against the replayed ledger, so a withdrawal made after
a message was queued stops it. Rules:
- the category's frequency `off` → skip;
- content / trigger need an active consent that covers the message (its life
  situation, «all topics», or its individual service) → otherwise skip;
- transactional messages answer the client's own request (a payment, an
  application): they need no proactive consent, only their category setting;
- daily / weekly frequency → wait for the client's next digest;
- quiet hours hold back content and trigger messages (transactional ones go
  out at once — the client is usually waiting for them).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from .model import ALL, Category, ConsentState, Frequency, Grant


@dataclass(frozen=True)
class Decision:
    action: str  # send | skip | defer | digest
    reason: str = ""
    due: datetime | None = None
    grant: Grant | None = None  # the consent the message is based on


def covering_grant(state: ConsentState, scope: str | None) -> Grant | None:
    """The active consent a message on `scope` may rely on."""
    if not scope:
        return None
    kind, _, value = scope.partition(":")
    if kind == "situation":
        return state.situation_basis(None if value == ALL else value)
    return state.grants.get(scope)


def parse_quiet(quiet: str | None) -> tuple[int, int] | None:
    if not quiet or quiet == "off":
        return None
    start, _, end = quiet.partition("-")
    minutes = [int(t[:2]) * 60 + int(t[3:5]) for t in (start, end)]
    return None if minutes[0] == minutes[1] else (minutes[0], minutes[1])


def in_quiet(now: datetime, quiet: tuple[int, int] | None) -> bool:
    if quiet is None:
        return False
    start, end = quiet
    m = now.hour * 60 + now.minute
    return start <= m < end if start < end else (m >= start or m < end)


def quiet_end(now: datetime, quiet: tuple[int, int] | None) -> datetime:
    if quiet is None:  # no quiet hours: nothing to wait for
        return now
    end = now.replace(hour=quiet[1] // 60, minute=quiet[1] % 60, second=0, microsecond=0)
    return end if end > now else end + timedelta(days=1)


def next_digest(now: datetime, frequency: Frequency, hour: int, quiet: tuple[int, int] | None) -> datetime:
    slot = now.replace(hour=hour, minute=0, second=0, microsecond=0)
    if frequency is Frequency.weekly:
        slot += timedelta(days=(0 - now.weekday()) % 7)  # Mondays
        if slot <= now:
            slot += timedelta(days=7)
    elif slot <= now:
        slot += timedelta(days=1)
    return quiet_end(slot, quiet) if in_quiet(slot, quiet) else slot


def decide(
    state: ConsentState,
    category: Category,
    scope: str | None,
    now: datetime,
    *,
    default_quiet: str,
    digest_hour: int,
    in_digest: bool = False,
) -> Decision:
    frequency = state.frequency_of(category)
    if frequency is Frequency.off:
        return Decision("skip", f"{category.value} notifications are off")
    grant = covering_grant(state, scope)
    if category is not Category.transactional and grant is None:
        return Decision("skip", "no consent")
    quiet = parse_quiet(state.quiet or default_quiet)
    if not in_digest and frequency in (Frequency.daily, Frequency.weekly):
        return Decision("digest", frequency.value, next_digest(now, frequency, digest_hour, quiet), grant)
    if not in_digest and category is not Category.transactional and in_quiet(now, quiet):
        return Decision("defer", "quiet hours", quiet_end(now, quiet), grant)
    return Decision("send", grant=grant)
