"""Card payments through an acquiring gateway with the YooKassa API shape.

POST {base}/payments with an Idempotence-Key (one key per order, so a retry
after a network hiccup returns the same payment instead of a second one),
confirmation {type: redirect} → confirmation_url; GET {base}/payments/{id};
notifications `payment.succeeded` / `payment.canceled` / `refund.succeeded`
arrive at our webhook and are trusted only after re-fetching the payment
(YooKassa's recommended check).
"""

from __future__ import annotations

import asyncio
import logging
import re

import httpx

from .orders import Order
from .providers import Observed, ProviderUnavailable, Started
from .status import PaymentMethod, PaymentStatus

log = logging.getLogger("payments.yookassa")

PROVIDER = "yookassa"
# Gateway status → order status. pending / waiting_for_capture: still open.
STATUSES = {"succeeded": PaymentStatus.paid, "canceled": PaymentStatus.failed}
RETRIES = 3


def kopecks_to_value(kopecks: int) -> str:
    return f"{kopecks // 100}.{kopecks % 100:02d}"


def value_to_kopecks(value: str) -> int:
    rub, _, kop = str(value).partition(".")
    return int(rub) * 100 + int((kop + "00")[:2])


class YooKassaClient:
    def __init__(self, base_url: str, shop_id: str, secret_key: str, timeout: float = 10.0):
        self.http = httpx.AsyncClient(base_url=base_url.rstrip("/") + "/", auth=(shop_id, secret_key), timeout=timeout)

    async def close(self) -> None:
        await self.http.aclose()

    async def _call(self, method: str, path: str, **kwargs) -> dict:
        """Retry transport errors and 5xx with the same request (and so the same idempotence key)."""
        delay = 0.2
        for attempt in range(1, RETRIES + 1):
            try:
                resp = await self.http.request(method, path, **kwargs)
            except httpx.HTTPError as exc:
                problem = exc.__class__.__name__
            else:
                if resp.status_code < 500:
                    if resp.status_code >= 400:
                        body = (
                            resp.json() if resp.headers.get("content-type", "").startswith("application/json") else {}
                        )
                        log.error("gateway refused %s %s: %s %s", method, path, resp.status_code, body.get("code"))
                        raise ProviderUnavailable(f"gateway answered {resp.status_code}")
                    return resp.json()
                problem = f"HTTP {resp.status_code}"
            log.warning("gateway %s %s failed (%s), attempt %d", method, path, problem, attempt)
            if attempt < RETRIES:
                await asyncio.sleep(delay)
                delay *= 2
        raise ProviderUnavailable(problem)

    async def create_payment(
        self, *, amount_kopecks: int, description: str, return_url: str, metadata: dict[str, str], idempotence_key: str
    ) -> dict:
        body = {
            "amount": {"value": kopecks_to_value(amount_kopecks), "currency": "RUB"},
            "capture": True,
            "confirmation": {"type": "redirect", "return_url": return_url},
            "description": description[:128],
            "metadata": metadata,
        }
        return await self._call("POST", "payments", json=body, headers={"Idempotence-Key": idempotence_key})

    async def get_payment(self, payment_id: str) -> dict:
        return await self._call("GET", f"payments/{payment_id}")


def observe(payment: dict) -> Observed:
    status = STATUSES.get(payment.get("status", ""))
    refunded = payment.get("refunded_amount")
    amount = value_to_kopecks(payment["amount"]["value"]) if payment.get("amount") else None
    if status is PaymentStatus.paid and refunded and amount and value_to_kopecks(refunded["value"]) >= amount:
        status = PaymentStatus.refunded
    return Observed(status=status, provider_payment_id=payment.get("id"), amount_kopecks=amount)


class CardProvider:
    method = PaymentMethod.card

    def __init__(self, client: YooKassaClient, return_url: str):
        self.client = client
        self.return_url = return_url

    @staticmethod
    def idempotence_key(order: Order) -> str:
        # One card payment per order: pressing «картой» twice, or retrying
        # after a timeout, returns the same gateway payment.
        return f"order-{order.id}-card"

    async def start(self, order: Order) -> Started:
        payment = await self.client.create_payment(
            amount_kopecks=order.amount_kopecks,
            description=f"{order.fee_name}, УИН {order.uin}",
            return_url=self.return_url,
            metadata={"order_id": order.id, "uin": order.uin},
            idempotence_key=self.idempotence_key(order),
        )
        url = (payment.get("confirmation") or {}).get("confirmation_url")
        return Started(provider_payment_id=payment["id"], confirmation_url=url)

    async def check(self, order: Order) -> Observed:
        attempt = order.attempt(PaymentMethod.card)
        if not attempt or not attempt.provider_payment_id:
            return Observed(status=None)
        payment = await self.client.get_payment(attempt.provider_payment_id)
        if (payment.get("metadata") or {}).get("order_id") not in (None, order.id):
            log.error("gateway payment %s belongs to another order", attempt.provider_payment_id)
            return Observed(status=None)
        return observe(payment)


EVENTS = ("payment.succeeded", "payment.canceled", "payment.waiting_for_capture", "refund.succeeded")


PAYMENT_ID = re.compile(r"[0-9A-Za-z_-]{1,64}")


def notification_ref(body: dict) -> tuple[str, str] | None:
    """(event, payment id) of a YooKassa notification, or None if it is not one."""
    if not isinstance(body, dict) or body.get("type") != "notification" or body.get("event") not in EVENTS:
        return None
    obj = body.get("object")
    if not isinstance(obj, dict):
        return None
    payment_id = obj.get("payment_id") if body["event"].startswith("refund.") else obj.get("id")
    # Only what can be one of the gateway's ids (UUID-like) goes on to a Redis key or a gateway URL.
    return (body["event"], payment_id) if isinstance(payment_id, str) and PAYMENT_ID.fullmatch(payment_id) else None


async def handle_notification(service, client: YooKassaClient, body: dict) -> str:
    """Apply one notification. The body is only a hint: the status we record is
    the one the gateway returns for GET /payments/{id}, so a forged, stale or
    out-of-order notification cannot mark anything paid.
    Returns what happened: ignored | unknown | mismatch | applied | unchanged |
    not_confirmed (the gateway does not say so: nothing recorded)."""
    ref = notification_ref(body)
    if ref is None:
        return "ignored"
    _event, payment_id = ref
    order = await service.orders.by_provider(PaymentMethod.card.value, payment_id)
    if order is None:
        log.warning("notification for a payment we did not create")
        return "unknown"
    payment = await client.get_payment(payment_id)  # raises ProviderUnavailable → gateway retries
    if (payment.get("metadata") or {}).get("order_id") != order.id:
        log.error("gateway payment does not belong to order %s", order.id)
        return "mismatch"
    _order, changed = await service.apply(order, observe(payment), PaymentMethod.card, announce=True)
    if changed:
        return "applied"
    # Not confirmed by the gateway (forged, or early): not "seen", so the genuine
    # notification that follows is still processed rather than taken for a repeat.
    return "unchanged" if confirms(_event, payment) else "not_confirmed"


def confirms(event: str, payment: dict) -> bool:
    """Does the gateway's own record of the payment say what the notification says?"""
    if event == "refund.succeeded":
        refunded = payment.get("refunded_amount") or {}
        return bool(refunded.get("value")) and value_to_kopecks(refunded["value"]) > 0
    return payment.get("status") == event.removeprefix("payment.")
