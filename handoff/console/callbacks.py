"""Callbacks booked by clients: the list to call and «звонок выполнен»."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from .auth import SignedForm, SignedIn
from .browser import back
from .pages import ConsoleDep

router = APIRouter(prefix="/console")


@router.get("/callbacks", response_class=HTMLResponse)
async def callbacks_page(request: Request, s: SignedIn, c: ConsoleDep, note: str = "", error: str = "") -> Response:
    items = await c.service.callbacks.upcoming(include_done=True)
    return c.page(
        request, "callbacks.html", s, items=items, note=note, error=error, zone_title=c.service.schedule.timezone_title
    )


@router.post("/callbacks/{callback_id}/done")
async def callback_done(callback_id: str, s: SignedForm, c: ConsoleDep) -> Response:
    ok = await c.service.callbacks.mark_done(callback_id, s.user.name)
    return back(
        "/console/callbacks",
        note="Отмечено: звонок выполнен." if ok else "",
        error="" if ok else "Этот звонок уже отмечен или удалён.",
    )
