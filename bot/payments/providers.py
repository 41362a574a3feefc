"""The one interface every way to pay implements.

A provider starts a payment for an order (what the client must do next: a
QR image, a card page link, an invoice) and can say what it knows about the
payment's status. It never changes the order itself: PaymentService applies
what providers report through the status machine.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from .orders import Order
from .status import PaymentMethod, PaymentStatus


class ProviderUnavailable(RuntimeError):
    """The provider cannot be reached now; the client should try again or pick another way."""


@dataclass(frozen=True)
class Started:
    provider_payment_id: str | None = None
    confirmation_url: str | None = None  # card: the gateway's payment page
    image_url: str | None = None  # QR: our route that serves the PNG
    invoice: dict | None = None  # Telegram: sendInvoice arguments


@dataclass(frozen=True)
class Observed:
    """What a provider knows about a payment right now."""

    status: PaymentStatus | None  # None: still open / unknown
    provider_payment_id: str | None = None
    amount_kopecks: int | None = None


class Provider(Protocol):
    method: PaymentMethod

    async def start(self, order: Order) -> Started: ...

    async def check(self, order: Order) -> Observed: ...
