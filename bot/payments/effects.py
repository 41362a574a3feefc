"""The payment flow's effects, performed: orders and payments through the
PaymentService. Each handler reports what happened as an outcome of
flow.py; it never writes replies or the conversation's flow state."""

from __future__ import annotations

from collections.abc import Mapping

from bot.flows.base import Effect, EffectContext, EffectHandler

from . import qr as qr_codes
from .catalogue import format_rubles
from .flow import (
    CardPageIssued,
    CheckPayment,
    CreateOrder,
    InvoiceNotDelivered,
    InvoiceSent,
    OrderChecked,
    OrderCreated,
    ProviderDown,
    QrIssued,
    StartPayment,
)
from .orders import Order
from .providers import ProviderUnavailable, Started
from .service import OrderClosed, PaymentService
from .status import PaymentMethod

StartOutcome = QrIssued | CardPageIssued | InvoiceSent | InvoiceNotDelivered | ProviderDown | OrderChecked


def handlers(svc: PaymentService) -> Mapping[type[Effect], EffectHandler]:
    async def create(effect: CreateOrder, ctx: EffectContext) -> OrderCreated:
        order = await svc.create_order(
            effect.fee,
            client_id=ctx.client_id,
            conversation_id=ctx.conversation_id,
            channel=ctx.channel,
            idempotency_key=effect.key,
        )
        return OrderCreated(order=order.id)

    async def start(effect: StartPayment, ctx: EffectContext) -> StartOutcome:
        try:
            order, started = await svc.start(effect.order, effect.method)
        except OrderClosed as closed:  # paid, failed or expired meanwhile
            return OrderChecked(svc.facts(closed.order))
        except ProviderUnavailable:
            return ProviderDown(effect.method)
        return await _issued(svc, order, effect.method, started)

    async def check(effect: CheckPayment, ctx: EffectContext) -> OrderChecked:
        order = await svc.latest(effect.order)
        await svc.told(order)  # the flow shows the confirmation in this turn
        return OrderChecked(svc.facts(order))

    return {CreateOrder: create, StartPayment: start, CheckPayment: check}


async def _issued(svc: PaymentService, order: Order, method: PaymentMethod, started: Started) -> StartOutcome:
    """What the client needs to pay this way: requisites and a QR code, a card page, an invoice."""
    amount = format_rubles(order.amount_kopecks)
    if method is PaymentMethod.qr:
        details = qr_codes.details_of(order)
        try:
            qr_codes.payload(details, svc.qr_encoding)  # the image route builds it again; here: does it fit?
            image_url = started.image_url
        except qr_codes.QrPayloadError:
            image_url = None
        return QrIssued(uin=order.uin, requisites=qr_codes.requisites_text(details), image_url=image_url)
    if method is PaymentMethod.card:
        if not started.confirmation_url:  # a gateway answer without a page: as if it were down
            return ProviderDown(method)
        return CardPageIssued(amount=amount, url=started.confirmation_url)
    sent = (
        svc.invoice_sender is not None
        and started.invoice is not None
        and await svc.invoice_sender(order, started.invoice)
    )
    return InvoiceSent(amount=amount) if sent else InvoiceNotDelivered()
