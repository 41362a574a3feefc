"""Anonymized turn events (R-21): an append-only Redis stream.

Texts are masked before they are written, and so are button payloads and the
decision (a payload's value can reach it: «handoff:<value>»); conversation ids
are replaced by a keyed hash so events can be grouped per conversation without
revealing who.
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

from redis.asyncio import Redis

from bot.core.masking import mask_payload, mask_personal_data

from . import keys


def anonymous_id(conversation_id: str, salt: str) -> str:
    return hashlib.blake2b(conversation_id.encode(), key=salt.encode()[:64], digest_size=8).hexdigest()


class EventLog:
    def __init__(self, redis: Redis, salt: str):
        self.redis = redis
        self.salt = salt

    async def turn(
        self,
        *,
        conversation_id: str,
        channel: str,
        text: str | None,
        payload: str | None,
        intent: str | None,
        faq_id: str | None,
        confidence: float | None,
        ranking: list[dict[str, Any]],
        reply_kinds: list[str],
        decision: str,
        latency_ms: float,
    ) -> None:
        event = {
            "ts": f"{time.time():.3f}",
            "conv": anonymous_id(conversation_id, self.salt),
            "channel": channel,
            "text": mask_personal_data(text or ""),
            "payload": mask_payload(payload or ""),
            "intent": intent or "",
            "faq_id": faq_id or "",
            "confidence": "" if confidence is None else f"{confidence:.4f}",
            "ranking": json.dumps(ranking[:3], ensure_ascii=False),
            "replies": ",".join(reply_kinds),
            "decision": mask_payload(decision),
            "latency_ms": f"{latency_ms:.1f}",
        }
        await self.redis.xadd(keys.events(), event, maxlen=keys.EVENTS_MAXLEN, approximate=True)

    async def read_all(self, count: int = 100_000) -> list[dict[str, str]]:
        return [fields for _id, fields in await self.redis.xrange(keys.events(), count=count)]
