"""The name and position an operator introduces themselves with to clients (§4.6.8.2).

    GET  /console/profile[?user=NAME]   the form: one's own; a supervisor's, anyone's
    POST /console/profile               save (CSRF token); checked as the CLI checks it
                                        (handoff/users.py `check_card`); who changed it and
                                        when is kept beside it and shown on the form

An operator edits only their own; a supervisor edits anyone's (e.g. a new colleague's).
"""

from __future__ import annotations

import logging
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from ..texts import introduction
from ..users import Role, User, UserError
from .auth import Session, SignedForm, SignedIn
from .browser import back
from .pages import ConsoleDep

log = logging.getLogger("handoff.console")

router = APIRouter(prefix="/console")

OWN_ONLY = "Оператор может изменить только свой профиль. Чтобы изменить чужой, обратитесь к руководителю смены."
NO_USER = "Такого сотрудника нет — проверьте имя или вернитесь на страницу руководителя."
SAVED = "Сохранено. Так вы представитесь клиенту, когда возьмёте разговор."
SAVED_FOR = "Сохранено: так {name} представится клиенту."


async def _editable(s: Session, c: ConsoleDep, user: str) -> User:
    """The account `s` may edit: its own, or (a supervisor) anyone's."""
    name = (user or s.user.name).strip().lower()
    if name != s.user.name and s.user.role is not Role.supervisor:
        raise HTTPException(403, OWN_ONLY)
    found = await c.auth.users.get(name)
    if found is None:
        raise HTTPException(404, NO_USER)
    return found


def _url(s: Session, user: User) -> str:
    return "/console/profile" if user.name == s.user.name else f"/console/profile?user={quote(user.name)}"


@router.get("/profile", response_class=HTMLResponse)
async def profile_page(
    request: Request, s: SignedIn, c: ConsoleDep, user: str = "", note: str = "", error: str = ""
) -> Response:
    target = await _editable(s, c, user)
    changed = await c.runtime.redis.hmget(c.auth.users.key(target.name), "card_by", "card_at")
    return c.page(
        request,
        "profile.html",
        s,
        target=target,
        own=target.name == s.user.name,
        preview=introduction(*target.introduction()),
        changed_by=changed[0] or "",
        changed_at=changed[1] or "",
        note=note,
        error=error,
    )


@router.post("/profile")
async def save_profile(
    s: SignedForm,
    c: ConsoleDep,
    user: Annotated[str, Form()] = "",
    full_name: Annotated[str, Form()] = "",
    position: Annotated[str, Form()] = "",
) -> Response:
    target = await _editable(s, c, user)
    try:
        await c.auth.users.set_card(target.name, full_name=full_name, position=position, by=s.user.name)
    except UserError as refused:
        return back(_url(s, target), error=str(refused))
    log.info("an operator's introduction changed in the console")  # no names: they are personal data
    own = target.name == s.user.name
    return back(_url(s, target), note=SAVED if own else SAVED_FOR.format(name=target.name))
