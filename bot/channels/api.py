"""HTTP API channel (R-20), exactly per contract/api.md; extended, never renamed.

The adapter only authenticates, validates and namespaces: a conversation id
is scoped by the API key that created it, so two API clients never see each
other's conversations (R-22).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Header, Path, Request, Security
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from fastapi.security import APIKeyHeader
from pydantic import BaseModel, ConfigDict, Field, model_validator
from starlette.exceptions import HTTPException

from bot.core import texts
from bot.core.messages import Incoming, TurnResult
from bot.runtime import Runtime
from bot.store import keys
from bot.store.conversations import ConversationBusy
from bot.store.ratelimit import RateLimiter

from . import idempotency

log = logging.getLogger("channels.api")

# What the channel table in the README says of the API (tests/test_channels_table.py).
FEATURES = {
    "text": "yes",
    "buttons": "yes, as payloads to send back (and `url` links)",
    "operator": "yes, polled: `GET …/messages?after=`",
    "notifications": "yes, polled",
    "payments": "`image_url` of the QR code, payment links",
    "voice messages": "no",
}

MAX_TEXT = 4096
CONVERSATION_ID = r"^[A-Za-z0-9_-]{1,64}$"
IDEMPOTENCY_KEY = r"^[!-~]{1,128}$"  # printable ASCII, no spaces (a UUID fits)
# Exactly the characters str.strip() removes (str.isspace), spelled out so that
# every regex engine — pydantic's, a JSON-schema validator's, Python's — reads
# the pattern below the same way (their `\s` classes differ).
BLANKS = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680"
    + "".join(map(chr, range(0x2000, 0x200B)))
    + "\u2028\u2029\u202f\u205f\u3000"
)
NOT_BLANK = f"[^{BLANKS}]"  # somewhere a character that is not blank

ClientText = Annotated[str, Field(min_length=1, max_length=MAX_TEXT, pattern=NOT_BLANK)]
Payload = Annotated[str, Field(min_length=1, max_length=64)]
ClientId = Annotated[str, Field(min_length=1, max_length=128)]


class MessageIn(BaseModel):
    """A client's message (`text`) or a press of a button a reply offered (`payload`).

    At least one of them; when both are sent the button press is taken. Each
    field present is checked on its own. Nothing else may be in the body, and
    no type is converted: a number where a string belongs is an error."""

    model_config = ConfigDict(
        strict=True,
        extra="forbid",
        json_schema_extra={
            "anyOf": [
                {"required": ["text"], "properties": {"text": {"type": "string"}}},
                {"required": ["payload"], "properties": {"payload": {"type": "string"}}},
            ]
        },
    )

    text: ClientText | None = Field(None, description="The client's message: 1–4096 characters, not only blanks.")
    payload: Payload | None = Field(None, description="Payload of a button a reply offered, as it was given.")
    client_id: ClientId | None = Field(None, description="Optional stable id of the client across conversations.")

    @model_validator(mode="after")
    def _text_or_payload(self) -> MessageIn:
        if self.payload is None and self.text is None:
            raise ValueError("нужно передать текст сообщения в поле text или нажатую кнопку в поле payload")
        return self


class ApiError(BaseModel):
    error: str
    message: str
    details: list[dict] = Field(default_factory=list)


def _error(
    status: int, error: str, message: str, details: list[dict] | None = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        status_code=status,
        headers=headers,
        content=ApiError(error=error, message=message, details=details or []).model_dump(),
    )


# What each field must be, in the words a client reads in a 422.
RULES = {
    "conversation_id": "идентификатор разговора: от 1 до 64 символов, только латинские буквы, цифры, «_» и «-»",
    "text": "текст сообщения пустой — напишите вопрос в поле text (от 1 до 4096 символов)",
    "payload": "поле payload: от 1 до 64 символов — передайте payload кнопки из ответа помощника без изменений",
    "client_id": "поле client_id: от 1 до 128 символов",
    "after": (
        "параметр after — это значение cursor из предыдущего ответа (вида 1700000000000-0); чтобы "
        "получить все сообщения, не передавайте его"
    ),
    "idempotency-key": ("заголовок Idempotency-Key: от 1 до 128 видимых символов ASCII без пробелов, например UUID"),
}
TOO_LONG_TEXT = f"текст длиннее {MAX_TEXT} символов — сократите сообщение или разбейте его на части"


def _explain(err: dict) -> dict:
    loc = [str(p) for p in err.get("loc", []) if p not in ("body", "path", "query", "header")]
    field = ".".join(loc) or "body"
    kind = err.get("type", "")
    if kind == "json_invalid":
        problem = 'тело запроса — не корректный JSON; отправьте объект вида {"text": "Как открыть ИП?"}'
    elif kind == "string_unicode":
        problem = f"поле {field}: недопустимые символы (одиночные суррогаты UTF-16) — отправьте текст в кодировке UTF-8"
    elif kind == "extra_forbidden":
        problem = f"поле {field} не поддерживается: в теле запроса бывают только text, payload и client_id"
    elif kind == "value_error":
        problem = str(err.get("ctx", {}).get("error", err.get("msg", "")))
    elif kind.endswith("_type"):
        problem = f"поле {field}: ожидается {'строка' if kind == 'string_type' else 'JSON-объект'}"
    elif field == "text" and kind == "string_too_long":
        problem = TOO_LONG_TEXT
    elif field in RULES:
        problem = RULES[field]
    else:
        problem = f"поле {field}: {err.get('msg')}"
    return {"field": field, "problem": problem}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        details = [_explain(e) for e in exc.errors()]
        message = "Запрос не принят: " + "; ".join(dict.fromkeys(d["problem"] for d in details)) + "."
        return _error(422, "invalid_request", message, details)


API_KEY_HEADER = APIKeyHeader(
    name="X-Api-Key",
    auto_error=False,
    description="The key set in ASSISTANT_API_KEY (or ASSISTANT_API_KEYS) on the server.",
)


async def api_key_id(request: Request, x_api_key: Annotated[str | None, Security(API_KEY_HEADER)] = None) -> str:
    """Checks X-Api-Key; returns a short hash of it that scopes conversations."""
    runtime: Runtime = request.app.state.runtime
    if not x_api_key or x_api_key not in runtime.settings.api_keys:
        raise _Unauthorized()
    return hashlib.sha256(x_api_key.encode()).hexdigest()[:10]


def scoped_conversation_id(key_id: str, conversation_id: str) -> str:
    return f"api:{key_id}:{conversation_id}"


KEY_RATE_LIMITED = (
    "Слишком много сообщений с этим ключом API: не больше {limit} в минуту для всех ваших "
    "клиентов вместе. Повторите запрос через {seconds} с (заголовок Retry-After); если нужно "
    "больше, попросите администратора помощника увеличить API_RATE_LIMIT_PER_MINUTE."
)
KEY_REUSED = (
    "Этот Idempotency-Key уже использован для другого запроса (другой текст, кнопка или разговор). "
    "Повторяйте ключ только вместе с тем же самым запросом, а для нового сообщения создайте новый ключ."
)


class _ApiRoute(APIRoute):
    """A body that is not text at all (bytes no Unicode encoding can read) is malformed
    JSON like any other — 422 in words — not the framework's English 400."""

    def get_route_handler(self) -> Callable:
        handle = super().get_route_handler()

        async def route(request: Request):
            try:
                return await handle(request)
            except HTTPException as exc:
                if exc.status_code == 400 and isinstance(exc.__cause__, UnicodeDecodeError):
                    raise RequestValidationError(
                        [{"type": "json_invalid", "loc": ("body",), "input": {}, "msg": "not a text encoding"}]
                    ) from exc
                raise

        return route


