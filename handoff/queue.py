"""The operator queue in Redis: durable (AOF), fair (longest waiting first,
an optional head start per segment) and claimed atomically (Lua), so two
operators never take the same client."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from redis.asyncio import Redis

from bot.store.durable import replicated
from handoff import keys as handoff_keys

from .states import Event, Refused, Status, transfer_limit_text, transition


def parse_segment_priority(text: str) -> dict[str, float]:
    """ "sme:120,ip:60" → {"sme": 120.0, "ip": 60.0} (seconds of head start)."""
    result = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, seconds = part.partition(":")
        try:
            result[name.strip()] = float(seconds)
        except ValueError as exc:
            raise ValueError(f"HANDOFF_SEGMENT_PRIORITY: {part!r} must look like segment:seconds") from exc
    return result


@dataclass
class Ticket:
    """One conversation's handoff record as the console sees it."""

    conversation_id: str
    status: Status
    client_id: str = ""
    channel: str = ""
    segment: str = ""
    reason: str = ""
    flow: str = ""
    flow_state: dict[str, Any] | None = None
    operator: str = ""
    transfers: int = 0
    enqueued_at: float = 0.0
    claimed_at: float = 0.0
    resolved_at: float = 0.0
    offered_at: float = 0.0

    @classmethod
    def from_hash(cls, cid: str, h: dict[str, str]) -> Ticket:
        return cls(
            conversation_id=cid,
            status=Status(h.get("status") or "bot"),
            client_id=h.get("client_id", ""),
            channel=h.get("channel", ""),
            segment=h.get("segment", ""),
            reason=h.get("reason", ""),
            flow=h.get("flow", ""),
            flow_state=json.loads(h["flow_state"]) if h.get("flow_state") else None,
            operator=h.get("operator", ""),
            transfers=int(h.get("transfers") or 0),
            enqueued_at=float(h.get("enqueued_at") or 0),
            claimed_at=float(h.get("claimed_at") or 0),
            resolved_at=float(h.get("resolved_at") or 0),
            offered_at=float(h.get("offered_at") or 0),
        )

    def waited(self, now: float) -> float:
        end = self.claimed_at if self.status is not Status.waiting and self.claimed_at else now
        return max(0.0, end - self.enqueued_at)


