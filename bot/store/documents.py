"""Read-modify-write of one JSON document (a pydantic model) in Redis.

Optimistic locking: WATCH the key, compute the new document, write it in a
MULTI transaction, and start over if another writer got there first. A change
function may raise to abort (nothing is written).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel
from redis.asyncio import Redis
from redis.exceptions import WatchError

from .durable import replicated

M = TypeVar("M", bound=BaseModel)


async def update_document(
    redis: Redis,
    key: str,
    model: type[M],
    change: Callable[[M], M],
    *,
    missing: str,
    also: Callable[[Any, M, M], None] | None = None,
) -> tuple[M, M]:
    """Returns (before, after). `missing` is the KeyError raised when there is no
    document; `also(pipe, before, after)` queues more commands in the same transaction."""
    async with redis.pipeline(transaction=True) as pipe:
        while True:
            try:
                await pipe.watch(key)
                raw = await pipe.get(key)
                if raw is None:
                    raise KeyError(missing)
                before = model.model_validate_json(raw)
                after = change(model.model_validate_json(raw))
                pipe.multi()
                pipe.set(key, after.model_dump_json())
                if also:
                    also(pipe, before, after)
                await pipe.execute()
                break
            except WatchError:
                continue
    await replicated(redis)  # orders and applications: what the client was told must outlive a failover
    return before, after
