"""One conversation: the page (history, summary, client panel, quick answers)
and the operator's actions on it — reply, transfer, resolve.

Who may see which conversation is decided here (`visible`): a supervisor sees
every conversation; an operator, the waiting ones and their own. The live
WebSocket (live.py) asks the same question for every message."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from bot.consent.ledger import Ledger
from knowledge_base.models import LIFE_SITUATIONS

from ..queue import Ticket
from ..states import Refused, Status
from ..users import Role
from .auth import Session, SignedForm, SignedIn
from .browser import back
from .client_panel import consent_rows, profile_rows
from .pages import Console, ConsoleDep

router = APIRouter(prefix="/console")

NOT_YOURS = "Этот разговор ведёт другой оператор или он уже завершён. Вернитесь к очереди."
NO_SUCH = "Такого разговора нет. Вернитесь к очереди."


async def visible(c: Console, s: Session, cid: str) -> tuple[bool, Ticket | None]:
    """A supervisor sees every conversation; an operator, the waiting ones and their own."""
    ticket = await c.service.queue.get(cid)
    if s.user.role is Role.supervisor:
        return True, ticket
    return bool(ticket and (ticket.status is Status.waiting or ticket.operator == s.user.name)), ticket


async def viewable(cid: str, s: SignedIn, c: ConsoleDep) -> Ticket | None:
    """A dependency: the conversation's ticket (None if it never waited), when `s` may see it."""
    allowed, ticket = await visible(c, s, cid)
    if not allowed:
        raise HTTPException(403, NOT_YOURS)
    return ticket


def page_of(cid: str) -> str:
    return f"/console/c/{quote(cid, safe='')}"


@router.get("/c/{cid}", response_class=HTMLResponse)
async def conversation_page(
    request: Request,
    cid: str,
    s: SignedIn,
    c: ConsoleDep,
    ticket: Annotated[Ticket | None, Depends(viewable)],
    note: str = "",
    error: str = "",
    quick: str = "",
) -> Response:
    runtime, service = c.runtime, c.service
    engine = runtime.engine
    state = await engine.conversations.load(cid)
    if state is None:
        raise HTTPException(404, NO_SUCH)
    history = await engine.conversations.history(cid)
    profile = await engine.profiles.get(state.client_id)
    consents = consent_rows(await Ledger(runtime.redis).state(state.client_id), service.schedule.zone)
    summary = await service.summary(ticket, history) if ticket else None
    topics = sorted((runtime.kb[t] for t in runtime.kb.ids()), key=lambda e: (e.life_situation, e.title))
    draft = runtime.kb[quick].answer_for(profile.get("segment")) if quick in runtime.kb else ""
    owner = ticket.operator if ticket and ticket.status is Status.with_operator else ""
    operators = [n for n in await service.presence.online() if n not in (s.user.name, owner)]
    return c.page(
        request,
        "conversation.html",
        s,
        cid=cid,
        ticket=ticket,
        state=state,
        history=history,
        profile=profile_rows(profile),
        consents=consents,
        summary=summary,
        topics=topics,
        situations=LIFE_SITUATIONS,
        consent_services=runtime.consent.flow.services if runtime.consent and runtime.consent.flow else {},
        draft=draft,
        quick=quick,
        operators=operators,
        note=note,
        error=error,
        max_transfers=service.queue.max_transfers,
        mine=bool(owner and owner == s.user.name),
        oversee=bool(owner and owner != s.user.name and s.user.role is Role.supervisor),
    )


@router.post("/c/{cid}/reply")
async def reply(cid: str, s: SignedForm, c: ConsoleDep, text: Annotated[str, Form()] = "") -> Response:
    try:
        await c.service.reply(s.user.name, cid, text)
    except Refused as exc:
        return back(page_of(cid), error=exc.reason)
    return back(page_of(cid) + "#reply")


@router.post("/c/{cid}/transfer")
async def transfer(
    cid: str, s: SignedForm, c: ConsoleDep, target: Annotated[str, Form(max_length=64)] = ""
) -> Response:
    try:
        await c.service.transfer(s.user.name, cid, target, supervisor=s.user.role is Role.supervisor)
    except Refused as exc:
        return back(page_of(cid), error=exc.reason)
    where = f"оператору {target}" if target else "в общую очередь"
    return back("/console", note=f"Разговор передан {where}.")


@router.post("/c/{cid}/resolve")
async def resolve(cid: str, s: SignedForm, c: ConsoleDep) -> Response:
    try:
        await c.service.resolve(s.user.name, cid, supervisor=s.user.role is Role.supervisor)
    except Refused as exc:
        return back(page_of(cid), error=exc.reason)
    return back("/console", note="Разговор завершён: помощник продолжит и попросит клиента оценить помощь.")
