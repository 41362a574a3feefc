"""The consent ledger against a real Redis: the state is a replay of the
append-only history (and the cache agrees), writes are confirmed or fail
loudly, exports show what each client agreed to."""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import itertools
import json

import pytest
import pytest_asyncio
from redis.exceptions import ConnectionError as RedisConnectionError

from bot.consent import export
from bot.consent.documents import load_documents, show
from bot.consent.ledger import Ledger, record_personal_data_consent
from bot.consent.model import Action, Category, ConsentState, Frequency, Kind, Record, replay
from bot.store import connect, keys
from handoff.callbacks import has_consent

_ids = itertools.count(1)
T0 = 1_741_744_800.0  # 2025-03-12 02:00 UTC


def client() -> str:
    return f"ledger-client-{next(_ids)}"


def rec(client_id: str, kind: Kind, scope: str, action: Action, ts: float, **extra) -> Record:
    return Record(client_id=client_id, kind=kind, scope=scope, action=action, ts=ts, channel="api", **extra)


@pytest_asyncio.fixture
async def redis(redis_server):
    r = connect(redis_server.url)
    yield r
    await r.aclose()


async def test_replay_of_the_ledger_is_the_current_state_and_the_cache_agrees(redis):
    ledger, cid = Ledger(redis), client()
    docs = load_documents()
    taxes = show(docs.for_kind(Kind.situation), "центр", "по теме «налоги»")
    history = [
        rec(cid, Kind.situation, "taxes", Action.grant, T0, **taxes.ledger_fields()),
        rec(cid, Kind.situation, "support", Action.grant, T0 + 1),
        rec(cid, Kind.personal_data, "applications", Action.decline, T0 + 2),
        rec(cid, Kind.personal_data, "applications", Action.grant, T0 + 3, version="1"),
        rec(cid, Kind.situation, "taxes", Action.withdraw, T0 + 4, reason="unsubscribe"),
        rec(cid, Kind.notify, "content", Action.set, T0 + 5, settings={"frequency": "weekly"}),
        rec(cid, Kind.notify, "quiet", Action.set, T0 + 6, settings={"quiet": "off"}),
        rec(cid, Kind.situation, "taxes", Action.grant, T0 + 7, **taxes.ledger_fields()),
    ]
    for r in history[:3]:
        await ledger.append(r)
    returned = await ledger.append(*history[3:])

    state = await ledger.state(cid)
    assert state == returned == await ledger.cached(cid) == replay(history)
    assert sorted(state.grants) == ["personal_data:applications", "situation:support", "situation:taxes"]
    assert state.grants["situation:taxes"].granted_at == T0 + 7  # re-granted after the withdrawal
    assert state.grants["situation:taxes"].sha256 == hashlib.sha256(taxes.text.encode()).hexdigest()
    assert state.withdrawn == {"situation:taxes": T0 + 4}
    assert state.frequency_of(Category.content) is Frequency.weekly
    assert state.frequency_of(Category.transactional) is Frequency.immediate
    assert state.quiet == "off"

    # append-only: every record is kept, in order, in the client's stream and the audit stream
    stored = await ledger.records(cid)
    assert [(r.kind, r.scope, r.action, r.ts) for r in stored] == [(r.kind, r.scope, r.action, r.ts) for r in history]
    audited = [r async for r in ledger.audit() if r.client_id == cid]
    assert replay(audited) == state
    assert cid in await ledger.clients()


async def test_concurrent_writes_never_leave_a_stale_cache(redis):
    ledger, cid = Ledger(redis), client()
    situations = ["taxes", "support", "hiring", "export", "digital", "permits"]
    writes = [ledger.append(rec(cid, Kind.situation, s, Action.grant, T0 + i)) for i, s in enumerate(situations)]
    writes += [
        ledger.append(rec(cid, Kind.situation, s, Action.withdraw, T0 + 100 + i)) for i, s in enumerate(situations[:2])
    ]
    await asyncio.gather(*writes)
    assert len(await ledger.records(cid)) == 8
    assert await ledger.cached(cid) == await ledger.state(cid)


