"""What the client is told about their orders: one order's status or its
confirmation, and a short list of recent orders. Pure: the facts come
formatted (`Order.facts()`), so flows, intent handlers and notifications
word them the same way."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.core.messages import Reply, ReplyKind

from . import texts
from .status import PaymentStatus


@dataclass(frozen=True)
class OrderFacts:
    id: str
    status: PaymentStatus
    name: str  # the fee's name
    amount: str  # formatted, «1 200 ₽»
    purpose: str
    uin: str
    date: str  # when it was paid (or last changed), formatted in the organisation's time zone
    payment_id: str  # the provider's id of the payment (the order's id until paid)


def confirmation(order: OrderFacts) -> Reply:
    return Reply(
        kind=ReplyKind.info,
        text=texts.CONFIRMED.format(
            name=order.name,
            amount=order.amount,
            purpose=order.purpose,
            uin=order.uin,
            date=order.date,
            payment_id=order.payment_id,
        ),
    )


def status_reply(order: OrderFacts) -> Reply:
    """What to tell the client about one order, by its status."""
    if order.status is PaymentStatus.paid:
        return confirmation(order)
    text = {
        PaymentStatus.failed: texts.FAILED,
        PaymentStatus.expired: texts.EXPIRED,
        PaymentStatus.refunded: texts.REFUNDED,
    }.get(order.status, texts.NOT_YET)
    return Reply(kind=ReplyKind.info, text=text.format(uin=order.uin, amount=order.amount))


def status_list(orders: Sequence[OrderFacts]) -> Reply:
    """Several recent orders, one line each (newest first)."""
    lines = "\n".join(
        texts.STATUS_LINE.format(name=o.name, amount=o.amount, uin=o.uin, status=texts.STATUS_TITLES[o.status.value])
        for o in orders
    )
    return Reply(kind=ReplyKind.info, text=texts.STATUS_LIST.format(lines=lines))
