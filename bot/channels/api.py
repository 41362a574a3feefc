"""HTTP API channel (R-20), exactly per contract/api.md; extended, never renamed.

The adapter only authenticates, validates and namespaces: a conversation id
is scoped by the API key that created it, so two API clients never see each
other's conversations (R-22).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from typing import Annotated, Callable

from fastapi import APIRouter, Depends, FastAPI, Header, Path, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, model_validator

from bot.core import texts
from bot.core.messages import Incoming, TurnResult
from bot.runtime import Runtime
from bot.store import keys
from bot.store.conversations import ConversationBusy

log = logging.getLogger("channels.api")

MAX_TEXT = 4096
CONVERSATION_ID = r"^[A-Za-z0-9_-]{1,64}$"


class MessageIn(BaseModel):
    text: str | None = Field(None, description="The client's message (1–4096 characters).")
    payload: str | None = Field(None, max_length=64, description="Payload of a button a reply offered.")
    client_id: str | None = Field(None, min_length=1, max_length=128,
                                  description="Optional stable id of the client across conversations.")

    @model_validator(mode="after")
    def _one_of(self) -> "MessageIn":
        if self.payload is None and self.text is None:
            raise ValueError("нужно передать текст сообщения в поле text или нажатую кнопку в поле payload")
        if self.payload is None:
            if not self.text.strip():
                raise ValueError("текст сообщения пустой — напишите вопрос в поле text")
            if len(self.text) > MAX_TEXT:
                raise ValueError(f"текст длиннее {MAX_TEXT} символов — сократите сообщение или разбейте его на части")
        return self


class ApiError(BaseModel):
    error: str
    message: str
    details: list[dict] = Field(default_factory=list)


def _error(status: int, error: str, message: str, details: list[dict] | None = None) -> JSONResponse:
    return JSONResponse(status_code=status, content=ApiError(error=error, message=message,
                                                             details=details or []).model_dump())


def _explain(err: dict) -> dict:
    loc = [str(p) for p in err.get("loc", []) if p not in ("body", "path")]
    field = ".".join(loc) or "body"
    kind = err.get("type", "")
    if kind == "json_invalid":
        problem = "тело запроса — не корректный JSON; отправьте объект вида {\"text\": \"Как открыть ИП?\"}"
    elif field == "conversation_id":
        problem = "идентификатор разговора: от 1 до 64 символов, только латинские буквы, цифры, «_» и «-»"
    elif kind == "value_error":
        problem = str(err.get("ctx", {}).get("error", err.get("msg", "")))
    elif kind in ("string_too_long", "string_too_short"):
        problem = f"поле {field}: недопустимая длина ({err.get('msg')})"
    elif kind in ("string_type", "model_attributes_type", "dict_type"):
        problem = f"поле {field}: ожидается {'строка' if kind == 'string_type' else 'JSON-объект'}"
    else:
        problem = f"поле {field}: {err.get('msg')}"
    return {"field": field, "problem": problem}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        details = [_explain(e) for e in exc.errors()]
        message = "Запрос не принят: " + "; ".join(d["problem"] for d in details) + "."
        return _error(422, "invalid_request", message, details)


async def api_key_id(request: Request, x_api_key: Annotated[str | None, Header()] = None) -> str:
    """Checks X-Api-Key; returns a short hash of it that scopes conversations."""
    runtime: Runtime = request.app.state.runtime
    if not x_api_key or x_api_key not in runtime.settings.api_keys:
        raise _Unauthorized()
    return hashlib.sha256(x_api_key.encode()).hexdigest()[:10]


def scoped_conversation_id(key_id: str, conversation_id: str) -> str:
    return f"api:{key_id}:{conversation_id}"


def build_router(get_runtime: Callable[[], Runtime]) -> APIRouter:
    router = APIRouter()

    @router.post("/api/v1/conversations/{conversation_id}/messages", response_model=TurnResult,
                 responses={401: {"model": ApiError}, 422: {"model": ApiError}, 503: {"model": ApiError}},
                 summary="Send a client message or a button press; get the assistant's replies")
    async def send_message(
        body: MessageIn,
        conversation_id: Annotated[str, Path(pattern=CONVERSATION_ID)],
        key_id: Annotated[str, Depends(api_key_id)],
        idempotency_key: Annotated[str | None, Header(max_length=128, description=(
            "Optional. Repeating a request with the same key returns the first reply "
            "instead of processing the message twice (kept 24 h)."))] = None,
    ):
        runtime = get_runtime()
        scoped = scoped_conversation_id(key_id, conversation_id)
        client = f"api:{key_id}:{body.client_id}" if body.client_id else scoped
        incoming = Incoming(conversation_id=scoped, channel="api", client_id=client,
                            text=body.text if body.payload is None else None, payload=body.payload)
        stored = keys.api_response(key_id, idempotency_key) if idempotency_key else None
        if stored:
            try:
                previous = await _claim_or_wait(runtime, stored)
            except ConversationBusy:  # the first request is still being processed
                return _error(409, "busy", texts.ERROR_BUSY)
            if previous is not None:
                return JSONResponse(previous)
        try:
            result = await runtime.engine.handle(incoming)
        except ConversationBusy:
            await _release(runtime, stored)
            return _error(409, "busy", texts.ERROR_BUSY)
        except Exception:
            await _release(runtime, stored)
            log.exception("turn failed", extra={"conversation": scoped})
            return _error(503, "temporarily_unavailable", texts.ERROR_GENERIC)
        result.conversation_id = conversation_id
        if stored:
            await runtime.redis.set(stored, result.model_dump_json(), ex=keys.IDEMPOTENCY_TTL_S)
        return result

    return router


IN_FLIGHT = "…"


async def _claim_or_wait(runtime: Runtime, stored: str, wait: float = 25.0) -> dict | None:
    """None: this request processes the message. Otherwise the first request's reply
    (waiting for it while that request is still being processed)."""
    if await runtime.redis.set(stored, IN_FLIGHT, nx=True, ex=keys.IDEMPOTENCY_TTL_S):
        return None
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        value = await runtime.redis.get(stored)
        if value is None:  # the first attempt failed and let go: process it now
            return await _claim_or_wait(runtime, stored, deadline - time.monotonic())
        if value != IN_FLIGHT:
            return json.loads(value)
        await asyncio.sleep(0.05)
    raise ConversationBusy(stored)


async def _release(runtime: Runtime, stored: str | None) -> None:
    if stored:
        await runtime.redis.delete(stored)


class _Unauthorized(Exception):
    pass


def install_auth_handler(app: FastAPI) -> None:
    @app.exception_handler(_Unauthorized)
    async def _unauthorized(_request: Request, _exc: _Unauthorized) -> JSONResponse:
        return _error(401, "unauthorized",
                      "Нужен ключ доступа: передайте его в заголовке X-Api-Key. Ключ задаётся переменной "
                      "окружения ASSISTANT_API_KEY на сервере; если вы его не знаете, обратитесь к "
                      "администратору помощника.")
