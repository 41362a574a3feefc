"""Proactive and service notifications: a durable queue with one delivery
per (campaign, client), consent re-checked at send time.

- `notify(runtime, client_id, category, text, basis=…)` — for other modules
  (payments: «оплата прошла», applications: «статус изменился»).
- `enqueue(...)` — the same on a bare Redis client (campaign launcher, CLI).
- `Sender` — the worker: reads the queue stream with a consumer group,
  decides per message (policy.decide) and delivers through
  `runtime.outbound` to the client's last conversation in a channel.

Durability: a notification is a hash created once (its id is the
idempotency key) together with its queue entry (Lua). A worker claims it
(status queued → sending, Lua) before sending, so a redelivered entry or a
second worker never sends it twice; a crash during a send leaves it
`sending` — it is not re-sent (never duplicated) and shows in the delivery
log. Transient errors are retried with backoff through a scheduled set;
quiet hours and digests use the same set.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Callable
from datetime import datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from bot.consent import keys as consent_keys
from bot.core.messages import Button, Reply, ReplyKind
from bot.store import keys

from . import texts
from .flows import category_off_button, settings_button, unsubscribe_button
from .ledger import Ledger
from .model import Category, ConsentState, Frequency, Grant, Kind
from .policy import Decision, decide

log = logging.getLogger("consent.notifications")

Clock = Callable[[], float]
CLAIMABLE = ("queued", "deferred", "retry")


async def enqueue(
    redis: Redis,
    client_id: str,
    category: Category | str,
    text: str,
    *,
    basis: str = "",
    scope: str | None = None,
    campaign: str = "",
    key: str | None = None,
    clock: Clock = time.time,
) -> str | None:
    """Queue one notification; returns its id, or None if this key was queued before.

    `scope` names the consent it relies on (`situation:<id>`, `service:<id>`);
    content and trigger messages need one. `basis` says in words why a
    transactional message is sent («вы оплатили госпошлину 12.03.2025»).
    """
    category = Category(category)
    if category is not Category.transactional and not scope:
        raise ValueError("content and trigger notifications need the consent scope they rely on")
    if not text.strip():
        raise ValueError("a notification needs a text")
    nid = key or f"n:{secrets.token_hex(8)}"
    fields = {
        "client_id": client_id,
        "category": category.value,
        "text": text,
        "basis": basis,
        "scope": scope or "",
        "campaign": campaign,
        "created": f"{clock():.3f}",
        "status": "queued",
        "attempts": "0",
    }
    args: list[Any] = [nid, consent_keys.NOTIFICATION_TTL_S]
    for name, value in fields.items():
        args += [name, value]
    created = await redis.eval(
        consent_keys.ENQUEUE_NOTIFICATION, 2, consent_keys.notification(nid), consent_keys.notify_queue(), *args
    )
    return nid if created else None


async def notify(
    runtime,
    client_id: str,
    category: Category | str,
    text: str,
    *,
    basis: str = "",
    scope: str | None = None,
    key: str | None = None,
) -> str | None:
    """For other modules: queue a notification to a client (delivered by the sender).

    Pass `key` (e.g. `payment:<order id>:paid`) to make repeated calls safe.
    """
    return await enqueue(runtime.redis, client_id, category, text, basis=basis, scope=scope, key=key)


async def remember_address(redis: Redis, client_id: str, channel: str, conversation_id: str) -> None:
    """The client's last conversation in a channel: where proactive messages go."""
    await redis.hset(consent_keys.client_addresses(client_id), channel, conversation_id)


def basis_line(grant: Grant | None, basis: str, tz: tzinfo) -> str:
    if grant is not None:
        return texts.BASIS_CONSENT.format(
            date=texts.date(grant.granted_at, tz), title=grant.title or texts.short_title(grant.kind, grant.scope)
        )
    return texts.BASIS_TRANSACTIONAL.format(basis=basis or "по вашему обращению")


def unsubscribe_for(grant: Grant | None, category: Category) -> Button:
    if category is Category.transactional or grant is None or grant.kind is Kind.personal_data:
        # A personal-data consent is what keeps a booking, not a subscription: withdrawing it deletes
        # the booking (bot/privacy). «Отписаться» under a reminder turns such reminders off instead.
        return category_off_button(category)
    return unsubscribe_button(grant.kind, grant.scope)


