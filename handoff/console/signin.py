"""Signing in and out. The login form carries its own CSRF token (a cookie and a
field: there is no session yet); attempts are admitted by `LoginGuard` before
a password is checked."""

from __future__ import annotations

import hmac
import logging
import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ..presence import Presence
from .auth import LOGIN_CSRF_COOKIE, SESSION_COOKIE, AnyoneForm
from .browser import back
from .pages import CONTENT_HOME, ConsoleDep

log = logging.getLogger("handoff.console")

router = APIRouter(prefix="/console")


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request, c: ConsoleDep, error: str = "") -> Response:
    token = secrets.token_urlsafe(24)
    resp = c.page(request, "login.html", None, csrf=token, error=error)
    resp.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=c.auth.settings.console_cookie_secure,
        path="/console",
    )
    return resp


@router.post("/login")
async def login(
    request: Request,
    c: ConsoleDep,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    csrf: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    auth = c.auth
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not csrf or not expected or not hmac.compare_digest(csrf, expected):
        return back("/console/login", error="Страница входа устарела — попробуйте ещё раз.")
    address = request.client.host if request.client else "unknown"
    if wait := await auth.guard.attempt(username, address):
        log.warning("console login refused: too many failures (%s)", address)
        minutes = max(1, (wait + 59) // 60)
        return back(
            "/console/login",
            error=f"Слишком много неудачных попыток входа. Попробуйте снова "
            f"через {minutes} мин. или попросите руководителя сбросить "
            f"пароль.",
        )
    user = await auth.users.verify(username, password)
    if user is None:
        log.info("console login failed")
        return back("/console/login", error="Неверное имя или пароль. Проверьте раскладку и попробуйте снова.")
    await auth.guard.succeeded(username, address)
    token = await auth.sessions.create(user.name)
    if user.role.sees_clients:  # a content editor takes no conversations
        await auth.presence_set(user.name, Presence.online)
    resp = RedirectResponse("/console" if user.role.sees_clients else CONTENT_HOME, status_code=303)
    resp.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=auth.max_age,
        httponly=True,
        samesite="strict",
        secure=auth.settings.console_cookie_secure,
        path="/",
    )
    resp.delete_cookie(LOGIN_CSRF_COOKIE, path="/console")
    return resp


@router.post("/logout")
async def logout(request: Request, s: AnyoneForm, c: ConsoleDep) -> Response:
    await c.auth.sessions.revoke(request.cookies.get(SESSION_COOKIE))  # the cookie is dead everywhere
    if s.user.role.sees_clients:
        await c.auth.presence_set(s.user.name, Presence.offline)
    resp = RedirectResponse("/console/login", status_code=303)
    resp.delete_cookie(SESSION_COOKIE, path="/")
    return resp
