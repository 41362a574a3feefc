"""The payment feature's HTTP routes.

GET  /payments/qr/{order_id}.png         the payment QR code of an order (no key: the id is unguessable)
POST /payments/yookassa/notifications    the gateway's notifications; trusted only after the gateway
                                         confirms them, remembered only then (a replay is a no-op)
GET  /payments/done                      where the gateway's page sends the client back

Request bodies are limited for the whole app (bot/channels/http_guards.BodyLimit).
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from redis.asyncio import Redis

from bot import metrics
from bot.store import keys

from . import qr as qr_codes
from . import texts
from .providers import ProviderUnavailable
from .service import PaymentService
from .yookassa import handle_notification, notification_ref

WEBHOOK_PATH = "/payments/yookassa/notifications"
RETURN_PATH = "/payments/done"
ORDER_ID = re.compile(r"[0-9a-f]{24}")


def add_routes(app: FastAPI, svc: PaymentService, redis: Redis) -> None:
    @app.get(qr_codes.QR_ROUTE, include_in_schema=False)
    async def qr_image(order_id: str) -> Response:
        order = await svc.orders.get(order_id) if ORDER_ID.fullmatch(order_id) else None
        if order is None:
            return JSONResponse(status_code=404, content={"error": "not_found", "message": texts.QR_NOT_FOUND})
        data = qr_codes.payload(qr_codes.details_of(order), svc.qr_encoding)
        return Response(
            content=qr_codes.png(data), media_type="image/png", headers={"Cache-Control": "private, max-age=3600"}
        )

    async def yookassa_outcome(request: Request) -> str:
        try:
            body = await request.json()
        except ValueError:
            body = None
        ref = notification_ref(body) if isinstance(body, dict) else None
        if ref is None or svc.gateway is None:
            return "ignored"
        seen = keys.seen("yookassa", f"{ref[0]}:{ref[1]}")
        if await redis.exists(seen):
            return "duplicate"
        try:
            outcome = await handle_notification(svc, svc.gateway, body)
        except ProviderUnavailable:
            return "retry"
        if outcome in ("applied", "unchanged"):  # confirmed by the gateway: a repeat is a duplicate
            await redis.set(seen, "1", ex=keys.SEEN_TTL_S)
        return outcome

    @app.post(WEBHOOK_PATH, include_in_schema=False)
    async def yookassa_notification(request: Request) -> Any:
        outcome = await yookassa_outcome(request)
        metrics.payment_webhook("yookassa", outcome)
        if outcome == "retry":  # could not verify with the gateway: a non-200 makes it deliver again
            return JSONResponse(status_code=503, content={"status": "retry"})
        return {"status": outcome}

    @app.get(RETURN_PATH, include_in_schema=False)
    async def payment_done() -> HTMLResponse:
        return HTMLResponse(texts.RETURN_PAGE)
