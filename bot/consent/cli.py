"""Redis for the consent command-line tools: REDIS_URL, or the embedded
server of `make run` (started for the command if it is not running)."""

from __future__ import annotations

from contextlib import asynccontextmanager

from bot.settings import get_settings
from bot.store import connect
from bot.store.redis_server import local_redis_url


@asynccontextmanager
async def open_redis():
    settings = get_settings()
    with local_redis_url(settings.redis_url, settings.data_dir) as url:
        redis = connect(url)
        try:
            yield redis
        finally:
            await redis.aclose()
