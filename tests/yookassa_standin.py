"""A local stand-in for the YooKassa API (v3), for tests.

Follows YooKassa's documented requests and responses for what we use:
HTTP Basic auth (shop id : secret key); POST /v3/payments requires an
Idempotence-Key — the same key with the same body returns the original
response, with a different body an error; confirmation {type: redirect}
answers with a confirmation_url; GET /v3/payments/{id}; errors as
{"type": "error", "id", "code", "description", "parameter"}; notifications
{"type": "notification", "event", "object"} POSTed to the shop's URL.

Test controls are Python methods (succeed, cancel, refund, deliver …), not
HTTP: the shop under test only ever sees YooKassa's own interface.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import hashlib
import json
import socket
import uuid
from datetime import UTC, datetime

import httpx
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _error(status: int, code: str, description: str, parameter: str | None = None) -> JSONResponse:
    body = {"type": "error", "id": str(uuid.uuid4()), "code": code, "description": description}
    if parameter:
        body["parameter"] = parameter
    return JSONResponse(status_code=status, content=body)


class YooKassaStandIn:
    def __init__(self, shop_id: str = "123456", secret_key: str = "test_standin_secret"):
        self.shop_id, self.secret_key = shop_id, secret_key
        self.port = _free_port()
        self.payments: dict[str, dict] = {}
        self.idempotence: dict[str, tuple[str, dict]] = {}
        self.requests: list[dict] = []  # every API call: method, path, idempotence key
        self.fail_next_create_responses = 0  # process the request, then answer 500 (lost response)
        self.notify_url: str | None = None
        self.app = self._build()
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v3"

    # ------------------------------------------------------------------ HTTP
    def _build(self) -> FastAPI:
        app = FastAPI()

        def authorized(request: Request) -> bool:
            auth = request.headers.get("authorization", "")
            token = base64.b64encode(f"{self.shop_id}:{self.secret_key}".encode()).decode()
            return auth == f"Basic {token}"

        @app.post("/v3/payments")
        async def create(request: Request):
            key = request.headers.get("Idempotence-Key")
            self.requests.append({"method": "POST", "path": "/v3/payments", "key": key})
            if not authorized(request):
                return _error(401, "invalid_credentials", "Authentication by given credentials failed")
            if not key:
                return _error(400, "invalid_request", "Idempotence-Key header is missing", "Idempotence-Key")
            raw = await request.body()
            try:
                body = json.loads(raw)
            except ValueError:
                return _error(400, "invalid_request", "Request body is not valid JSON")
            digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
            if key in self.idempotence:
                seen_digest, response = self.idempotence[key]
                if seen_digest != digest:
                    return _error(
                        400,
                        "invalid_request",
                        "Idempotence key duplicated with a different request body",
                        "Idempotence-Key",
                    )
                return await self._answer(response)
            amount = body.get("amount") or {}
            if amount.get("currency") != "RUB" or not str(amount.get("value", "")).replace(".", "", 1).isdigit():
                return _error(400, "invalid_request", "Invalid amount", "amount")
            confirmation = body.get("confirmation") or {}
            if confirmation.get("type") != "redirect" or not confirmation.get("return_url"):
                return _error(400, "invalid_request", "confirmation.return_url is required", "confirmation")
            payment_id = f"{uuid.uuid4().hex[:8]}-000f-5000-8000-{uuid.uuid4().hex[:12]}"
            payment = {
                "id": payment_id,
                "status": "pending",
                "paid": False,
                "amount": {"value": amount["value"], "currency": "RUB"},
                "confirmation": {
                    "type": "redirect",
                    "return_url": confirmation["return_url"],
                    "confirmation_url": f"http://127.0.0.1:{self.port}/checkout/{payment_id}",
                },
                "created_at": _now(),
                "description": body.get("description", ""),
                "metadata": body.get("metadata", {}),
                "recipient": {"account_id": self.shop_id, "gateway_id": "100700"},
                "refundable": False,
                "test": True,
            }
            self.payments[payment_id] = payment
            self.idempotence[key] = (digest, payment)
            return await self._answer(payment)

        @app.get("/v3/payments/{payment_id}")
        async def get(payment_id: str, request: Request):
            self.requests.append({"method": "GET", "path": f"/v3/payments/{payment_id}", "key": None})
            if not authorized(request):
                return _error(401, "invalid_credentials", "Authentication by given credentials failed")
            if payment_id not in self.payments:
                return _error(404, "not_found", "Payment not found", "payment_id")
            return JSONResponse(self.payments[payment_id])

        return app

    async def _answer(self, payment: dict) -> JSONResponse:
        if self.fail_next_create_responses > 0:
            self.fail_next_create_responses -= 1
            return _error(500, "internal_server_error", "Internal server error")
        return JSONResponse(copy.deepcopy(payment))

    # -------------------------------------------------------- test controls
    def creations(self) -> int:
        return len(self.payments)

    def succeed(self, payment_id: str) -> dict:
        p = self.payments[payment_id]
        p.update(
            status="succeeded",
            paid=True,
            captured_at=_now(),
            refundable=True,
            income_amount=dict(p["amount"]),
            payment_method={
                "type": "bank_card",
                "id": payment_id,
                "saved": False,
                "card": {"first6": "555555", "last4": "4444", "card_type": "MasterCard"},
            },
        )
        return copy.deepcopy(p)

    def cancel(self, payment_id: str) -> dict:
        p = self.payments[payment_id]
        p.update(
            status="canceled",
            paid=False,
            cancellation_details={"party": "yoo_money", "reason": "expired_on_confirmation"},
        )
        return copy.deepcopy(p)

    def snapshot(self, payment_id: str) -> dict:
        return copy.deepcopy(self.payments[payment_id])

    @staticmethod
    def notification(event: str, obj: dict) -> dict:
        return {"type": "notification", "event": event, "object": obj}

    async def deliver(self, body: dict) -> httpx.Response:
        """POST a notification to the shop, as YooKassa does."""
        async with httpx.AsyncClient(timeout=10) as client:
            return await client.post(self.notify_url, json=body)

    # ------------------------------------------------------------- running
    async def start(self) -> YooKassaStandIn:
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve())
        deadline = asyncio.get_running_loop().time() + 10
        while not self._server.started:
            if asyncio.get_running_loop().time() > deadline:
                raise RuntimeError("YooKassa stand-in did not start")
            await asyncio.sleep(0.02)
        return self

    async def stop(self) -> None:
        if self._server:
            self._server.should_exit = True
            await self._task
