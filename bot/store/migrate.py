"""Brings a store written by an older version to today's key layout, once.

Layout 2 puts a conversation's keys under its own hash tag (`mb:conv:{<cid>}`,
see keys.py) so that its state and history, written in one transaction, lie
in one Redis Cluster slot. A store of layout 1 (`mb:conv:<cid>`) lives on a
single server or a Sentinel pair, where RENAME works between any two keys;
its conversations are renamed before the app serves its first turn, and
nothing is dropped (a key that is neither a state nor a history is left
where it is, and logged by count).
"""

from __future__ import annotations

import logging

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from . import keys

log = logging.getLogger(__name__)

LAYOUT = 2
BATCH = 500


async def migrate(redis: Redis, *, cluster: bool = False) -> int:
    """Renames layout-1 conversation keys; returns how many keys were moved."""
    if int(await redis.get(keys.layout()) or 1) >= LAYOUT:
        return 0
    moved = 0
    if not cluster:  # a cluster is never of layout 1: it could not run the old transactions
        moved = await _tag_conversations(redis)
    await redis.set(keys.layout(), LAYOUT)
    if moved:
        log.info("store migrated to key layout %s", LAYOUT, extra={"keys": moved})
    return moved


async def _tag_conversations(redis: Redis) -> int:
    old_prefix, moved, left = keys.CONV.prefix, 0, 0
    async for key in redis.scan_iter(match=f"{old_prefix}[^{{]*", count=BATCH):
        rest = key[len(old_prefix) :]
        kind = await redis.type(key)
        if kind == "list" and rest.endswith(":history"):
            target = keys.history(rest.removesuffix(":history"))
        elif kind == "string" and (await redis.getrange(key, 0, 0)) == "{":
            target = keys.conversation(rest)
        elif kind == "none":  # gone meanwhile (a lock that expired)
            continue
        else:  # a lock (lives 30 s) or something unknown: not ours to guess
            left += 1
            continue
        try:
            await redis.rename(key, target)
            moved += 1
        except ResponseError:  # another replica renamed it first
            continue
    if left:
        log.info("layout migration left %s keys that are neither state nor history", left)
    return moved
