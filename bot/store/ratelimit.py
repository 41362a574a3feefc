"""Message rate limits (fixed one-minute windows in Redis).

Per client (the engine): protects the assistant (and the operators' queue)
from floods and scripts; a person typing never reaches it. Per API key (the
API adapter, `keys.api_key_rate`): a caller cannot escape the per-client one
by inventing a new `client_id` for every message.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from redis.asyncio import Redis

from . import keys

WINDOW_S = 60


class RateLimiter:
    def __init__(self, redis: Redis, per_minute: int, key: Callable[[str, int], str] = keys.rate):
        self.redis = redis
        self.per_minute = per_minute
        self.key = key

    async def retry_after(self, subject: str) -> int:
        """0 when the message may pass, else seconds until the window resets."""
        if self.per_minute <= 0:
            return 0
        now = time.time()
        window = int(now // WINDOW_S)
        count = await self.redis.eval(keys.RATE_HIT, 1, self.key(subject, window), WINDOW_S * 2)
        if count <= self.per_minute:
            return 0
        return max(1, int((window + 1) * WINDOW_S - now))
