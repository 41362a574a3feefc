"""The shift at a glance, for supervisors: the queue's waits, the day's
counts, every operator's presence and load, and links to other supervisor
pages (`Link`s other packages add)."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from ..presence import Presence
from .auth import Session, supervisor
from .pages import ConsoleDep

router = APIRouter(prefix="/console")

Supervisor = Annotated[Session, Depends(supervisor("Эта страница — для руководителя смены."))]


@router.get("/supervisor", response_class=HTMLResponse)
async def supervisor_page(request: Request, s: Supervisor, c: ConsoleDep) -> Response:
    service = c.service
    now = time.time()
    waiting = await service.queue.waiting()
    waits = [t.waited(now) for t in waiting]
    stats = await service.queue.stats()
    claimed = stats.get("claimed", 0)
    presence = await service.presence.all()
    operators = [
        {
            "name": user.name,
            "role": user.role.value,
            "presence": presence.get(user.name, Presence.offline),
            "active": len(await service.queue.mine(user.name)),
        }
        for user in await c.auth.users.all()
    ]
    return c.page(
        request,
        "supervisor.html",
        s,
        waiting=waiting,
        now=now,
        stats=stats,
        max_wait=max(waits, default=0),
        avg_wait=sum(waits) / len(waits) if waits else 0,
        avg_claim_wait=stats.get("wait_seconds", 0) / claimed if claimed else 0,
        operators=operators,
        open_now=service.schedule.is_open(service.now()),
        hours=service.schedule.describe(),
    )
