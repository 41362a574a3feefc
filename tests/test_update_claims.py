"""A messenger update's claim (bot/channels/messenger.py `once`): taken once across replicas,
kept alive while a long turn runs, given up when its holder is cancelled, handled for good
after. Against the real Redis the tests start."""

from __future__ import annotations

import asyncio

import pytest

from bot.channels import messenger
from bot.channels.messenger import MessengerChannel
from bot.store import connect, keys


class Bare(MessengerChannel):
    """Just what `once` needs: the store (no platform, no engine)."""

    def __init__(self, redis) -> None:
        self.redis = redis

    async def send_piece(self, chat_id, piece) -> None:
        raise NotImplementedError

    async def send_typing(self, chat_id) -> None:
        raise NotImplementedError

    async def feed_raw(self, data) -> None:
        raise NotImplementedError


def channel(redis) -> MessengerChannel:
    return Bare(redis)


@pytest.fixture
async def redis(redis_server):
    client = connect(redis_server.url)
    yield client
    await client.aclose()


@pytest.mark.slow  # waits out a claim's lifetime (seconds)
async def test_a_long_turn_keeps_its_claim_and_a_redelivery_is_not_taken_meanwhile(redis, monkeypatch):
    monkeypatch.setattr(keys, "IDEMPOTENCY_CLAIM_TTL_S", 2)
    key = keys.seen("test-claims", "long-turn")
    first, second = channel(redis), channel(redis)
    taken = []

    async def redelivered() -> None:
        await asyncio.sleep(0.5)
        async with second.once(key) as mine:
            taken.append(mine)

    async with first.once(key) as mine:
        assert mine
        waiting = asyncio.create_task(redelivered())
        await asyncio.sleep(3.5)  # longer than the claim lives unless renewed
        assert (await redis.get(key)).startswith(messenger.IN_FLIGHT)
        assert taken == []  # the redelivery waits for the first to finish
    await waiting
    assert taken == [False] and await redis.get(key) == "1"
    assert 0 < await redis.ttl(key) <= keys.SEEN_TTL_S


async def test_a_cancelled_holder_lets_the_redelivery_through_at_once(redis):
    key = keys.seen("test-claims", "cancelled")
    ch = channel(redis)
    started = asyncio.Event()

    async def turn() -> None:
        async with ch.once(key) as mine:
            assert mine
            started.set()
            await asyncio.sleep(30)

    task = asyncio.create_task(turn())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await redis.get(key) is None
    async with ch.once(key) as mine:
        assert mine


async def test_each_turn_of_an_update_has_its_own_receipt(redis):
    ch = channel(redis)
    assert messenger._next_receipt() is None  # outside an update: no receipt
    async with ch.once(keys.seen("test-claims", "receipts")) as mine:
        assert mine
        assert [messenger._next_receipt(), messenger._next_receipt()] == [
            keys.seen("test-claims", "receipts") + "#1",
            keys.seen("test-claims", "receipts") + "#2",
        ]
    assert messenger._next_receipt() is None
