"""Automatic status of QR / bank-transfer payments from the state payment system
(ГИС ГМП): the one interface a connection implements, and a local stand-in.

Money paid by the QR code or the requisites goes to the Treasury under the
order's УИН; only ГИС ГМП learns about it. A connection (through СМЭВ, with the
organisation's certificate, or a bank's service that relays ГИС ГМП) implements
`PaymentInfoSource.paid(uin)`; `QrProvider.check` asks it, so the reconciliation
job confirms such payments and the client is told. Without a connection staff
mark them received (bot/payments/staff.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from .providers import Observed
from .status import PaymentStatus


@dataclass(frozen=True)
class PaymentInfo:
    """One payment ГИС ГМП knows for a УИН (сведения о платеже)."""

    uin: str
    amount_kopecks: int
    payment_id: str  # the payment's unique number in ГИС ГМП (УПНО)


class PaymentInfoSource(Protocol):
    async def paid(self, uin: str) -> PaymentInfo | None:
        """The payment received for this УИН, or None when nothing has arrived (yet).
        Raises ProviderUnavailable when the system cannot be asked now."""
        ...


def observed(info: PaymentInfo | None) -> Observed:
    """What the QR provider reports for the order from ГИС ГМП's answer."""
    if info is None:
        return Observed(status=None)
    return Observed(status=PaymentStatus.paid, provider_payment_id=info.payment_id, amount_kopecks=info.amount_kopecks)


class LocalPaymentInfo:
    """The stand-in used in tests and demos: payments «arrive» when `receive` is called."""

    def __init__(self) -> None:
        self.received: dict[str, PaymentInfo] = {}

    def receive(self, uin: str, amount_kopecks: int, payment_id: str) -> None:
        self.received[uin] = PaymentInfo(uin, amount_kopecks, payment_id)

    async def paid(self, uin: str) -> PaymentInfo | None:
        return self.received.get(uin)
