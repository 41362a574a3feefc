"""Erasing a client's data from the operator console — supervisors only (R-23).

    GET  /console/c/{cid}/erase   what will be deleted and what is kept, and why
    POST /console/c/{cid}/erase   erase (CSRF token and an explicit tick); the client's chat
                                  channels get a notice; the audit records the supervisor's name

The client of the conversation is erased in every channel (bot/privacy).
"""

from __future__ import annotations

import logging
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from bot.privacy import texts
from bot.privacy.erasure import Eraser

from .auth import Session, supervisor
from .browser import back
from .pages import ConsoleDep

log = logging.getLogger("handoff.console")

SUPERVISORS_ONLY = (
    "Удалить данные клиента может только руководитель смены. Если клиент просит об этом, передайте запрос руководителю."
)
NO_CONVERSATION = "Такого разговора нет — возможно, данные клиента уже удалены. Вернитесь к очереди."
NOT_TICKED = (
    "Данные не удалены: отметьте, что клиент попросил об удалении и что его нельзя отменить, и нажмите кнопку ещё раз."
)

router = APIRouter(prefix="/console")

Supervisor = Annotated[Session, Depends(supervisor(SUPERVISORS_ONLY))]
SupervisorForm = Annotated[Session, Depends(supervisor(SUPERVISORS_ONLY, form=True))]


def eraser(c: ConsoleDep) -> Eraser:
    """A dependency: the privacy module's eraser (these pages are added only when it is installed)."""
    if c.runtime.privacy is None:
        raise HTTPException(404, NO_CONVERSATION)
    return c.runtime.privacy


Privacy = Annotated[Eraser, Depends(eraser)]


async def client_of(cid: str, c: ConsoleDep) -> str:
    """A dependency: the client of the conversation `cid`."""
    state = await c.runtime.engine.conversations.load(cid)
    if state is None:
        raise HTTPException(404, NO_CONVERSATION)
    return state.client_id


@router.get("/c/{cid}/erase", response_class=HTMLResponse)
async def confirm_page(
    request: Request,
    cid: str,
    s: Supervisor,
    c: ConsoleDep,
    privacy: Privacy,
    client_id: Annotated[str, Depends(client_of)],
    error: str = "",
) -> Response:
    inventory = await privacy.inventory(client_id)
    return c.page(
        request,
        "erase.html",
        s,
        cid=cid,
        error=error,
        deleted=texts.CONFIRM_ALWAYS,
        kept=texts.kept_lines(inventory),
        with_operator=inventory.with_operator,
    )


@router.post("/c/{cid}/erase")
async def erase(
    cid: str,
    s: SupervisorForm,
    privacy: Privacy,
    client_id: Annotated[str, Depends(client_of)],
    confirm: Annotated[str, Form()] = "",
) -> Response:
    if confirm != "yes":
        return back(f"/console/c/{quote(cid, safe='')}/erase", error=NOT_TICKED)
    report = await privacy.erase(client_id, actor="staff", by=s.user.name, channel="console", tell_client=True)
    log.info("a client's data erased from the console by a supervisor")
    return back("/console", note=texts.staff_summary(report.deleted, report.kept, report.told))
