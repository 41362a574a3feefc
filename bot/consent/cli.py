"""Redis for the consent command-line tools: REDIS_URL, or the embedded
server of `make run` (started for the command if it is not running)."""

from __future__ import annotations

from contextlib import asynccontextmanager

from bot.settings import get_settings
from bot.store import connect
from bot.store.redis_server import EmbeddedRedis


@asynccontextmanager
async def open_redis():
    settings = get_settings()
    embedded = None
    if settings.redis_url:
        url = settings.redis_url
    else:
        server = EmbeddedRedis(settings.data_dir / "redis")
        if not server.running():
            embedded = server.start()
        url = server.url
    redis = connect(url)
    try:
        yield redis
    finally:
        await redis.aclose()
        if embedded:
            embedded.stop()
