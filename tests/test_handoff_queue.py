"""The operator queue against a real Redis: fairness, the atomic claim (two
operators at once: exactly one wins), cancel racing a claim, transfers limit,
presence with heartbeat."""

from __future__ import annotations

import asyncio

import pytest
import pytest_asyncio

from bot.store import connect
from handoff.presence import Presence, PresenceBoard
from handoff.queue import HandoffQueue, parse_segment_priority
from handoff.states import Refused, Status


@pytest_asyncio.fixture
async def redis(redis_server):
    # A database of its own, emptied per test: the queue is global by design.
    client = connect(redis_server.url.replace("db=0", "db=3"))
    await client.flushdb()
    yield client
    await client.flushdb()
    await client.aclose()


@pytest.fixture
def queue(redis):
    return HandoffQueue(redis, max_transfers=2, segment_priority={"sme": 120})


async def put(queue, cid, at, segment=""):
    assert await queue.enqueue(cid, client_id=f"client-{cid}", channel="api", segment=segment, reason="asked", now=at)


async def test_longest_waiting_client_is_first_and_a_segment_can_get_a_head_start(queue):
    await put(queue, "a", 1000)
    await put(queue, "b", 1010)
    await put(queue, "c", 1100, segment="sme")  # 120 s head start: ahead of a and b
    assert [t.conversation_id for t in await queue.waiting()] == ["c", "a", "b"]
    assert await queue.claim("anna", now=1200) == "c"
    assert await queue.claim("boris", now=1200) == "a"
    ticket = await queue.get("a")
    assert ticket.status is Status.with_operator and ticket.operator == "boris"
    assert ticket.waited(1300) == pytest.approx(200)


async def test_a_waiting_conversation_is_not_queued_twice(queue):
    await put(queue, "a", 1000)
    assert not await queue.enqueue("a", client_id="x", channel="api", now=1005)
    assert await queue.length() == 1 and (await queue.get("a")).enqueued_at == 1000


async def test_two_operators_claiming_the_same_client_at_once_exactly_one_wins(queue):
    for round_ in range(20):
        cid = f"race{round_}"
        await put(queue, cid, 1000 + round_)
        results = await asyncio.gather(queue.claim("anna", cid), queue.claim("boris", cid))
        assert sorted(r is not None for r in results) == [False, True], results
        winner = "anna" if results[0] else "boris"
        assert (await queue.get(cid)).operator == winner
        assert [t.conversation_id for t in await queue.mine(winner)].count(cid) == 1
    assert await queue.length() == 0


async def test_claim_next_by_many_operators_at_once_never_gives_one_client_twice(queue):
    for i in range(10):
        await put(queue, f"n{i}", 1000 + i)
    got = await asyncio.gather(*(queue.claim(f"op{i}") for i in range(14)))
    taken = [g for g in got if g]
    assert sorted(taken) == sorted(f"n{i}" for i in range(10))  # each exactly once, four got nothing


async def test_cancel_and_claim_race_one_outcome(queue):
    for i in range(10):
        cid = f"cc{i}"
        await put(queue, cid, 1000)
        cancelled, claimed = await asyncio.gather(queue.cancel(cid), queue.claim("anna", cid))
        assert cancelled != bool(claimed)
        assert (await queue.status(cid)) is (Status.bot if cancelled else Status.with_operator)


async def test_third_transfer_is_refused_with_an_explanation(queue):
    await put(queue, "t", 1000)
    await queue.claim("anna", "t")
    await queue.transfer("t", "anna", "boris")
    with pytest.raises(Refused):
        await queue.transfer("t", "anna", "vera")  # no longer anna's conversation
    await queue.transfer("t", "boris")  # back to the queue, keeps its place
    assert (await queue.get("t")).status is Status.waiting
    assert await queue.claim("vera") == "t"
    with pytest.raises(Refused) as exc:
        await queue.transfer("t", "vera", "anna")
    assert "не более 2" in exc.value.reason
    ticket = await queue.get("t")
    assert ticket.transfers == 2 and ticket.operator == "vera" and ticket.status is Status.with_operator


async def test_only_the_assigned_operator_resolves(queue):
    await put(queue, "r", 1000)
    await queue.claim("anna", "r")
    with pytest.raises(Refused):
        await queue.resolve("r", "boris")
    ticket = await queue.resolve("r", "anna")
    assert ticket.status is Status.resolved and await queue.mine("anna") == []
    assert (await queue.stats())["resolved"] == 1
    assert await queue.enqueue("r", client_id="x", channel="api")  # a new request later is a new ticket


async def test_the_queue_survives_a_new_client_connection(redis_server, queue):
    await put(queue, "durable", 1000)
    other = connect(redis_server.url.replace("db=0", "db=3"))
    try:
        assert [t.conversation_id for t in await HandoffQueue(other).waiting()] == ["durable"]
    finally:
        await other.aclose()


async def test_presence_needs_a_heartbeat(redis):
    board = PresenceBoard(redis, ttl_seconds=60)
    await board.set("anna", Presence.online, now=1000)
    await board.set("boris", Presence.away, now=1000)
    assert await board.online(now=1030) == ["anna"]
    assert await board.get("boris", now=1030) is Presence.away
    assert await board.online(now=1100) == []  # no heartbeat for 100 s: offline
    await board.heartbeat("anna", now=1090)
    assert await board.online(now=1100) == ["anna"]


def test_segment_priority_setting_is_validated():
    assert parse_segment_priority("sme:120, ip:60") == {"sme": 120.0, "ip": 60.0}
    with pytest.raises(ValueError):
        parse_segment_priority("sme=120")