def compose(item: dict[str, str], grant: Grant | None, tz: tzinfo) -> Reply:
    """One notification as the client sees it: the message, its basis, «Отписаться»."""
    category = Category(item["category"])
    text = f"{item['text']}\n\n{basis_line(grant, item.get('basis', ''), tz)} {texts.UNSUBSCRIBE_HINT}"
    return Reply(kind=ReplyKind.info, text=text, buttons=[unsubscribe_for(grant, category), settings_button()])


def compose_digest(items: list[tuple[dict[str, str], Grant | None]], frequency: Frequency, tz: tzinfo) -> Reply:
    head = texts.DIGEST_HEAD.get(frequency, texts.DIGEST_HEAD[Frequency.daily])
    parts, buttons = [head], dict[str, tuple[Button, Grant | None, Category]]()
    for n, (item, grant) in enumerate(items, 1):
        parts.append(f"{n}. {item['text']}\n{basis_line(grant, item.get('basis', ''), tz)}")
        b = unsubscribe_for(grant, Category(item["category"]))
        buttons.setdefault(b.payload, (b, grant, Category(item["category"])))
    parts.append(texts.UNSUBSCRIBE_HINT)
    out = []
    for b, grant, category in buttons.values():
        if len(buttons) > 1:
            what = (
                texts.short_title(grant.kind, grant.scope)
                if grant and category is not Category.transactional
                else texts.CATEGORY_TITLES[category]
            )
            b = Button(title=f"{texts.UNSUBSCRIBE}: {what}"[:60], payload=b.payload)
        out.append(b)
    out.append(settings_button())
    return Reply(kind=ReplyKind.info, text="\n\n".join(parts), buttons=out)


