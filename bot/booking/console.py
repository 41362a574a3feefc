"""Consultations in the operator console, for every signed-in consultant:

    GET  /console/bookings                   today's and the coming days' appointments
    POST /console/bookings/{id}/visit        mark attended / no-show (who and when are kept)

Registered by the booking module's `routes` hook when the handoff module (the
console) is installed; sign-in and CSRF are the console's dependencies.
"""

from __future__ import annotations

import logging
from itertools import groupby
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, Response

from handoff.console import ConsoleDep, Link, SignedForm, SignedIn, add_pages, back

from . import staff, texts

log = logging.getLogger("booking.console")

TEMPLATES = Path(__file__).parent / "templates"
PAGE = "/console/bookings"
LINK = Link(PAGE, "Записи", about="Записи на консультации: сегодня и на ближайшие дни", supervisors_only=False)
NOT_MARKED = "Отметить не получилось: запись отменена или её уже нет. Обновите страницу."

router = APIRouter(prefix="/console")


def install(app: FastAPI) -> None:
    add_pages(app, TEMPLATES, LINK)
    app.include_router(router)


@router.get("/bookings", response_class=HTMLResponse)
async def bookings_page(request: Request, s: SignedIn, c: ConsoleDep, note: str = "", error: str = "") -> Response:
    svc = c.runtime.booking
    assert svc is not None  # registered by the booking module
    now = svc.now()
    rows = await staff.agenda(svc.book, svc.topics, svc.schedule.zone, now)
    today = now.astimezone(svc.schedule.zone).date()
    days = [
        {"title": ("Сегодня, " if day == today else "") + texts.day(day), "rows": list(items)}
        for day, items in groupby(rows, key=lambda r: r.day)
    ]
    return c.page(
        request,
        "bookings.html",
        s,
        days=days,
        zone=svc.zone_title,
        visits=staff.VISIT_TITLES,
        note=note,
        error=error,
    )


@router.post("/bookings/{appointment_id}/visit")
async def mark_visit(
    appointment_id: str, s: SignedForm, c: ConsoleDep, status: Annotated[str, Form()] = ""
) -> Response:
    svc = c.runtime.booking
    assert svc is not None
    if not await staff.mark_visit(svc.book, appointment_id, status, by=s.user.name, now=svc.now()):
        return back(PAGE, error=NOT_MARKED)
    log.info("visit marked: %s", status)
    return back(PAGE, note=f"Отмечено: {staff.VISIT_TITLES[status].lower()}.")
