"""The reconciliation job: polls open orders so a lost webhook never loses a payment.

Each pass asks the providers about every open order (created / pending),
records what they report through the status machine (announcing a payment
confirmed while the client was away), and expires orders nobody paid in time.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter

from .providers import ProviderUnavailable
from .status import PaymentStatus

log = logging.getLogger("payments.reconcile")


async def reconcile_once(service, now: float | None = None) -> Counter:
    counts: Counter = Counter()
    for order_id in await service.orders.open_ids():
        order = await service.orders.get(order_id)
        if order is None:
            continue
        counts["checked"] += 1
        if order.status is PaymentStatus.pending:
            try:
                order, changed = await service.refresh(order.id, announce=True)
            except ProviderUnavailable:
                counts["unreachable"] += 1
                continue
            if changed:
                counts[order.status.value] += 1
        order, expired = await service.expire_if_due(order, now or time.time())
        if expired:
            counts["expired"] += 1
    return counts


async def run(service, interval_seconds: float) -> None:
    while True:
        try:
            counts = await reconcile_once(service)
            if counts.get("paid") or counts.get("expired"):
                log.info("reconciliation: %s", dict(counts))
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("reconciliation pass failed")
        await asyncio.sleep(interval_seconds)