def _day(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y%m%d")


class HandoffQueue:
    def __init__(self, redis: Redis, *, max_transfers: int = 2, segment_priority: dict[str, float] | None = None):
        self.redis = redis
        self.max_transfers = max_transfers
        self.segment_priority = segment_priority or {}

    # ---------------------------------------------------------------- reads
    async def get(self, cid: str) -> Ticket | None:
        h = await self.redis.hgetall(handoff_keys.handoff(cid))
        return Ticket.from_hash(cid, h) if h else None

    async def status(self, cid: str) -> Status:
        return Status(await self.redis.hget(handoff_keys.handoff(cid), "status") or "bot")

    async def waiting(self, limit: int = 200) -> list[Ticket]:
        """In the order operators should take them."""
        cids = await self.redis.zrange(handoff_keys.handoff_queue(), 0, limit - 1)
        tickets = [await self.get(cid) for cid in cids]
        return [t for t in tickets if t and t.status is Status.waiting]

    async def length(self) -> int:
        return await self.redis.zcard(handoff_keys.handoff_queue())

    async def oldest_wait(self, now: float | None = None, limit: int = 100) -> float:
        """Seconds the longest-waiting client has waited (0 with nobody in line), cheaply.

        A score is the enqueue time minus the segment's head start, so the client
        enqueued first lies within the largest head start of the first in line:
        only that band of the queue is read, never the whole queue."""
        now = time.time() if now is None else now
        queue = handoff_keys.handoff_queue()
        first = await self.redis.zrange(queue, 0, 0, withscores=True)
        if not first:
            return 0.0
        head_start = max([0.0, *self.segment_priority.values()])
        cids = await self.redis.zrangebyscore(queue, first[0][1], first[0][1] + head_start, start=0, num=limit)
        pipe = self.redis.pipeline(transaction=False)
        for cid in cids:
            pipe.hmget(handoff_keys.handoff(cid), "status", "enqueued_at")
        times = [float(at) for status, at in await pipe.execute() if status == Status.waiting.value and at]
        return max(0.0, now - min(times)) if times else 0.0

    async def mine(self, operator: str) -> list[Ticket]:
        tickets = [
            await self.get(cid) for cid in sorted(await self.redis.smembers(handoff_keys.handoff_mine(operator)))
        ]
        return [t for t in tickets if t and t.status is Status.with_operator and t.operator == operator]

    # --------------------------------------------------------------- writes
    async def enqueue(
        self,
        cid: str,
        *,
        client_id: str,
        channel: str,
        segment: str = "",
        reason: str = "",
        flow: str | None = None,
        flow_state: dict | None = None,
        now: float | None = None,
    ) -> bool:
        """False when the conversation is already waiting or with an operator."""
        now = time.time() if now is None else now
        priority = now - self.segment_priority.get(segment, 0.0)
        fields = {
            "client_id": client_id,
            "channel": channel,
            "segment": segment,
            "reason": reason,
            "flow": flow or "",
            "flow_state": json.dumps(flow_state or {}, ensure_ascii=False),
            "priority": f"{priority:.3f}",
        }
        args = [cid, f"{priority:.3f}", f"{now:.3f}", *(x for kv in fields.items() for x in kv)]
        done = await self.redis.eval(
            handoff_keys.HANDOFF_ENQUEUE, 2, handoff_keys.handoff(cid), handoff_keys.handoff_queue(), *args
        )
        if done:
            await replicated(self.redis)  # a client told «вы в очереди» stays in it after a failover
            await self._count(now, "requested")
            await self.publish("queue", cid)
        return bool(done)

    async def claim(self, operator: str, cid: str = "", now: float | None = None) -> str | None:
        """Take `cid` (or the first in line): the cid on success, None if someone else was faster."""
        now = time.time() if now is None else now
        got = await self.redis.eval(
            handoff_keys.HANDOFF_CLAIM,
            1,
            handoff_keys.handoff_queue(),
            cid,
            operator,
            f"{now:.3f}",
            handoff_keys.handoff_prefix(),
            handoff_keys.handoff_mine(operator),
            handoff_keys.handoff_active(),
        )
        if got:
            await replicated(self.redis)  # an operator who took a client keeps them after a failover
            ticket = await self.get(got)
            await self._count(now, "claimed", wait=ticket.waited(now) if ticket else 0.0)
            await self.publish("queue", got)
        return got or None

    async def cancel(self, cid: str, now: float | None = None) -> bool:
        now = time.time() if now is None else now
        done = await self.redis.eval(
            handoff_keys.HANDOFF_CANCEL, 2, handoff_keys.handoff(cid), handoff_keys.handoff_queue(), cid, f"{now:.3f}"
        )
        if done:
            await self._count(now, "cancelled")
            await self.publish("queue", cid)
        return bool(done)

    async def transfer(
        self, cid: str, operator: str, target: str = "", now: float | None = None, *, supervisor: bool = False
    ) -> None:
        """To `target` operator, or back to the queue when target is empty. Raises Refused.

        A supervisor may move any operator's conversation, also past the transfer
        limit: that is how a conversation whose operator left is rescued."""
        now = time.time() if now is None else now
        ticket = await self._owned(cid, operator, supervisor)
        current = ticket.operator
        if target == current:
            raise Refused(
                "Разговор уже у вас. Выберите другого оператора или верните его в очередь."
                if current == operator
                else "Разговор уже у этого оператора. Выберите другого или верните разговор в очередь."
            )
        if not supervisor:
            transition(
                ticket.status,
                Event.requeue if not target else Event.transfer,
                transfers=ticket.transfers,
                max_transfers=self.max_transfers,
            )
        await self._move(ticket, target, now, counted=True, limit=None if supervisor else self.max_transfers)
        await self._count(now, "transfers")
        await self.publish("queue", cid)

    async def requeue_gone(self, ticket: Ticket, now: float | None = None) -> bool:
        """The operator left without finishing: back to the queue, in its old place,
        not counted as a transfer. False when the conversation moved meanwhile."""
        now = time.time() if now is None else now
        try:
            await self._move(ticket, "", now, counted=False, limit=None)
        except Refused:
            return False
        await self._count(now, "returned")
        await self.publish("queue", ticket.conversation_id)
        return True

    async def _move(self, ticket: Ticket, target: str, now: float, *, counted: bool, limit: int | None) -> None:
        cid, current = ticket.conversation_id, ticket.operator
        result = await self.redis.eval(
            handoff_keys.HANDOFF_TRANSFER,
            5,
            handoff_keys.handoff(cid),
            handoff_keys.handoff_queue(),
            handoff_keys.handoff_mine(current),
            handoff_keys.handoff_mine(target or current),
            handoff_keys.handoff_active(),
            cid,
            current,
            target,
            10**6 if limit is None else limit,
            f"{now:.3f}",
            "1" if counted else "0",
        )
        if result == -2:
            raise Refused(transfer_limit_text(self.max_transfers))
        if result != 1:
            raise Refused("Этот разговор сейчас не у вас — обновите страницу очереди.")

    async def _owned(self, cid: str, operator: str, supervisor: bool) -> Ticket:
        ticket = await self.get(cid)
        if ticket is None or not (ticket.operator == operator or (supervisor and ticket.operator)):
            raise Refused(
                "Этот разговор сейчас не у вас — обновите страницу очереди."
                if not supervisor
                else "Этот разговор сейчас не у оператора: его можно только взять из очереди."
            )
        return ticket

    async def resolve(self, cid: str, operator: str, now: float | None = None, *, supervisor: bool = False) -> Ticket:
        now = time.time() if now is None else now
        ticket = await self._owned(cid, operator, supervisor)
        transition(ticket.status, Event.resolve)
        if not await self.redis.eval(
            handoff_keys.HANDOFF_RESOLVE,
            3,
            handoff_keys.handoff(cid),
            handoff_keys.handoff_mine(ticket.operator),
            handoff_keys.handoff_active(),
            cid,
            ticket.operator,
            f"{now:.3f}",
        ):
            raise Refused("Разговор уже завершён или передан.")
        await self._count(now, "resolved")
        await self.publish("queue", cid)
        ticket.status, ticket.resolved_at = Status.resolved, now
        return ticket

    async def touch(self, cid: str, now: float | None = None) -> None:
        """A message either way: the conversation with the operator is alive."""
        await self.redis.zadd(handoff_keys.handoff_active(), {cid: time.time() if now is None else now}, xx=True)

    async def active(self) -> list[tuple[str, float]]:
        """Conversations with an operator and their last message time, oldest first."""
        return await self.redis.zrange(handoff_keys.handoff_active(), 0, -1, withscores=True)

    async def forget_active(self, cid: str) -> None:
        await self.redis.zrem(handoff_keys.handoff_active(), cid)

    async def mark_offered(self, cid: str, now: float, older_than: float) -> bool:
        """True when the client may be offered a callback now (atomic: one offer per period)."""
        return bool(
            await self.redis.eval(
                handoff_keys.HANDOFF_MARK_OFFERED, 1, handoff_keys.handoff(cid), f"{now:.3f}", f"{older_than:.3f}"
            )
        )

    async def back_to_bot(self, cid: str) -> None:
        """resolved → bot: the assistant has taken the conversation back."""
        await self.redis.hset(handoff_keys.handoff(cid), "status", Status.bot.value)

    # ----------------------------------------------------- stats and events
    async def _count(self, now: float, field: str, wait: float = 0.0) -> None:
        key = handoff_keys.handoff_stats(_day(now))
        pipe = self.redis.pipeline(transaction=False)
        pipe.hincrby(key, field, 1)
        if wait:
            pipe.hincrbyfloat(key, "wait_seconds", wait)
        pipe.expire(key, 400 * 24 * 3600)
        await pipe.execute()

    async def count(self, field: str, now: float | None = None) -> None:
        await self._count(time.time() if now is None else now, field)

    async def stats(self, now: float | None = None) -> dict[str, float]:
        raw = await self.redis.hgetall(handoff_keys.handoff_stats(_day(time.time() if now is None else now)))
        return {k: float(v) for k, v in raw.items()}

    async def publish(self, kind: str, cid: str, **extra) -> None:
        await self.redis.publish(handoff_keys.handoff_events(), json.dumps({"type": kind, "cid": cid, **extra}))
