"""Telegram Payments: invoice from an order, pre-checkout check, successful payment.

Telegram asks us to confirm a payment (`pre_checkout_query`) and expects the
answer within 10 seconds; we check the order in Redis only (fast) and cap it
with a deadline. `successful_payment` marks the order paid through the same
status machine as the other ways to pay; a replayed update changes nothing.

The Telegram channel (bot/channels/telegram.py) wires these in: it sets
`service.invoice_sender` to send invoices with its Bot, and includes
`router(service)` in its Dispatcher (see module.install).
"""

from __future__ import annotations

import asyncio
import logging

from .orders import Order, PaymentMethod, PaymentStatus
from .providers import Observed, Started
from . import texts

log = logging.getLogger("payments.telegram")

PAYLOAD_PREFIX = "pay:"
PRE_CHECKOUT_DEADLINE_S = 8.0  # Telegram's limit is 10 s; leave room for the answer itself


def invoice(order: Order, provider_token: str) -> dict:
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
        return payload[len(PAYLOAD_PREFIX):]
    return None


class TelegramProvider:
    method = PaymentMethod.telegram

    def __init__(self, provider_token: str):
        self.provider_token = provider_token

    async def start(self, order: Order) -> Started:
        return Started(invoice=invoice(order, self.provider_token))

    async def check(self, order: Order) -> Observed:
        return Observed(status=None)  # Telegram tells us by `successful_payment`; nothing to poll


async def pre_checkout(service, payload: str, currency: str, total_amount: int) -> tuple[bool, str | None]:
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
    except asyncio.TimeoutError:
        log.warning("pre-checkout check took too long; declined")
        return False, texts.PRE_CHECKOUT_SLOW


async def successful_payment(service, payload: str, currency: str, total_amount: int,
                             charge_id: str) -> Order | None:
    """Record a Telegram `successful_payment`; returns the order (None if unknown)."""
    order = await service.orders.get(order_id_of(payload))
    if order is None:
        log.error("successful_payment for an unknown order")
        return None
    await service.orders.link_provider(PaymentMethod.telegram.value, charge_id, order.id)
    amount = total_amount if currency == "RUB" else -1
    # The client is in the chat right now: the channel shows the confirmation
    # in the turn, so no separate notification (announce=False).
    order, _ = await service.apply(order, Observed(status=PaymentStatus.paid, provider_payment_id=charge_id,
                                                   amount_kopecks=amount), PaymentMethod.telegram,
                                   announce=False)
    return order


def router(service, after_paid=None):
    """An aiogram Router answering pre-checkout queries and recording successful payments.

    The Telegram channel includes it in its Dispatcher. `after_paid(message,
    order)` shows the confirmation (the module runs a core turn for it);
    without it the confirmation is sent as a plain message.
    """
    from aiogram import F, Router
    from aiogram.types import Message, PreCheckoutQuery

    from .service import confirmation

    r = Router(name="payments")

    @r.pre_checkout_query()
    async def on_pre_checkout(query: PreCheckoutQuery) -> None:
        ok, error = await pre_checkout(service, query.invoice_payload, query.currency, query.total_amount)
        await query.answer(ok=ok, error_message=error)

    @r.message(F.successful_payment)
    async def on_successful_payment(message: Message) -> None:
        sp = message.successful_payment
        order = await successful_payment(service, sp.invoice_payload, sp.currency, sp.total_amount,
                                         sp.telegram_payment_charge_id)
        if order is None or order.status is not PaymentStatus.paid:
            return
        if after_paid is not None:
            await after_paid(message, order)
        else:
            await message.answer(confirmation(order).text)
            await service.orders.update(order.id, notified=True)

    return r
