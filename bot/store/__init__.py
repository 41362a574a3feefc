"""Redis-backed storage. `keys` owns every key name; nothing else builds keys."""

from redis.asyncio import Redis


def connect(url: str) -> Redis:
    """All app code uses text (decode_responses) clients."""
    return Redis.from_url(url, decode_responses=True, health_check_interval=30)