def build_router(get_runtime: Callable[[], Runtime]) -> APIRouter:
    router = APIRouter(route_class=_ApiRoute)
    errors: dict[int | str, dict[str, Any]] = {status: {"model": ApiError} for status in (401, 409, 413, 422, 429, 503)}

    @router.post(
        "/api/v1/conversations/{conversation_id}/messages",
        response_model=TurnResult,
        responses=errors,
        summary="Send a client message or a button press; get the assistant's replies",
    )
    async def send_message(
        body: MessageIn,
        conversation_id: Annotated[str, Path(pattern=CONVERSATION_ID)],
        key_id: Annotated[str, Depends(api_key_id)],
        idempotency_key: Annotated[
            str | None,
            Header(
                pattern=IDEMPOTENCY_KEY,
                description=(
                    "Optional. Repeating a request with the same key returns the first reply "
                    "instead of processing the message twice (kept 24 h). The key is bound to that "
                    "request: the same key with another body or conversation gets 409."
                ),
            ),
        ] = None,
    ):
        """409: the conversation is busy with the previous message, or the Idempotency-Key was used
        for another request. 413: the body is over MAX_REQUEST_BODY_BYTES. 429: the API key sent
        more than API_RATE_LIMIT_PER_MINUTE messages this minute (see Retry-After)."""
        runtime = get_runtime()
        limit = runtime.settings.api_rate_limit_per_minute
        wait = await RateLimiter(runtime.redis, limit, key=keys.api_key_rate).retry_after(key_id)
        if wait:
            return _error(
                429,
                "rate_limited",
                KEY_RATE_LIMITED.format(limit=limit, seconds=wait),
                headers={"Retry-After": str(wait)},
            )
        scoped = scoped_conversation_id(key_id, conversation_id)
        client = f"api:{key_id}:{body.client_id}" if body.client_id else scoped
        incoming = Incoming(
            conversation_id=scoped,
            channel="api",
            client_id=client,
            text=body.text if body.payload is None else None,
            payload=body.payload,
        )
        stored = keys.api_response(key_id, idempotency_key) if idempotency_key else None
        request = idempotency.fingerprint(conversation_id, body.model_dump_json())
        if stored:
            incoming.receipt = f"{idempotency_key}:{request}"  # the engine keeps the result with the turn
            try:
                previous = await idempotency.claim_or_wait(runtime.redis, stored, request)
            except idempotency.KeyReused:
                return _error(409, "idempotency_key_reused", KEY_REUSED)
            except ConversationBusy:  # the first request is still being processed
                return _error(409, "busy", texts.ERROR_BUSY)
            if previous is not None:
                return JSONResponse(previous)
        try:
            result = await runtime.engine.handle(incoming)
        except ConversationBusy:
            await idempotency.release(runtime.redis, stored)
            return _error(409, "busy", texts.ERROR_BUSY)
        except Exception:
            await idempotency.release(runtime.redis, stored)
            log.exception("turn failed", extra={"conversation": scoped})
            return _error(503, "temporarily_unavailable", texts.ERROR_GENERIC)
        result.conversation_id = conversation_id
        if stored:
            await idempotency.remember(runtime.redis, stored, request, result.model_dump_json())
        return result

    return router


class _Unauthorized(Exception):
    pass


def install_auth_handler(app: FastAPI) -> None:
    @app.exception_handler(_Unauthorized)
    async def _unauthorized(_request: Request, _exc: _Unauthorized) -> JSONResponse:
        return _error(
            401,
            "unauthorized",
            "Нужен ключ доступа: передайте его в заголовке X-Api-Key. Ключ задаётся переменной "
            "окружения ASSISTANT_API_KEY на сервере; если вы его не знаете, обратитесь к "
            "администратору помощника.",
        )
