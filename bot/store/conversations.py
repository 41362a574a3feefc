"""Conversation state, history and client profiles in Redis.

A conversation is processed by one worker at a time: `lock()` takes a Redis
mutex (so several app replicas never race) and waits for it with a deadline.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from contextlib import asynccontextmanager
from typing import Any

from pydantic import BaseModel, Field
from redis.asyncio import Redis

from . import keys


class Pending(BaseModel):
    """A question the assistant asked and is waiting an answer to."""

    kind: str  # resolved | clarify | segment
    target: str | None = None  # clarify: the payload «да» stands for; resolved: the faq id
    alternatives: list[str] = Field(default_factory=list)  # payloads to offer after «нет»


class ConversationState(BaseModel):
    conversation_id: str
    client_id: str
    channel: str
    flow: str | None = None
    flow_state: dict[str, Any] = Field(default_factory=dict)
    # Flows set aside by another one (newest last): {"flow": name, "state": its state}
    suspended: list[dict[str, Any]] = Field(default_factory=list)
    pending: Pending | None = None
    with_operator: bool = False
    turns: int = 0
    created_at: float = Field(default_factory=time.time)
    updated_at: float = Field(default_factory=time.time)


class ConversationBusy(RuntimeError):
    pass


class ConversationStore:
    def __init__(self, redis: Redis):
        self.redis = redis

    async def load(self, cid: str) -> ConversationState | None:
        raw = await self.redis.get(keys.conversation(cid))
        return ConversationState.model_validate_json(raw) if raw else None

    async def save(
        self, state: ConversationState, *entries: dict[str, Any], receipt: tuple[str, str] | None = None
    ) -> None:
        """Store the state and append `entries` to the history: one transaction, so a
        turn's state and its history lines are never seen (or lost) apart. `receipt`
        (token, the turn's result as JSON) is kept in the same transaction."""
        state.updated_at = time.time()
        cid = state.conversation_id
        pipe = self.redis.pipeline(transaction=True)
        pipe.set(keys.conversation(cid), state.model_dump_json())
        self._append(pipe, cid, entries)
        if receipt:
            token, result = receipt
            key = keys.receipts(cid)
            pipe.lpush(key, json.dumps({"token": token, "result": result}))
            pipe.ltrim(key, 0, keys.RECEIPTS_KEPT - 1)
            pipe.expire(key, keys.IDEMPOTENCY_TTL_S)
        await pipe.execute()

    async def receipt(self, cid: str, token: str) -> str | None:
        """The result (JSON) saved with the turn that `token` named, if it is among the
        conversation's last RECEIPTS_KEPT receipted turns."""
        for raw in await self.redis.lrange(keys.receipts(cid), 0, -1):
            kept = json.loads(raw)
            if kept.get("token") == token:
                return kept["result"]
        return None

    async def append_history(self, cid: str, *entries: dict[str, Any]) -> None:
        if not entries:
            return
        pipe = self.redis.pipeline(transaction=True)
        self._append(pipe, cid, entries)
        await pipe.execute()

    @staticmethod
    def _append(pipe, cid: str, entries: tuple[dict[str, Any], ...]) -> None:
        if entries:
            key = keys.history(cid)
            pipe.rpush(key, *(json.dumps(e, ensure_ascii=False) for e in entries))
            pipe.ltrim(key, -keys.HISTORY_MAX, -1)

    async def history(self, cid: str, limit: int = keys.HISTORY_MAX) -> list[dict[str, Any]]:
        raw = await self.redis.lrange(keys.history(cid), -limit, -1)
        return [json.loads(r) for r in raw]

    @asynccontextmanager
    async def lock(self, cid: str, wait: float = 20.0):
        key, token = keys.lock(cid), secrets.token_hex(8)
        deadline = time.monotonic() + wait
        delay = 0.005
        while not await self.redis.set(key, token, nx=True, px=keys.LOCK_TTL_MS):
            if time.monotonic() > deadline:
                raise ConversationBusy(cid)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.1)
        try:
            yield
        finally:
            await self.redis.eval(keys.RELEASE_LOCK, 1, key, token)


class ProfileStore:
    """Client profile (R-5): segment and the channel identities seen."""

    def __init__(self, redis: Redis):
        self.redis = redis

    async def get(self, client_id: str) -> dict[str, str]:
        return await self.redis.hgetall(keys.client(client_id))

    async def set(self, client_id: str, **fields: str) -> None:
        await self.redis.hset(keys.client(client_id), mapping=fields)

    async def remove(self, client_id: str, *fields: str) -> None:
        if fields:
            await self.redis.hdel(keys.client(client_id), *fields)

    async def touch(self, client_id: str, channel: str) -> dict[str, str]:
        """Note the visit and return the profile, in one round trip (every turn does this)."""
        now = str(int(time.time()))
        pipe = self.redis.pipeline(transaction=False)
        pipe.hsetnx(keys.client(client_id), "first_seen", now)
        pipe.hset(keys.client(client_id), mapping={"last_seen": now, "last_channel": channel})
        pipe.hgetall(keys.client(client_id))
        return (await pipe.execute())[-1]
