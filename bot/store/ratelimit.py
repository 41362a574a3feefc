"""Per-client message rate limit (fixed one-minute windows in Redis).

Protects the assistant (and the operators' queue) from floods and scripts;
a person typing never reaches it.
"""

from __future__ import annotations

import time

from redis.asyncio import Redis

from . import keys

WINDOW_S = 60


class RateLimiter:
    def __init__(self, redis: Redis, per_minute: int):
        self.redis = redis
        self.per_minute = per_minute

    async def retry_after(self, client_id: str) -> int:
        """0 when the message may pass, else seconds until the window resets."""
        if self.per_minute <= 0:
            return 0
        now = time.time()
        window = int(now // WINDOW_S)
        count = await self.redis.eval(keys.RATE_HIT, 1, keys.rate(client_id, window), WINDOW_S * 2)
        if count <= self.per_minute:
            return 0
        return max(1, int((window + 1) * WINDOW_S - now))
