"""Erasing a client's data from the operator console — supervisors only (R-23).

    GET  /console/c/{cid}/erase   what will be deleted and what is kept, and why
    POST /console/c/{cid}/erase   erase (CSRF token and an explicit tick); the client's chat
                                  channels get a notice; the audit records the supervisor's name

The client of the conversation is erased in every channel (bot/privacy).
Registered from handoff/module.py with the console's `ConsoleAuth` (sessions,
CSRF, roles) and page renderer, which `console.routes` returns, so sign-in
rules stay in one place.
"""

from __future__ import annotations

import logging
from urllib.parse import quote

from fastapi import APIRouter, FastAPI, Form, HTTPException, Request
from fastapi.responses import HTMLResponse

from bot.privacy import texts

from .console_auth import back

log = logging.getLogger("handoff.console")

SUPERVISORS_ONLY = ("Удалить данные клиента может только руководитель смены. Если клиент просит об этом, "
                    "передайте запрос руководителю.")
NO_CONVERSATION = "Такого разговора нет — возможно, данные клиента уже удалены. Вернитесь к очереди."
NOT_TICKED = ("Данные не удалены: отметьте, что клиент попросил об удалении и что его нельзя отменить, "
              "и нажмите кнопку ещё раз.")


def routes(app: FastAPI, runtime, auth, page) -> None:
    router = APIRouter(prefix="/console")

    async def supervisor(request: Request, csrf: str | None = None):
        return await auth.supervisor(request, csrf, why=SUPERVISORS_ONLY)

    async def client_of(cid: str) -> str:
        state = await runtime.engine.conversations.load(cid)
        if state is None:
            raise HTTPException(404, NO_CONVERSATION)
        return state.client_id

    @router.get("/c/{cid}/erase", response_class=HTMLResponse)
    async def confirm_page(request: Request, cid: str, error: str = ""):
        s = await supervisor(request)
        inventory = await runtime.privacy.inventory(await client_of(cid))
        return page(request, "erase.html", s, cid=cid, error=error, deleted=texts.CONFIRM_ALWAYS,
                    kept=texts.kept_lines(inventory), with_operator=inventory.with_operator)

    @router.post("/c/{cid}/erase")
    async def erase(request: Request, cid: str, csrf: str = Form(""), confirm: str = Form("")):
        s = await supervisor(request, csrf)
        client_id = await client_of(cid)
        if confirm != "yes":
            return back(f"/console/c/{quote(cid, safe='')}/erase", error=NOT_TICKED)
        report = await runtime.privacy.erase(client_id, actor="staff", by=s.user.name, channel="console",
                                             tell_client=True)
        log.info("a client's data erased from the console by a supervisor")
        return back("/console", note=texts.staff_summary(report.deleted, report.kept, report.told))

    app.include_router(router)
