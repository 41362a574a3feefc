"""«Позвонить помощнику» in the browser: GET /call (the page), WS /call/ws.

WebSocket protocol (JSON text messages + binary audio):
  browser → server: binary = slin16 16 kHz mono PCM from the microphone;
                    {"type": "dtmf", "digit": "1"}, {"type": "hangup"}
  server → browser: {"type": "status", "on": bool, "message": …, "speech": bool} (speech false: keypad only),
                    {"type": "say", "text": …, "keys": […]}, {"type": "transcript", "text": …, "final": bool},
                    binary = slin16 16 kHz mono PCM to play, {"type": "stop"} (barge-in: drop queued audio),
                    {"type": "hangup"}
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from pathlib import Path

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from starlette.websockets import WebSocketState

from bot.origin import same_origin

from .call import Call
from .service import VoiceService

log = logging.getLogger("voice.web")

STATIC = Path(__file__).resolve().parent / "static"
RATE = 16000
FRAME_MS = 100
ASSETS = {"call.js": "text/javascript", "capture-worklet.js": "text/javascript", "call.css": "text/css"}


class WebSocketOutput:
    rate = RATE
    frame_ms = FRAME_MS

    def __init__(self, ws: WebSocket):
        self.ws = ws
        self.closed = False

    async def _send(self, coro) -> None:
        if self.closed or self.ws.client_state is not WebSocketState.CONNECTED:
            coro.close()
            return
        try:
            await coro
        except (WebSocketDisconnect, RuntimeError, ConnectionError):
            self.closed = True

    async def send_audio(self, pcm: bytes) -> None:
        await self._send(self.ws.send_bytes(pcm))

    async def flush(self) -> None:
        await self._send(self.ws.send_text(json.dumps({"type": "stop"})))

    async def notify(self, event) -> None:
        await self._send(self.ws.send_text(json.dumps(event, ensure_ascii=False)))

    async def hang_up(self) -> None:
        await self._send(self.ws.send_text(json.dumps({"type": "hangup"})))
        self.closed = True
        with contextlib.suppress(WebSocketDisconnect, RuntimeError, ConnectionError):  # the browser has gone already
            await self.ws.close()


def router(service: VoiceService) -> APIRouter:
    r = APIRouter()

    @r.get("/call", response_class=HTMLResponse, include_in_schema=False)
    async def page():
        return HTMLResponse((STATIC / "call.html").read_text(encoding="utf-8"))

    @r.get("/call/static/{name}", include_in_schema=False)
    async def asset(name: str):
        if name not in ASSETS:
            return JSONResponse(status_code=404, content={"error": "not_found", "message": "Такого файла нет."})
        return FileResponse(STATIC / name, media_type=ASSETS[name], headers={"Cache-Control": "no-cache"})

    @r.get("/call/status", summary="Can a call be placed, and does the line understand speech", tags=["voice"])
    async def status():
        return service.status().public()  # never the administrator's hint: this page is public

    @r.websocket("/call/ws")
    async def call_ws(ws: WebSocket):
        if not same_origin(ws.headers):
            await ws.close(code=4403)  # another site's page may not place calls through us
            return
        await ws.accept()
        await service.load()
        output = WebSocketOutput(ws)
        s = service.status()
        await output.notify({"type": "status", **s.public()})
        if not s.on:
            await output.hang_up()
            return
        call = Call(service, uuid.uuid4().hex, output)
        running = asyncio.create_task(call.run())
        try:
            await _read(ws, call)
        finally:
            call.hang_up()
            await running
            if not output.closed:
                await output.hang_up()

    return r


async def _read(ws: WebSocket, call: Call) -> None:
    while not call.ended.is_set():
        try:
            message = await ws.receive()
        except (WebSocketDisconnect, RuntimeError):
            return
        if message["type"] == "websocket.disconnect":
            return
        if message.get("bytes"):
            await call.audio(message["bytes"])
        elif message.get("text"):
            try:
                data = json.loads(message["text"])
            except ValueError:
                continue
            if data.get("type") == "dtmf":
                call.key(str(data.get("digit", ""))[:1])
            elif data.get("type") == "hangup":
                return
