"""Creating orders, starting payments and recording what providers report.

Every status change goes through OrderStore.update (the status machine,
atomic); only the call that actually changed the status announces it, so a
replayed webhook, a reconciliation pass and the client's «проверить» never
send two confirmations — and a payment confirmed while the client is away
still reaches them as a transactional notification.
"""

from __future__ import annotations

import importlib
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, tzinfo
from typing import TYPE_CHECKING, Any

from bot.core.messages import Reply

from .catalogue import Catalogue
from .orders import Attempt, Order, OrderStore
from .providers import Observed, Provider, ProviderUnavailable, Started
from .receipts import OrderFacts, status_reply
from .status import InvalidTransition, PaymentMethod, PaymentStatus

if TYPE_CHECKING:
    from .yookassa import YooKassaClient

log = logging.getLogger("payments.service")

# The Telegram channel sets this to deliver an invoice: (order, sendInvoice kwargs) -> sent?
InvoiceSender = Callable[[Order, dict[str, Any]], Awaitable[bool]]
# Delivers replies to a client outside a turn: (order, replies) -> delivered?
Notifier = Callable[[Order, list[Reply]], Awaitable[bool]]
# Runs once the client was told, outside a turn, that an order is paid (e.g. a rating is asked).
AfterPaid = Callable[[Order], Awaitable[None]]


class OrderClosed(RuntimeError):
    def __init__(self, order: Order):
        super().__init__(order.status.value)
        self.order = order


