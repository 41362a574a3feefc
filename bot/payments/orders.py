"""Payment orders (accruals with a УИН) in Redis.

The status machine is in `status.py` (pure); the store applies it atomically
(WATCH/MULTI), so concurrent webhooks, reconciliation and the conversation
never fight over an order.
"""

from __future__ import annotations

import secrets
import time
from datetime import datetime, tzinfo
from typing import Any

from pydantic import BaseModel, Field
from redis.asyncio import Redis

from bot.payments import keys as pay_keys
from bot.store.documents import update_document
from bot.store.durable import replicated

from . import uin as uin_codes
from .catalogue import Fee, Payee, format_rubles
from .receipts import OrderFacts
from .status import OPEN, PaymentMethod, PaymentStatus, transition


class Attempt(BaseModel):
    """One way of paying this order that was started."""

    method: PaymentMethod
    provider_payment_id: str | None = None
    confirmation_url: str | None = None
    started_at: float = Field(default_factory=time.time)


class Order(BaseModel):
    id: str
    uin: str
    fee_id: str
    fee_name: str
    amount_kopecks: int
    purpose: str
    payee: Payee
    client_id: str
    conversation_id: str
    channel: str
    status: PaymentStatus = PaymentStatus.created
    created_at: float = Field(default_factory=time.time)
    updated_at: float = Field(default_factory=time.time)
    expires_at: float
    attempts: list[Attempt] = Field(default_factory=list)
    paid_at: float | None = None
    paid_method: PaymentMethod | None = None
    payment_id: str | None = None  # the provider's id of the payment that paid it
    notified: bool = False  # the confirmation reached the client
    extra_payments: list[str] = Field(default_factory=list)  # paid twice: needs a refund by staff

    def attempt(self, method: PaymentMethod) -> Attempt | None:
        return next((a for a in reversed(self.attempts) if a.method is method), None)

    def paid_date(self, tz: tzinfo) -> str:
        """When it was paid (or last changed), in the organisation's time zone."""
        ts = self.paid_at or self.updated_at
        return datetime.fromtimestamp(ts, tz).strftime("%d.%m.%Y %H:%M")

    def facts(self, tz: tzinfo) -> OrderFacts:
        """What the client may be told about this order, formatted (bot/payments/receipts.py),
        its date in `tz`: the organisation's zone, the one every other date is shown in."""
        return OrderFacts(
            id=self.id,
            status=self.status,
            name=self.fee_name,
            amount=format_rubles(self.amount_kopecks),
            purpose=self.purpose,
            uin=self.uin,
            date=self.paid_date(tz),
            payment_id=self.payment_id or self.id,
        )


class OrderStore:
    def __init__(self, redis: Redis, uin_prefix: str = "00000000"):
        self.redis = redis
        self.uin_prefix = uin_prefix

    async def create(
        self, fee: Fee, *, client_id: str, conversation_id: str, channel: str, idempotency_key: str, ttl_seconds: float
    ) -> Order:
        """Create the order for this key once; repeating the call returns the same order."""
        existing = await self.redis.get(pay_keys.payment_create(idempotency_key))
        if existing and (order := await self.get(existing)):
            return order
        number = await self.redis.incr(pay_keys.payment_uin_sequence())
        now = time.time()
        order = Order(
            id=secrets.token_hex(12),
            uin=uin_codes.make(self.uin_prefix, number),
            fee_id=fee.id,
            fee_name=fee.name,
            amount_kopecks=fee.amount_kopecks,
            purpose=fee.purpose,
            payee=fee.payee,
            client_id=client_id,
            conversation_id=conversation_id,
            channel=channel,
            created_at=now,
            updated_at=now,
            expires_at=now + ttl_seconds,
        )
        owner = await self.redis.eval(
            pay_keys.CREATE_PAYMENT_ONCE,
            5,
            pay_keys.payment_create(idempotency_key),
            pay_keys.payment_order(order.id),
            pay_keys.payment_client(client_id),
            pay_keys.payments_pending(),
            pay_keys.payment_uin(order.uin),
            order.id,
            order.model_dump_json(),
            now,
            pay_keys.PAYMENT_CREATE_TTL_S,
        )
        await replicated(self.redis)  # an order the client pays for must outlive a failover
        if owner == order.id:
            return order
        existing = await self.get(owner)
        if existing is None:  # the first order vanished between the script and now (expired): ours stands
            return order
        return existing

    async def get(self, order_id: str | None) -> Order | None:
        if not order_id:
            return None
        raw = await self.redis.get(pay_keys.payment_order(order_id))
        return Order.model_validate_json(raw) if raw else None

    async def require(self, order_id: str) -> Order:
        """The order, which must exist (KeyError otherwise)."""
        order = await self.get(order_id)
        if order is None:
            raise KeyError(order_id)
        return order

    async def by_uin(self, uin: str) -> Order | None:
        return await self.get(await self.redis.get(pay_keys.payment_uin(uin)))

    async def by_provider(self, provider: str, payment_id: str) -> Order | None:
        return await self.get(await self.redis.get(pay_keys.payment_provider(provider, payment_id)))

    async def link_provider(self, provider: str, payment_id: str, order_id: str) -> None:
        await self.redis.set(pay_keys.payment_provider(provider, payment_id), order_id)

    async def for_client(self, client_id: str, limit: int = 5) -> list[Order]:
        ids = await self.redis.zrevrange(pay_keys.payment_client(client_id), 0, limit - 1)
        return [o for o in [await self.get(i) for i in ids] if o]

    async def open_ids(self, limit: int = 200) -> list[str]:
        """Orders not yet paid, failed or expired, oldest first."""
        return await self.redis.zrange(pay_keys.payments_pending(), 0, limit - 1)

    async def update(self, order_id: str, status: PaymentStatus | None = None, **changes: Any) -> tuple[Order, bool]:
        """Apply a status change and field changes atomically.

        Returns (order after, changed) where `changed` says whether *this*
        call moved the status — only that caller announces it, so replays
        and races never produce a second confirmation. An impossible change
        raises InvalidTransition and leaves the order untouched.
        """

        def change(order: Order) -> Order:
            after = transition(order.status, status) if status else order.status
            data = order.model_dump() | changes | {"status": after, "updated_at": time.time()}
            if after is PaymentStatus.paid and order.status is not PaymentStatus.paid:
                data["paid_at"] = data.get("paid_at") or time.time()
            return Order.model_validate(data)

        def settle(pipe, _before: Order, after: Order) -> None:
            if after.status not in OPEN:
                pipe.zrem(pay_keys.payments_pending(), order_id)

        before, after = await update_document(
            self.redis, pay_keys.payment_order(order_id), Order, change, missing=order_id, also=settle
        )
        return after, after.status is not before.status
