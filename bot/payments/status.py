"""The status machine of a payment order, and the ways to pay (pure).

    created → pending → paid | failed | expired ;  paid → refunded

`transition()` is the one place that decides which status changes are
allowed; `orders.OrderStore` applies it atomically.
"""

from __future__ import annotations

from enum import Enum


class PaymentStatus(str, Enum):
    created = "created"  # accrual issued, no way to pay chosen yet
    pending = "pending"  # a payment was started (QR shown, card link, invoice)
    paid = "paid"
    failed = "failed"  # the gateway declined / the client cancelled at the gateway
    expired = "expired"  # nobody paid in time
    refunded = "refunded"


class PaymentMethod(str, Enum):
    qr = "qr"
    card = "card"
    telegram = "telegram"


S = PaymentStatus
# Allowed changes. A payment confirmed after we gave up waiting (expired) is
# still recorded as paid: money must never be lost.
TRANSITIONS: dict[PaymentStatus, frozenset[PaymentStatus]] = {
    S.created: frozenset({S.pending, S.paid, S.expired}),
    S.pending: frozenset({S.paid, S.failed, S.expired}),
    S.failed: frozenset(),
    S.expired: frozenset({S.paid}),
    S.paid: frozenset({S.refunded}),
    S.refunded: frozenset(),
}
OPEN = frozenset({S.created, S.pending})


class InvalidTransition(ValueError):
    pass


def transition(current: PaymentStatus, new: PaymentStatus) -> PaymentStatus:
    """The status after trying to move `current` to `new`.

    Staying put is always fine (a replayed event); anything not in the table
    raises InvalidTransition, e.g. a stale «pending» arriving after «paid».
    """
    current, new = PaymentStatus(current), PaymentStatus(new)
    if new is current or new in TRANSITIONS[current]:
        return new
    raise InvalidTransition(f"{current.value} → {new.value}")