async def test_personal_data_consent_is_what_the_handoff_callback_flow_reads(redis):
    ledger, cid = Ledger(redis), client()
    await record_personal_data_consent(
        redis,
        cid,
        purpose="callback",
        text_version="1",
        text_id="pd_callback",
        channel="telegram",
        conversation_id="c1",
        now=T0,
    )
    assert has_consent(await redis.hgetall(keys.client(cid)))  # one source: the ledger's cached state
    await ledger.append(rec(cid, Kind.personal_data, "callback", Action.withdraw, T0 + 1))
    assert not has_consent(await redis.hgetall(keys.client(cid)))
    assert not any(f.startswith("consent_pd_") for f in await redis.hgetall(keys.client(cid)))
    assert (await ledger.state(cid)).withdrawn == {"personal_data:callback": T0 + 1}


async def test_a_write_redis_does_not_confirm_raises_instead_of_being_dropped(tmp_path):
    dead = connect(f"unix://{tmp_path}/no-redis.sock?db=0")
    with pytest.raises((RedisConnectionError, OSError)):
        await Ledger(dead).append(rec("c", Kind.situation, "taxes", Action.grant, T0))
    await dead.aclose()


def test_consent_texts_are_versioned_and_hashed(tmp_path):
    docs = load_documents()
    for purpose in ("applications", "payments", "appointments", "callback"):
        assert docs.for_purpose(purpose).kind is Kind.personal_data
    shown = show(docs.for_kind(Kind.situation), "центр «Мой бизнес»", "по теме «налоги»")
    assert "«налоги»" in shown.text and shown.sha256 == hashlib.sha256(shown.text.encode()).hexdigest()

    bad = tmp_path / "texts.yaml"
    bad.write_text(
        "documents:\n"
        + "".join(
            f"  - {{id: pd_x, kind: personal_data, purpose: x, version: 1, title: обработка данных,"
            f" text: '{'Я даю согласие на обработку данных для цели x. ' * 2}'}}\n"
            for _ in range(2)
        ),
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match="pd_x version 1 appears twice"):
        load_documents(bad)
    bad.write_text(
        "documents:\n  - {id: s, kind: situation, version: 1, title: 'тема {nope}',"
        " text: 'Текст согласия достаточно длинный, чтобы пройти проверку длины.'}\n",
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match="unknown placeholder"):
        load_documents(bad)


async def test_client_history_and_compliance_export(redis):
    ledger, cid = Ledger(redis), client()
    docs = load_documents()
    taxes = show(docs.for_kind(Kind.situation), "центр", "по теме «налоги»")
    await ledger.append(rec(cid, Kind.situation, "taxes", Action.grant, T0, **taxes.ledger_fields()))
    await ledger.append(rec(cid, Kind.notify, "content", Action.set, T0 + 60, settings={"frequency": "daily"}))
    await ledger.append(rec(cid, Kind.situation, "taxes", Action.withdraw, T0 + 120, reason="unsubscribe"))

    history = await export.client_history(redis, cid, "Asia/Kamchatka")
    assert [h["action_title"] for h in history] == ["дано согласие", "изменена настройка", "согласие отозвано"]
    assert history[0]["date"] == "12.03.2025 14:00" and "«налоги»" in history[0]["what"]
    assert history[1]["what"] == "уведомления «Новости и меры поддержки»: раз в день, подборкой"

    rows = [r async for r in export.audit_rows(redis, since=T0 - 1, until=T0 + 3600) if r["client_id"] == cid]
    assert [r["action"] for r in rows] == ["grant", "set", "withdraw"]
    assert rows[0]["sha256"] == taxes.sha256 and rows[0]["version"] == "1"
    assert rows[0]["recorded_at"] == "2025-03-12T02:00:00+00:00"

    out = io.StringIO()
    assert export.write_csv(rows, out, export.AUDIT_COLUMNS) == 3
    parsed = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert parsed[2]["reason"] == "unsubscribe" and parsed[1]["settings"] == '{"frequency": "daily"}'
    out = io.StringIO()
    export.write_jsonl(rows, out)
    assert [json.loads(line)["scope"] for line in out.getvalue().splitlines()] == ["taxes", "content", "taxes"]


def test_replay_of_nothing_is_no_consent():
    state = replay([])
    assert state == ConsentState() and state.situation_basis("taxes") is None
