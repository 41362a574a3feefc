"""Operator presence: online / away / offline, kept alive by a heartbeat from
the console. An operator whose heartbeat stopped counts as offline."""

from __future__ import annotations

import time
from enum import Enum

from redis.asyncio import Redis

from handoff import keys as handoff_keys


class Presence(str, Enum):
    online = "online"
    away = "away"
    offline = "offline"


TITLES = {Presence.online: "на связи", Presence.away: "отошёл", Presence.offline: "не в сети"}


class PresenceBoard:
    def __init__(self, redis: Redis, ttl_seconds: float = 60):
        self.redis = redis
        self.ttl = ttl_seconds

    async def set(self, operator: str, presence: Presence, now: float | None = None) -> None:
        now = time.time() if now is None else now
        pipe = self.redis.pipeline(transaction=True)
        pipe.hset(handoff_keys.handoff_presence(), operator, Presence(presence).value)
        pipe.zadd(handoff_keys.handoff_heartbeat(), {operator: now})
        await pipe.execute()

    async def heartbeat(self, operator: str, now: float | None = None) -> None:
        await self.redis.zadd(handoff_keys.handoff_heartbeat(), {operator: time.time() if now is None else now})

    async def last_heartbeats(self) -> dict[str, float]:
        """Operator -> time of the last sign of life from their console."""
        return dict(await self.redis.zrange(handoff_keys.handoff_heartbeat(), 0, -1, withscores=True))

    async def all(self, now: float | None = None) -> dict[str, Presence]:
        now = time.time() if now is None else now
        stated = await self.redis.hgetall(handoff_keys.handoff_presence())
        beats = dict(await self.redis.zrange(handoff_keys.handoff_heartbeat(), 0, -1, withscores=True))
        return {
            name: Presence(value) if now - beats.get(name, 0) <= self.ttl else Presence.offline
            for name, value in stated.items()
        }

    async def get(self, operator: str, now: float | None = None) -> Presence:
        return (await self.all(now)).get(operator, Presence.offline)

    async def online(self, now: float | None = None) -> list[str]:
        return sorted(n for n, p in (await self.all(now)).items() if p is Presence.online)