class Sender:
    def __init__(
        self,
        redis: Redis,
        outbound,
        *,
        conversations=None,
        tz: tzinfo | str = "Asia/Kamchatka",
        default_quiet: str = "21:00-09:00",
        digest_hour: int = 10,
        max_attempts: int = 5,
        retry_seconds: float = 30.0,
        clock: Clock = time.time,
        consumer: str | None = None,
    ):
        self.redis = redis
        self.outbound = outbound
        self.conversations = conversations
        self.tz = ZoneInfo(tz) if isinstance(tz, str) else tz
        self.default_quiet = default_quiet
        self.digest_hour = digest_hour
        self.max_attempts = max_attempts
        self.retry_seconds = retry_seconds
        self.clock = clock
        self.consumer = consumer or f"sender-{secrets.token_hex(4)}"
        self.ledger = Ledger(redis)
        self._group_ready = False

    @classmethod
    def for_runtime(cls, runtime, **overrides) -> Sender:
        s = runtime.settings
        options = {
            "conversations": runtime.engine.conversations,
            "tz": s.notify_timezone,
            "default_quiet": s.notify_quiet_hours,
            "digest_hour": s.notify_digest_hour,
            "max_attempts": s.notify_max_attempts,
            "retry_seconds": s.notify_retry_seconds,
        }
        return cls(runtime.redis, runtime.outbound, **{**options, **overrides})

    # ---------------------------------------------------------------- loop
    async def run(self, idle_block_ms: int = 1000) -> None:
        """Serve forever (module background task)."""
        while True:
            try:
                await self.drain(block_ms=idle_block_ms)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("notification sender failed; retrying shortly")
                await asyncio.sleep(1.0)

    async def ensure_group(self) -> None:
        if self._group_ready:
            return
        try:
            await self.redis.xgroup_create(
                consent_keys.notify_queue(), consent_keys.NOTIFY_GROUP, id="0", mkstream=True
            )
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._group_ready = True

    async def drain(self, block_ms: int | None = None) -> int:
        """Deliver everything that is due now; returns how many queue entries were handled."""
        await self.ensure_group()
        queue = consent_keys.notify_queue()
        await self.redis.xautoclaim(queue, consent_keys.NOTIFY_GROUP, self.consumer, min_idle_time=60_000, count=100)
        handled = 0
        while True:
            now = f"{self.clock():.3f}"
            await self.redis.eval(consent_keys.RELEASE_DUE, 2, consent_keys.notify_scheduled(), queue, now, 100, "nid")
            await self.redis.eval(
                consent_keys.RELEASE_DUE, 2, consent_keys.notify_digest_due(), queue, now, 100, "digest"
            )
            batch = await self.redis.xreadgroup(consent_keys.NOTIFY_GROUP, self.consumer, {queue: "0"}, count=50)
            entries = batch[0][1] if batch else []
            if not entries:
                block = block_ms if block_ms and not handled else None
                batch = await self.redis.xreadgroup(
                    consent_keys.NOTIFY_GROUP, self.consumer, {queue: ">"}, count=50, block=block
                )
                entries = batch[0][1] if batch else []
            if not entries:
                return handled
            for entry_id, fields in entries:
                try:
                    if "digest" in fields:
                        await self._digest(fields["digest"])
                    elif "nid" in fields:
                        await self._one(fields["nid"])
                except Exception:
                    log.exception("notification entry %s failed; retrying it later", entry_id)
                    await self._retry_later(fields)
                await self.redis.xack(queue, consent_keys.NOTIFY_GROUP, entry_id)
                await self.redis.xdel(queue, entry_id)
                handled += 1

    # ------------------------------------------------------------ one item
    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), self.tz)

    async def _claim(self, nid: str, new: str, *allowed: str) -> bool:
        return (
            await self.redis.eval(consent_keys.CLAIM_NOTIFICATION, 1, consent_keys.notification(nid), new, *allowed)
            == 1
        )

    def _decide(self, state: ConsentState, item: dict[str, str], in_digest: bool = False) -> Decision:
        return decide(
            state,
            Category(item["category"]),
            item.get("scope") or None,
            self._now(),
            default_quiet=self.default_quiet,
            digest_hour=self.digest_hour,
            in_digest=in_digest,
        )

    async def _one(self, nid: str) -> None:
        item = await self.redis.hgetall(consent_keys.notification(nid))
        if not item or item.get("status") not in CLAIMABLE:
            return  # sent, skipped, waiting for a digest, or expired
        state = await self.ledger.state(item["client_id"])  # the authoritative replay, at send time
        decision = self._decide(state, item)
        if decision.action == "skip":
            if await self._claim(nid, "skipped", *CLAIMABLE):
                await self._finish(nid, item, "skipped", reason=decision.reason)
        elif decision.action == "defer":
            assert decision.due is not None  # a deferral always says until when
            if await self._claim(nid, "deferred", *CLAIMABLE):
                await self.redis.zadd(consent_keys.notify_scheduled(), {nid: decision.due.timestamp()})
        elif decision.action == "digest":
            assert decision.due is not None  # a digest always has its time
            if await self._claim(nid, "digest", *CLAIMABLE):
                await self.redis.sadd(consent_keys.notify_digest(item["client_id"]), nid)
                await self.redis.zadd(
                    consent_keys.notify_digest_due(), {item["client_id"]: decision.due.timestamp()}, lt=True
                )
        elif await self._claim(nid, "sending", *CLAIMABLE):
            reply = compose(item, decision.grant, self.tz)
            channel = await self._deliver(item["client_id"], reply, [nid])
            if channel:
                await self._finish(nid, item, "sent", channel=channel, grant=decision.grant)
            else:
                await self._failed(nid, item)

    async def _retry_later(self, fields: dict[str, str]) -> None:
        """After an unexpected error: try again later — unless it may have been sent already."""
        due = self.clock() + self.retry_seconds
        if "digest" in fields:
            await self.redis.zadd(consent_keys.notify_digest_due(), {fields["digest"]: due})
            return
        nid = fields.get("nid", "")
        if await self._claim(nid, "retry", *CLAIMABLE):
            attempts = await self.redis.hincrby(consent_keys.notification(nid), "attempts", 1)
            if attempts >= self.max_attempts:
                await self.redis.hset(consent_keys.notification(nid), "status", "failed")
            else:
                await self.redis.zadd(consent_keys.notify_scheduled(), {nid: due})

    async def _failed(self, nid: str, item: dict[str, str]) -> None:
        attempts = await self.redis.hincrby(consent_keys.notification(nid), "attempts", 1)
        if attempts >= self.max_attempts:
            await self.redis.hset(consent_keys.notification(nid), "status", "failed")
            await self._finish(nid, item, "failed", reason="not delivered after retries")
            return
        await self.redis.hset(consent_keys.notification(nid), "status", "retry")
        due = self.clock() + self.retry_seconds * 2 ** (attempts - 1)
        await self.redis.zadd(consent_keys.notify_scheduled(), {nid: due})

    async def _finish(
        self,
        nid: str,
        item: dict[str, str],
        status: str,
        *,
        reason: str = "",
        channel: str = "",
        grant: Grant | None = None,
    ) -> None:
        now = self.clock()
        await self.redis.hset(
            consent_keys.notification(nid),
            mapping={"status": status, "reason": reason, "channel": channel, "done_at": f"{now:.3f}"},
        )
        await self.redis.xadd(
            consent_keys.notify_deliveries(),
            {
                "ts": f"{now:.3f}",
                "nid": nid,
                "campaign": item.get("campaign", ""),
                "client_id": item["client_id"],
                "category": item["category"],
                "status": status,
                "reason": reason,
                "channel": channel,
                "basis": grant.key if grant else item["category"],
                "basis_granted_at": f"{grant.granted_at:.3f}" if grant else "",
            },
            maxlen=consent_keys.DELIVERIES_MAXLEN,
            approximate=True,
        )
        log.info("notification %s: %s %s", status, item.get("campaign") or item["category"], reason)

    # -------------------------------------------------------------- digest
    async def _digest(self, client_id: str) -> None:
        nids = await self.redis.eval(consent_keys.TAKE_DIGEST, 1, consent_keys.notify_digest(client_id))
        if not nids:
            return
        state = await self.ledger.state(client_id)
        ready: list[tuple[str, dict[str, str], Grant | None]] = []
        for nid in sorted(nids):
            item = await self.redis.hgetall(consent_keys.notification(nid))
            if not item or item.get("status") != "digest":
                continue
            decision = self._decide(state, item, in_digest=True)
            if decision.action == "skip":
                if await self._claim(nid, "skipped", "digest"):
                    await self._finish(nid, item, "skipped", reason=decision.reason)
            elif await self._claim(nid, "sending", "digest"):
                ready.append((nid, item, decision.grant))
        if not ready:
            return
        ready.sort(key=lambda r: float(r[1].get("created", 0)))
        frequency = max(
            (state.frequency_of(Category(i["category"])) for _, i, _ in ready), key=lambda f: f is Frequency.weekly
        )
        reply = compose_digest([(i, g) for _, i, g in ready], frequency, self.tz)
        channel = await self._deliver(client_id, reply, [n for n, _, _ in ready])
        for nid, item, grant in ready:
            if channel:
                await self._finish(nid, item, "sent", channel=channel, grant=grant, reason="digest")
                continue
            attempts = await self.redis.hincrby(consent_keys.notification(nid), "attempts", 1)
            if attempts >= self.max_attempts:
                await self._finish(nid, item, "failed", reason="not delivered after retries")
            else:
                await self.redis.hset(consent_keys.notification(nid), "status", "digest")
                await self.redis.sadd(consent_keys.notify_digest(client_id), nid)
        if not channel:
            await self.redis.zadd(consent_keys.notify_digest_due(), {client_id: self.clock() + self.retry_seconds})

    # ------------------------------------------------------------ delivery
    async def _deliver(self, client_id: str, reply: Reply, nids: list[str]) -> str:
        """Send to the client's last channel first, then any other; returns the channel or ''."""
        addresses = await self.redis.hgetall(consent_keys.client_addresses(client_id))
        last = await self.redis.hget(keys.client(client_id), "last_channel")
        order = sorted(addresses, key=lambda ch: ch != last)
        for channel in order:
            cid = addresses[channel]
            try:
                delivered = await self.outbound.send(channel, cid, client_id, [reply])
            except Exception as exc:  # noqa: BLE001 - a channel error is transient: retry later
                log.warning("notification send via %s failed: %s", channel, exc.__class__.__name__)
                delivered = False
            if delivered:
                if self.conversations is not None:
                    try:  # the conversation history (operators, R-15) — the send itself already happened
                        await self.conversations.append_history(
                            cid,
                            {
                                "ts": self.clock(),
                                "from": "bot",
                                "kind": reply.kind.value,
                                "text": reply.text,
                                "notification": ",".join(nids),
                            },
                        )
                    except Exception as exc:  # noqa: BLE001
                        log.warning("notification sent but not added to the history: %s", exc.__class__.__name__)
                return channel
        return ""


async def backlog(redis: Redis, now: float | None = None) -> int:
    """Notifications due now and not yet delivered: entries in the queue stream (handled
    ones are deleted) plus scheduled items and digests whose time has come (released into
    the queue on the sender's next pass). Items waiting for quiet hours to end are not due."""
    now = time.time() if now is None else now
    pipe = redis.pipeline(transaction=False)
    pipe.xlen(consent_keys.notify_queue())
    pipe.zcount(consent_keys.notify_scheduled(), "-inf", now)
    pipe.zcount(consent_keys.notify_digest_due(), "-inf", now)
    return sum(int(n) for n in await pipe.execute())


async def notification(redis: Redis, nid: str) -> dict[str, str]:
    return await redis.hgetall(consent_keys.notification(nid))


async def deliveries(redis: Redis, count: int = 100_000) -> list[dict[str, str]]:
    return [fields for _id, fields in await redis.xrange(consent_keys.notify_deliveries(), count=count)]
