"""ASGI guards in front of every HTTP route (API, webhooks, console).

`BodyLimit`: a request body over the limit gets 413 before the app parses
it — by Content-Length when given, else by counting the chunks as they
arrive (a chunked upload cannot slip past). The app sees a disconnect and
whatever it answers is dropped.

`AllowHeader`: a 405 carries an `Allow` header listing every method the path
supports. The router answers from the first route that matches the path
alone, so a path served by two routes (POST and GET …/messages) would
advertise only one; and the console's HTML error page drops headers. A
generic JSON 405 also gets a Russian message in the API's error shape.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable

from starlette.datastructures import Headers, MutableHeaders
from starlette.routing import BaseRoute, Match, Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.core.numbers import is_digits

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def _json(status: int, error: str, message: str, headers: dict[str, str] | None = None) -> tuple[Message, Message]:
    body = json.dumps({"error": error, "message": message, "details": []}, ensure_ascii=False).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    return (
        {"type": "http.response.start", "status": status, "headers": raw},
        {"type": "http.response.body", "body": body},
    )


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    def _too_large(self) -> tuple[Message, Message]:
        return _json(
            413,
            "too_large",
            (
                f"Запрос слишком большой: тело больше {self.max_bytes // 1024} КБ. Сократите сообщение "
                "(текст — до 4096 символов) и отправьте его снова."
            ),
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if is_digits(declared) and int(declared) > self.max_bytes:
            for message in self._too_large():
                await send(message)
            return
        received, started, refused = 0, False, False

        async def counting_receive() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    refused = True
                    if not started:
                        for answer in self._too_large():
                            await send(answer)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if refused:
                return  # the app's answer to a body it never got in full
            started = started or message["type"] == "http.response.start"
            await send(message)

        await self.app(scope, counting_receive, guarded_send)


def allowed_methods(routes: Iterable[BaseRoute], scope: Scope) -> list[str]:
    """The methods some route serves at this path."""
    routes = list(routes)
    allowed = []
    for method in METHODS:
        probe = {**scope, "method": method}
        for route in routes:
            match, _ = route.matches(probe)
            # A mount (static files) matches any method but serves only GET and HEAD.
            if match is Match.FULL and (not isinstance(route, Mount) or method in ("GET", "HEAD")):
                allowed.append(method)
                break
    return allowed


class AllowHeader:
    def __init__(self, app: ASGIApp, routes: Callable[[], Iterable[BaseRoute]]):
        self.app = app
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        replaced = False

        async def fixing_send(message: Message) -> None:
            nonlocal replaced
            if replaced:
                return
            if message["type"] == "http.response.start" and message["status"] == 405:
                allow = ", ".join(allowed_methods(self.routes(), scope))
                if not allow:  # no route serves the path at all: leave the answer as it is
                    await send(message)
                    return
                headers = MutableHeaders(raw=list(message["headers"]))
                if headers.get("content-type", "").startswith("application/json"):
                    replaced = True  # the framework's English {"detail": …}: answer in words
                    usable = ", ".join(m for m in allow.split(", ") if m != "HEAD")
                    for answer in _json(
                        405,
                        "method_not_allowed",
                        (f"Метод {scope['method']} здесь не поддерживается. Для этого адреса используйте: {usable}."),
                        {"Allow": allow},
                    ):
                        await send(answer)
                    return
                headers["Allow"] = allow
                message = {**message, "headers": headers.raw}
            await send(message)

        await self.app(scope, receive, fixing_send)
