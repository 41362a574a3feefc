"""`Idempotency-Key` on API messages: a retried request gets the first reply.

A key is bound to the request it first came with — the conversation and the
body, kept as a hash next to the reply. The same key with another request is
a client's mistake that must not silently return an unrelated reply: it is
refused (`KeyReused`, 409). Stored as JSON `{"request": <hash>, "reply": …}`;
`reply` is null while the first request is still being processed.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time

from redis.asyncio import Redis

from bot.store import keys
from bot.store.conversations import ConversationBusy

LEGACY_IN_FLIGHT = "…"  # written before keys were bound to requests (kept at most 24 h)


class KeyReused(Exception):
    """The Idempotency-Key was first used for a different request."""


def fingerprint(conversation_id: str, body_json: str) -> str:
    return hashlib.sha256(f"{conversation_id}\n{body_json}".encode()).hexdigest()


def _entry(value: str) -> tuple[str | None, dict | None]:
    """(request hash or None when unknown, reply or None while in flight)."""
    if value == LEGACY_IN_FLIGHT:
        return None, None
    data = json.loads(value)
    if "request" not in data:  # a legacy entry is the bare reply
        return None, data
    return data["request"], data["reply"]


async def claim_or_wait(redis: Redis, stored: str, request: str, wait: float = 25.0) -> dict | None:
    """None: this request processes the message. Otherwise the first request's reply
    (waiting for it while that request is still being processed). Raises KeyReused
    for another request under the same key, ConversationBusy when the wait runs out."""
    claim = json.dumps({"request": request, "reply": None})
    deadline = time.monotonic() + wait
    while True:
        if await redis.set(stored, claim, nx=True, ex=keys.IDEMPOTENCY_CLAIM_TTL_S):
            return None
        while time.monotonic() < deadline:
            value = await redis.get(stored)
            if value is None:  # the first attempt failed and let go: claim it now
                break
            first, reply = _entry(value)
            if first is not None and first != request:
                raise KeyReused(stored)
            if reply is not None:
                return reply
            await asyncio.sleep(0.05)
        else:
            raise ConversationBusy(stored)


async def remember(redis: Redis, stored: str, request: str, reply_json: str) -> None:
    await redis.set(stored, f'{{"request": "{request}", "reply": {reply_json}}}', ex=keys.IDEMPOTENCY_TTL_S)


async def release(redis: Redis, stored: str | None) -> None:
    if stored:
        await redis.delete(stored)
