"""The queue: who waits, what is mine, taking the next conversation, and the
operator's presence (on duty, away, offline)."""

from __future__ import annotations

import time
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from ..presence import Presence
from ..states import Refused
from .auth import Session, SignedForm, SignedIn
from .browser import back, safe_console_path
from .pages import Console, ConsoleDep

router = APIRouter(prefix="/console")


async def queue_context(c: Console, s: Session) -> dict[str, Any]:
    service = c.service
    return {
        "waiting": await service.queue.waiting(),
        "mine": await service.queue.mine(s.user.name),
        "now": time.time(),
        "presence": await service.presence.get(s.user.name),
        "callbacks_due": len(await service.callbacks.upcoming()),
    }


@router.get("", response_class=HTMLResponse)
async def queue_page(request: Request, s: SignedIn, c: ConsoleDep, note: str = "", error: str = "") -> Response:
    return c.page(request, "queue.html", s, note=note, error=error, **await queue_context(c, s))


@router.get("/queue.part", response_class=HTMLResponse)
async def queue_part(request: Request, s: SignedIn, c: ConsoleDep) -> Response:
    return c.page(request, "_queue.html", s, **await queue_context(c, s))


@router.post("/claim")
async def claim_next(s: SignedForm, c: ConsoleDep, cid: Annotated[str, Form()] = "") -> Response:
    try:
        got = await c.service.claim(s.user.name, cid)
    except Refused as exc:
        return back("/console", error=exc.reason)
    return back(f"/console/c/{quote(got, safe='')}", note="Разговор ваш — клиент видит, что вы подключились.")


@router.post("/presence")
async def set_presence(
    request: Request, s: SignedForm, c: ConsoleDep, presence: Annotated[str, Form(max_length=16)] = ""
) -> Response:
    where = safe_console_path(request.headers.get("referer"))
    try:
        value = Presence(presence)
    except ValueError:
        return back(where, error="Такого статуса нет: выберите «на связи», «отошёл» или «не в сети».")
    await c.service.presence.set(s.user.name, value)
    return back(where)
