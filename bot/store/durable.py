"""Writes that must survive a failover: acknowledged only once replicas have them.

Redis replicates asynchronously: a master can acknowledge a write and die
before its replica got it, and Sentinel then promotes a replica without it.
For the writes a client is told about and that must never be lost — a
consent or its withdrawal (bot/consent/ledger.py), a payment order and its
status (bot/payments/orders.py, via bot/store/documents.py), an application
(bot/applications/store.py) and a handoff request or claim (handoff/queue.py)
— the store waits, after the write, until REDIS_WAIT_REPLICAS replicas
acknowledge it (WAIT), and raises `NotReplicated` otherwise, so the caller
says «не получилось» instead of a confirmation that a failover could undo.
Other writes (conversation state, history, counters) are not worth a round
trip to the replicas: a failover may lose their last second.

WAIT covers what its own connection wrote, and a pooled client's next
command may run on another connection; so the wait writes a marker on the
connection it waits on: the replication stream is ordered, so replicas that
have the marker have every write acknowledged before it.

On Redis Cluster the wait is not done (each shard would need its own marker
and WAIT); the cluster's own replicas are the operator's choice there.
"""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis

from . import keys


class NotReplicated(RuntimeError):
    """Fewer replicas than required acknowledged a write in time."""


@dataclass(frozen=True)
class Durability:
    replicas: int = 0  # 0: acknowledged by the master alone
    timeout_ms: int = 1000


NONE = Durability()


def set_durability(redis: Redis, durability: Durability) -> Redis:
    # The setting rides on the client, so every store built on it waits the same way.
    redis.durability = durability
    return redis


def durability(redis: Redis) -> Durability:
    return getattr(redis, "durability", NONE)


async def replicated(redis: Redis) -> None:
    """Returns once the required replicas hold every write acknowledged so far."""
    need = durability(redis)
    if not need.replicas:
        return
    pipe = redis.pipeline(transaction=False)  # one connection: the marker, then WAIT for it
    pipe.incr(keys.replication_mark())
    pipe.execute_command("WAIT", need.replicas, need.timeout_ms)
    _, acked = await pipe.execute()
    if int(acked) < need.replicas:
        raise NotReplicated(f"{acked} of {need.replicas} replicas acknowledged within {need.timeout_ms} ms")
