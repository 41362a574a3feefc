"""The console's live updates: one WebSocket per page, fed by the handoff
events in Redis. A conversation's messages go only to its page, and only
while its viewer still may see it: rights are checked again for every client
message (a logout, a removed account or a conversation that moved to another
operator stops the stream)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from datetime import datetime

from fastapi import APIRouter, WebSocket

from bot.origin import same_origin
from handoff import keys as handoff_keys

from .auth import SESSION_COOKIE, Session
from .conversation import visible
from .pages import console_of

router = APIRouter(prefix="/console")


@router.websocket("/ws")
async def live(ws: WebSocket) -> None:
    c = console_of(ws)
    auth, service = c.auth, c.service
    token = ws.cookies.get(SESSION_COOKIE)
    s = await auth.session_from(token)
    if s is None or not same_origin(ws.headers):
        await ws.close(code=4401)  # not signed in, or another site's page
        return
    if not s.user.role.sees_clients:
        await ws.close(code=4403)  # a content editor: the queue's events are not for them
        return
    cid = ws.query_params.get("cid", "")
    if cid and not (await visible(c, s, cid))[0]:
        await ws.close(code=4403)  # another operator's conversation: not even live
        return
    await ws.accept()
    await service.presence.heartbeat(s.user.name)
    pubsub = c.runtime.redis.pubsub()
    await pubsub.subscribe(handoff_keys.handoff_events())

    async def still_allowed() -> Session | None:
        current = await auth.session_from(token)
        return current if current and (not cid or (await visible(c, current, cid))[0]) else None

    async def from_redis() -> None:
        while True:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=5.0)
            if not message:
                continue
            event = json.loads(message["data"])
            if event["type"] == "message":
                if event.get("cid") != cid:
                    continue  # a conversation's messages go only to its page
                if await still_allowed() is None:
                    await ws.send_text(json.dumps({"type": "queue", "cid": cid}))  # "status changed"
                    await ws.close(code=4403)
                    return
                event["time"] = datetime.now(service.schedule.zone).strftime("%H:%M")
            await ws.send_text(json.dumps(event, ensure_ascii=False))

    async def from_browser() -> None:
        while True:
            data = json.loads(await ws.receive_text())
            if data.get("type") == "heartbeat":
                if await auth.session_from(token) is None:
                    await ws.close(code=4401)
                    return
                await service.presence.heartbeat(s.user.name)

    tasks = [asyncio.create_task(from_redis()), asyncio.create_task(from_browser())]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        with contextlib.suppress(Exception):
            await pubsub.unsubscribe()
            await pubsub.aclose()
