"""Who is at the console: sign-in, sessions, CSRF, roles and the browser's
protections (security headers, safe redirects).

Sessions live on the server (`sessions.py`); every request re-reads the user,
so a removed operator loses access at once. Every form carries the session's
CSRF token. Sign-in attempts are admitted by `LoginGuard` before a password
is checked.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from dataclasses import dataclass
from typing import Awaitable, Callable
from urllib.parse import quote, urlparse

from fastapi import APIRouter, FastAPI, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .login_guard import LoginGuard
from .presence import Presence
from .sessions import SessionStore, console_secret
from .users import Role, User, UserStore

log = logging.getLogger("handoff.console")

SESSION_COOKIE = "console_session"
LOGIN_CSRF_COOKIE = "console_login_csrf"

# No inline script or style anywhere in the console: a client's text that slipped
# through escaping still could not run. The live WebSocket is same-origin.
SECURITY_HEADERS = {
    "Content-Security-Policy": ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                                "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
                                "frame-ancestors 'none'"),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",  # client data must not stay in shared or browser caches
}


@dataclass(frozen=True)
class Session:
    user: User
    csrf: str


class LoginRequired(Exception):
    """Not signed in: redirect to the login page."""


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
    sep = "&" if "?" in url else "?"
    if note:
        url += f"{sep}note={quote(note)}"
    elif error:
        url += f"{sep}error={quote(error)}"
    return RedirectResponse(url, status_code=303)


class ConsoleAuth:
    def __init__(self, runtime, presence_set: Callable[[str, Presence], Awaitable[None]]):
        settings = runtime.settings
        self.settings = settings
        self.users = UserStore(runtime.redis)
        self.guard = LoginGuard(runtime.redis)
        self.max_age = settings.console_session_hours * 3600
        self.sessions = SessionStore(runtime.redis, console_secret(settings), self.max_age)
        self._presence_set = presence_set

    async def session_from(self, token: str | None) -> Session | None:
        stored = await self.sessions.get(token)
        if stored is None:
            return None
        user = await self.users.get(stored.user)  # a removed user loses access at once
        return Session(user, stored.csrf) if user else None

    async def session(self, request: Request) -> Session:
        s = await self.session_from(request.cookies.get(SESSION_COOKIE))
        if s is None:
            raise LoginRequired()
        return s

    async def form_session(self, request: Request, csrf: str) -> Session:
        s = await self.session(request)
        if not csrf or not hmac.compare_digest(csrf, s.csrf):
            raise HTTPException(403, "Форма устарела — обновите страницу и повторите действие.")
        return s

    async def supervisor(self, request: Request, csrf: str | None = None, why: str = "") -> Session:
        s = await (self.session(request) if csrf is None else self.form_session(request, csrf))
        if s.user.role is not Role.supervisor:
            raise HTTPException(403, why or "Это действие доступно только руководителю смены.")
        return s

    def routes(self, router: APIRouter, page: Callable[..., HTMLResponse]) -> None:
        settings = self.settings

        @router.get("/login", response_class=HTMLResponse)
        async def login_form(request: Request, error: str = ""):
            token = secrets.token_urlsafe(24)
            resp = page(request, "login.html", None, csrf=token, error=error)
            resp.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict",
                            secure=settings.console_cookie_secure, path="/console")
            return resp

        @router.post("/login")
        async def login(request: Request, username: str = Form("", max_length=64),
                        password: str = Form("", max_length=1024), csrf: str = Form("", max_length=64)):
            expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
            if not csrf or not expected or not hmac.compare_digest(csrf, expected):
                return back("/console/login", error="Страница входа устарела — попробуйте ещё раз.")
            address = request.client.host if request.client else "unknown"
            if wait := await self.guard.attempt(username, address):
                log.warning("console login refused: too many failures (%s)", address)
                minutes = max(1, (wait + 59) // 60)
                return back("/console/login", error=f"Слишком много неудачных попыток входа. Попробуйте снова "
                                                    f"через {minutes} мин. или попросите руководителя сбросить "
                                                    f"пароль.")
            user = await self.users.verify(username, password)
            if user is None:
                log.info("console login failed")
                return back("/console/login", error="Неверное имя или пароль. Проверьте раскладку и попробуйте "
                                                    "снова.")
            await self.guard.succeeded(username, address)
            token = await self.sessions.create(user.name)
            await self._presence_set(user.name, Presence.online)
            resp = RedirectResponse("/console", status_code=303)
            resp.set_cookie(SESSION_COOKIE, token, max_age=self.max_age, httponly=True, samesite="strict",
                            secure=settings.console_cookie_secure, path="/")
            resp.delete_cookie(LOGIN_CSRF_COOKIE, path="/console")
            return resp

        @router.post("/logout")
        async def logout(request: Request, csrf: str = Form("", max_length=64)):
            s = await self.form_session(request, csrf)
            await self.sessions.revoke(request.cookies.get(SESSION_COOKIE))  # the cookie is dead everywhere
            await self._presence_set(s.user.name, Presence.offline)
            resp = RedirectResponse("/console/login", status_code=303)
            resp.delete_cookie(SESSION_COOKIE, path="/")
            return resp


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


def login_redirect(app: FastAPI) -> None:
    @app.exception_handler(LoginRequired)
    async def _to_login(request: Request, _exc: LoginRequired) -> Response:
        return RedirectResponse("/console/login", status_code=303)
