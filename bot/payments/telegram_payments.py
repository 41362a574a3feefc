"""Telegram Payments: invoice from an order, pre-checkout check, successful payment.

Telegram asks us to confirm a payment (`pre_checkout_query`) and expects the
answer within 10 seconds; we check the order in Redis only (fast) and cap it
with a deadline. `successful_payment` marks the order paid through the same
status machine as the other ways to pay; a replayed update changes nothing.

`connect` wires them into the Telegram channel (bot/channels/telegram.py)
when it runs: invoices go out through its Bot (`service.invoice_sender`) and
`router(service)` joins its extension routers, ahead of its catch-all.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from bot import metrics
from bot.core.numbers import is_digits

from . import texts
from .orders import Order
from .providers import Observed, Started
from .receipts import confirmation
from .status import PaymentMethod, PaymentStatus

if TYPE_CHECKING:
    from aiogram import Router
    from aiogram.types import Message

    from bot.channels.telegram import TelegramChannel

    from .service import PaymentService

AfterPaid = Callable[["Message", Order], Awaitable[None]]

log = logging.getLogger("payments.telegram")

PAYLOAD_PREFIX = "pay:"
PRE_CHECKOUT_DEADLINE_S = 8.0  # Telegram's limit is 10 s; leave room for the answer itself


def invoice(order: Order, provider_token: str) -> dict[str, Any]:
    """Arguments for Bot.send_invoice (besides chat_id)."""
    from aiogram.types import LabeledPrice

    return {
        "title": order.fee_name[:32],
        "description": f"{order.purpose}. УИН {order.uin}"[:255],
        "payload": f"{PAYLOAD_PREFIX}{order.id}",
        "provider_token": provider_token,
        "currency": "RUB",
        "prices": [LabeledPrice(label=order.fee_name[:32], amount=order.amount_kopecks)],
    }


def order_id_of(payload: str | None) -> str | None:
    if payload and payload.startswith(PAYLOAD_PREFIX):
        return payload[len(PAYLOAD_PREFIX) :]
    return None


class TelegramProvider:
    method = PaymentMethod.telegram

    def __init__(self, provider_token: str):
        self.provider_token = provider_token

    async def start(self, order: Order) -> Started:
        return Started(invoice=invoice(order, self.provider_token))

    async def check(self, order: Order) -> Observed:
        return Observed(status=None)  # Telegram tells us by `successful_payment`; nothing to poll


async def pre_checkout(
    service: PaymentService, payload: str, currency: str, total_amount: int
) -> tuple[bool, str | None]:
    """(ok, error message for the client) for a pre_checkout_query, within the deadline."""

    async def decide() -> tuple[bool, str | None]:
        order = await service.orders.get(order_id_of(payload))
        if order is None or order.status not in (PaymentStatus.created, PaymentStatus.pending):
            return False, texts.PRE_CHECKOUT_CLOSED
        if currency != "RUB" or total_amount != order.amount_kopecks:
            return False, texts.PRE_CHECKOUT_MISMATCH
        return True, None

    try:
        return await asyncio.wait_for(decide(), PRE_CHECKOUT_DEADLINE_S)
    except TimeoutError:
        log.warning("pre-checkout check took too long; declined")
        return False, texts.PRE_CHECKOUT_SLOW


async def successful_payment(
    service: PaymentService, payload: str, currency: str, total_amount: int, charge_id: str
) -> Order | None:
    """Record a Telegram `successful_payment`; returns the order (None if unknown)."""
    order = await service.orders.get(order_id_of(payload))
    if order is None:
        log.error("successful_payment for an unknown order")
        metrics.payment_webhook("telegram", "unknown")
        return None
    await service.orders.link_provider(PaymentMethod.telegram.value, charge_id, order.id)
    amount = total_amount if currency == "RUB" else -1
    # The client is in the chat right now: the channel shows the confirmation
    # in the turn, so no separate notification (announce=False).
    order, changed = await service.apply(
        order,
        Observed(status=PaymentStatus.paid, provider_payment_id=charge_id, amount_kopecks=amount),
        PaymentMethod.telegram,
        announce=False,
    )
    metrics.payment_webhook("telegram", "applied" if changed else "unchanged")
    return order


def router(service: PaymentService, after_paid: AfterPaid | None = None) -> Router:
    """An aiogram Router answering pre-checkout queries and recording successful payments.

    The Telegram channel includes it in its Dispatcher. `after_paid(message,
    order)` shows the confirmation (`connect` runs a core turn for it);
    without it the confirmation is sent as a plain message.
    """
    from aiogram import F, Router
    from aiogram.types import PreCheckoutQuery

    r = Router(name="payments")

    @r.pre_checkout_query()
    async def on_pre_checkout(query: PreCheckoutQuery) -> None:
        ok, error = await pre_checkout(service, query.invoice_payload, query.currency, query.total_amount)
        await query.answer(ok=ok, error_message=error)

    @r.message(F.successful_payment)
    async def on_successful_payment(message: Message) -> None:
        sp = message.successful_payment
        if sp is None:  # the filter lets only payments through
            return
        order = await successful_payment(
            service, sp.invoice_payload, sp.currency, sp.total_amount, sp.telegram_payment_charge_id
        )
        if order is None or order.status is not PaymentStatus.paid:
            return
        if after_paid is not None:
            await after_paid(message, order)
        else:
            await message.answer(confirmation(service.facts(order)).text)
            await service.told(order)

    return r


def connect(channel: TelegramChannel, service: PaymentService) -> None:
    """Telegram Payments inside the running Telegram channel: invoices through its Bot,
    the pre-checkout and payment updates through its extension routers."""

    async def send_invoice(order: Order, invoice: dict[str, Any]) -> bool:
        scheme, _, chat = order.conversation_id.partition(":")
        if scheme != "tg" or not is_digits(chat.removeprefix("-")):
            return False
        try:
            await channel.bot.send_invoice(chat_id=int(chat), **invoice)
        except Exception as exc:  # noqa: BLE001 - the client is offered another way to pay
            log.warning("could not send an invoice: %s", exc.__class__.__name__)
            return False
        return True

    async def after_paid(message: Message, _order: Order) -> None:
        # Through the core, so the confirmation is rendered like every reply and the flow ends.
        await channel.turn(message.chat.id, message.from_user, payload="do:payment_status")

    if PaymentMethod.telegram in service.providers:
        service.invoice_sender = send_invoice
    channel.extend(router(service, after_paid), "pre_checkout_query")
