"""What the console tells the browser: security headers on every page,
redirects that never leave the console, the login page for the signed out,
and errors as a page that says what to do (not a JSON body)."""

from __future__ import annotations

from urllib.parse import quote, urlparse

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .auth import LoginRequired

# No inline script or style anywhere in the console: a client's text that slipped
# through escaping still could not run. The live WebSocket is same-origin.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",  # client data must not stay in shared or browser caches
}


def safe_console_path(url: str | None, default: str = "/console") -> str:
    """A path inside the console to send the browser back to; anything else (another
    host, `//evil`, a scheme, backslashes) becomes `default`."""
    if not url:
        return default
    path = urlparse(url).path
    if not path.startswith("/console") or path.startswith("//") or "\\" in path or ".." in path:
        return default
    return path


def back(url: str, note: str = "", error: str = "") -> RedirectResponse:
    """After a form: to `url`, with the note or error the page shows."""
    sep = "&" if "?" in url else "?"
    if note:
        url += f"{sep}note={quote(note)}"
    elif error:
        url += f"{sep}error={quote(error)}"
    return RedirectResponse(url, status_code=303)


class SecurityHeaders:
    """ASGI middleware: the headers above on every response under `prefixes`."""

    def __init__(self, app: ASGIApp, prefixes: tuple[str, ...] = ("/console",)):
        self.app, self.prefixes = app, prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.prefixes):
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)


def install_errors(app: FastAPI, templates: Jinja2Templates) -> None:
    @app.exception_handler(LoginRequired)
    async def _to_login(request: Request, _exc: LoginRequired) -> Response:
        return RedirectResponse("/console/login", status_code=303)

    @app.exception_handler(StarletteHTTPException)
    async def _html_error(request: Request, exc: StarletteHTTPException) -> Response:
        if not request.url.path.startswith("/console"):
            return await http_exception_handler(request, exc)
        return templates.TemplateResponse(
            request, "error.html", {"s": None, "message": exc.detail}, status_code=exc.status_code
        )
