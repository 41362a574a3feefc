"""Slows down password guessing on the operator console.

After `MAX_PER_ACCOUNT` failed sign-ins to one account, or `MAX_PER_ADDRESS`
from one address, within `WINDOW_S`, further attempts are refused without
checking the password until the window ends. A successful sign-in clears the
account's count. Counters live in Redis, so every app replica sees them.
"""

from __future__ import annotations

from redis.asyncio import Redis

from bot.store import keys

WINDOW_S = 15 * 60
MAX_PER_ACCOUNT = 5
MAX_PER_ADDRESS = 20


class LoginGuard:
    def __init__(self, redis: Redis):
        self.redis = redis

    @staticmethod
    def _limits(name: str, address: str) -> tuple[tuple[str, int], ...]:
        return ((keys.console_account_failures(name.strip().lower()), MAX_PER_ACCOUNT),
                (keys.console_address_failures(address), MAX_PER_ADDRESS))

    async def wait_seconds(self, name: str, address: str) -> int:
        """0 when an attempt may be checked, else seconds until it may."""
        limits = self._limits(name, address)
        pipe = self.redis.pipeline(transaction=False)
        for key, _ in limits:
            pipe.get(key)
            pipe.ttl(key)
        values = await pipe.execute()
        wait = 0
        for i, (_, limit) in enumerate(limits):
            count, ttl = int(values[2 * i] or 0), values[2 * i + 1]
            if count >= limit:
                wait = max(wait, ttl if ttl and ttl > 0 else WINDOW_S)
        return wait

    async def failed(self, name: str, address: str) -> None:
        for key, _ in self._limits(name, address):
            await self.redis.eval(keys.RATE_HIT, 1, key, WINDOW_S)  # count; the first starts the window

    async def succeeded(self, name: str) -> None:
        await self.redis.delete(keys.console_account_failures(name.strip().lower()))
