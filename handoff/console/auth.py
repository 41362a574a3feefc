"""Who is at the console: sessions, CSRF and roles, as FastAPI dependencies.

Sessions live on the server (`handoff/sessions.py`); every request re-reads
the user, so a removed operator loses access at once. Every form carries the
session's CSRF token. A route says what it needs in its signature:

    s: SignedIn                       signed in and works with clients (an operator or a
                                      supervisor; a content editor is refused)
    s: SignedForm                     the same, and the form's `csrf` is the session's
    s: AnyoneSignedIn / AnyoneForm    any role (sign-out, the knowledge-base pages' own checks)
    s: Annotated[Session, Depends(content_editor(WHY))]   a content editor or a supervisor
    s: Annotated[Session, Depends(supervisor(WHY))]              a supervisor
    s: Annotated[Session, Depends(supervisor(WHY, form=True))]   a supervisor's form
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Form, HTTPException, Request

from ..login_guard import LoginGuard
from ..presence import Presence
from ..sessions import SessionStore, console_secret
from ..users import Role, User, UserStore
from .pages import console_of

if TYPE_CHECKING:
    from bot.runtime import Runtime

SESSION_COOKIE = "console_session"
LOGIN_CSRF_COOKIE = "console_login_csrf"
STALE_FORM = "Форма устарела — обновите страницу и повторите действие."
SUPERVISORS_ONLY = "Это действие доступно только руководителю смены."
NO_CLIENT_PAGES = (
    "Ваша роль — редактор базы знаний: разговоры с клиентами вам не видны. "
    "Откройте раздел «База знаний»: /console/content"
)
EDITORS_ONLY = "Базу знаний редактируют редактор базы знаний и руководитель смены."


@dataclass(frozen=True)
class Session:
    user: User
    csrf: str


class LoginRequired(Exception):
    """Not signed in: redirect to the login page (`browser.install_errors`)."""


class ConsoleAuth:
    def __init__(self, runtime: Runtime, presence_set: Callable[[str, Presence], Awaitable[None]]):
        settings = runtime.settings
        self.settings = settings
        self.users = UserStore(runtime.redis)
        self.guard = LoginGuard(runtime.redis)
        self.max_age = settings.console_session_hours * 3600
        self.sessions = SessionStore(runtime.redis, console_secret(settings), self.max_age)
        self.presence_set = presence_set

    async def session_from(self, token: str | None) -> Session | None:
        stored = await self.sessions.get(token)
        if stored is None:
            return None
        user = await self.users.get(stored.user)  # a removed user loses access at once
        return Session(user, stored.csrf) if user else None


# ------------------------------------------------------------ dependencies
async def anyone_signed_in(request: Request) -> Session:
    s = await console_of(request).auth.session_from(request.cookies.get(SESSION_COOKIE))
    if s is None:
        raise LoginRequired()
    return s


AnyoneSignedIn = Annotated[Session, Depends(anyone_signed_in)]


async def signed_in(s: AnyoneSignedIn) -> Session:
    """Pages with clients' conversations and data: never for a content editor."""
    if not s.user.role.sees_clients:
        raise HTTPException(403, NO_CLIENT_PAGES)
    return s


SignedIn = Annotated[Session, Depends(signed_in)]


def _csrf(s: Session, csrf: str) -> Session:
    """The session of a form that carries its CSRF token (a form from another site does not)."""
    if not csrf or not hmac.compare_digest(csrf, s.csrf):
        raise HTTPException(403, STALE_FORM)
    return s


async def csrf_checked(s: SignedIn, csrf: Annotated[str, Form()] = "") -> Session:
    return _csrf(s, csrf)


async def anyone_csrf_checked(s: AnyoneSignedIn, csrf: Annotated[str, Form()] = "") -> Session:
    return _csrf(s, csrf)


SignedForm = Annotated[Session, Depends(csrf_checked)]
AnyoneForm = Annotated[Session, Depends(anyone_csrf_checked)]


def content_editor(why: str = EDITORS_ONLY, *, form: bool = False) -> Callable[[Session], Awaitable[Session]]:
    """A dependency: the session of a content editor or a supervisor (a CSRF-checked
    form's with `form=True`); an operator is refused with `why`."""

    async def editor_page(s: AnyoneSignedIn) -> Session:
        return _editor(s, why)

    async def editor_form(s: AnyoneForm) -> Session:
        return _editor(s, why)

    return editor_form if form else editor_page


def _editor(s: Session, why: str) -> Session:
    if not s.user.role.edits_content:
        raise HTTPException(403, why)
    return s


def supervisor(why: str = SUPERVISORS_ONLY, *, form: bool = False) -> Callable[[Session], Awaitable[Session]]:
    """A dependency: the session of a supervisor (of a CSRF-checked form with `form=True`);
    anyone else is refused with `why` — what the page is and whom to ask."""

    async def supervisor_page(s: SignedIn) -> Session:
        return _supervisor(s, why)

    async def supervisor_form(s: SignedForm) -> Session:
        return _supervisor(s, why)

    return supervisor_form if form else supervisor_page


def _supervisor(s: Session, why: str) -> Session:
    if s.user.role is not Role.supervisor:
        raise HTTPException(403, why)
    return s