class PaymentService:
    def __init__(
        self,
        orders: OrderStore,
        catalogue: Catalogue,
        *,
        order_ttl_seconds: float,
        notifier: Notifier | None = None,
        qr_encoding: str = "windows-1251",
        zone: tzinfo = UTC,
    ) -> None:
        self.orders = orders
        self.catalogue = catalogue
        self.order_ttl_seconds = order_ttl_seconds
        self.qr_encoding = qr_encoding
        self.zone = zone  # the organisation's time zone: every date the client is shown
        self.gateway: YooKassaClient | None = None  # YooKassaClient when card payments are configured (webhook checks)
        self.providers: dict[PaymentMethod, Provider] = {}
        self.notifier = notifier
        self.invoice_sender: InvoiceSender | None = None
        self.after_paid: AfterPaid | None = None

    def register(self, provider: Provider) -> None:
        self.providers[provider.method] = provider

    def methods(self, channel: str) -> list[PaymentMethod]:
        """Ways to pay offered in this channel, preferred first."""
        out: list[PaymentMethod] = [m for m in (PaymentMethod.qr, PaymentMethod.card) if m in self.providers]
        if channel == "telegram" and PaymentMethod.telegram in self.providers and self.invoice_sender:
            out.insert(0, PaymentMethod.telegram)
        return out

    def facts(self, order: Order) -> OrderFacts:
        """The order as the client may be told about it, dated in the organisation's zone."""
        return order.facts(self.zone)

    # ------------------------------------------------------------- creating
    async def create_order(
        self, fee_id: str, *, client_id: str, conversation_id: str, channel: str, idempotency_key: str
    ) -> Order:
        fee = self.catalogue.get(fee_id)
        if fee is None:
            raise KeyError(fee_id)
        return await self.orders.create(
            fee,
            client_id=client_id,
            conversation_id=conversation_id,
            channel=channel,
            idempotency_key=idempotency_key,
            ttl_seconds=self.order_ttl_seconds,
        )

    async def start(self, order_id: str, method: PaymentMethod) -> tuple[Order, Started]:
        """Start (or re-show) a way of paying; raises OrderClosed if the order is not open."""
        order = await self.orders.require(order_id)
        if order.status not in (PaymentStatus.created, PaymentStatus.pending):
            raise OrderClosed(order)
        started = await self.providers[method].start(order)
        known = order.attempt(method)
        attempts = list(order.attempts)
        if not known or known.provider_payment_id != started.provider_payment_id:
            attempts.append(
                Attempt(
                    method=method,
                    provider_payment_id=started.provider_payment_id,
                    confirmation_url=started.confirmation_url,
                )
            )
            if started.provider_payment_id:
                await self.orders.link_provider(method.value, started.provider_payment_id, order.id)
        try:
            order, _ = await self.orders.update(order.id, PaymentStatus.pending, attempts=attempts)
        except InvalidTransition:  # paid or closed meanwhile (a webhook won the race)
            raise OrderClosed(await self.orders.require(order.id)) from None
        return order, started

    # ------------------------------------------------------------ observing
    async def apply(
        self, order: Order, observed: Observed, method: PaymentMethod | None, *, announce: bool
    ) -> tuple[Order, bool]:
        """Record what a provider reports. Returns (order, changed by this call)."""
        status = observed.status
        if status is None:
            return order, False
        if (
            observed.amount_kopecks is not None
            and observed.amount_kopecks != order.amount_kopecks
            and status is PaymentStatus.paid
        ):
            log.error("order %s: paid amount differs from the accrual; left for staff", order.id)
            return order, False
        if (
            status is PaymentStatus.paid
            and order.status in (PaymentStatus.paid, PaymentStatus.refunded)
            and observed.provider_payment_id
            and order.payment_id
            and observed.provider_payment_id != order.payment_id
            and observed.provider_payment_id not in order.extra_payments
        ):
            # The same accrual paid twice (e.g. QR and card): never lose it, flag it for a refund.
            log.warning("order %s paid twice; second payment recorded for a refund", order.id)
            order, _ = await self.orders.update(
                order.id, extra_payments=[*order.extra_payments, observed.provider_payment_id]
            )
            return order, False
        changes = {}
        if status is PaymentStatus.paid and order.status is not PaymentStatus.paid:
            changes = {"paid_method": method, "payment_id": observed.provider_payment_id or order.id}
        try:
            order, changed = await self.orders.update(order.id, status, **changes)
        except InvalidTransition as exc:
            log.info("order %s: ignored stale status (%s)", order.id, exc)
            return await self.orders.require(order.id), False
        if changed and announce and order.status in (PaymentStatus.paid, PaymentStatus.failed, PaymentStatus.refunded):
            await self.announce(order)
        return order, changed

    async def refresh(self, order_id: str, *, announce: bool) -> tuple[Order, bool]:
        """Ask every provider that has a payment for this order; apply what they know."""
        order = await self.orders.require(order_id)
        changed_any = False
        for method in dict.fromkeys(a.method for a in order.attempts):
            provider = self.providers.get(method)
            if provider is None:
                continue
            observed = await provider.check(order)
            order, changed = await self.apply(order, observed, method, announce=announce)
            changed_any |= changed
        return order, changed_any

    async def expire_if_due(self, order: Order, now: float | None = None) -> tuple[Order, bool]:
        if order.status in (PaymentStatus.created, PaymentStatus.pending) and (now or time.time()) >= order.expires_at:
            try:
                return await self.orders.update(order.id, PaymentStatus.expired)
            except InvalidTransition:
                return await self.orders.require(order.id), False
        return order, False

    async def latest(self, order_id: str) -> Order:
        """The order after asking its providers (a quiet failure keeps what we know) and
        expiring it when due; a change found here is not announced: the caller tells the client."""
        try:
            order, _ = await self.refresh(order_id, announce=False)
        except ProviderUnavailable:
            order = await self.orders.require(order_id)
        order, _ = await self.expire_if_due(order)
        return order

    async def told(self, order: Order) -> None:
        """The client has just been shown this order's confirmation in a conversation."""
        if order.status is PaymentStatus.paid and not order.notified:
            await self.orders.update(order.id, notified=True)

    # ------------------------------------------------------------ announcing
    async def announce(self, order: Order) -> bool:
        """Send the outcome to the client outside a conversation turn (transactional)."""
        if self.notifier is None:
            return False
        delivered = False
        try:
            delivered = await self.notifier(order, [status_reply(self.facts(order))])
        except Exception:
            log.exception("order %s: notification failed", order.id)
        if delivered and order.status is PaymentStatus.paid:
            order, _ = await self.orders.update(order.id, notified=True)
            if self.after_paid is not None:
                try:
                    await self.after_paid(order)
                except Exception:  # the payment is recorded and told: a rating never undoes that
                    log.exception("order %s: the step after the payment failed", order.id)
        return delivered


def consent_notify() -> Callable[..., Awaitable[Any]] | None:
    """`bot.consent.notifications.notify` when the consent module provides it."""
    try:
        module = importlib.import_module("bot.consent.notifications")
    except ImportError:
        return None
    return getattr(module, "notify", None)
