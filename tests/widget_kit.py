"""What the widget's tests share: the real app served by uvicorn with a site
configured for the widget, pages of that site (and of a foreign one) served
from other origins, and a WebSocket client speaking the widget's protocol."""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
from dataclasses import dataclass
from typing import Any

import uvicorn
from aiohttp import web
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from bot.app import create_app
from bot.runtime import Runtime
from tests.conftest import free_port
from tests.console_kit import wait_for
from tests.schedule_kit import ALWAYS_OPEN

SITE_KEY = "test-site"
PAGE = """<!doctype html><html lang="ru"><head><meta charset="utf-8"><title>Сайт центра</title></head>
<body><h1>Сайт центра «Мой бизнес»</h1><p>Страница организации.</p>
<script src="{app}/widget.js" data-site-key="{key}" async></script></body></html>"""


@dataclass
class WidgetSetup:
    runtime: Runtime
    app: str  # the assistant's base URL
    site: str  # the allowed site's origin (another port)
    foreign: str  # a site that is not allowed (a third port)


class PageServer:
    """A site's page with the widget's script tag, on an origin of its own."""

    def __init__(
        self,
        app_url: str,
        key: str = SITE_KEY,
        port: int | None = None,
        files: dict[str, tuple[bytes, str]] | None = None,
    ):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.html = PAGE.format(app=app_url, key=key)
        self.files = files or {}  # path → (body, content type), e.g. an image the assistant shows
        self.runner: web.AppRunner | None = None

    async def start(self) -> PageServer:
        app = web.Application()

        async def page(_request):
            return web.Response(text=self.html, content_type="text/html")

        app.router.add_get("/", page)

        async def file(request):
            body, kind = self.files[request.path]
            return web.Response(body=body, content_type=kind)

        for path in self.files:
            app.router.add_get(path, file)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()
        return self

    async def stop(self) -> None:
        if self.runner:
            await self.runner.cleanup()


async def serve_app(settings, redis_url, rasa_url, retriever, schedule_path, **extra):
    """The real app on a free port; returns (runtime, base url, stop)."""
    schedule_path.write_text(ALWAYS_OPEN, encoding="utf-8")
    port = free_port()
    own = settings.model_copy(update={"handoff_schedule_file": schedule_path, "assistant_port": port, **extra})
    runtime = await Runtime.create(own, redis_url, rasa_url, retriever)
    server = uvicorn.Server(
        uvicorn.Config(create_app(runtime), host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    await wait_for(lambda: asyncio.sleep(0, server.started), "uvicorn to start")

    async def stop() -> None:
        server.should_exit = True
        await task
        await runtime.close()

    return runtime, f"http://127.0.0.1:{port}", stop


def browser_id() -> str:
    return secrets.token_urlsafe(24)


class Window:
    """The widget's side of the socket, as widget.js speaks it."""

    def __init__(self, ws: ClientConnection):
        self.ws = ws
        self.items: list[dict[str, Any]] = []

    @classmethod
    async def open(
        cls, app: str, origin: str | None, key: str = SITE_KEY, browser: str | None = None, after: str = ""
    ) -> tuple[Window, dict]:
        """Connect and say hello; returns the window and the first frame the assistant sent."""
        headers = {"Origin": origin} if origin else {}
        ws = await connect(app.replace("http", "ws", 1) + f"/widget/ws?key={key}", additional_headers=headers)
        window = cls(ws)
        with contextlib.suppress(ConnectionClosed):  # refused before the hello: the refusal is still there to read
            await ws.send(json.dumps({"type": "hello", "browser": browser or browser_id(), "after": after}))
        first = await window.frame()
        if first.get("type") in ("history", "items"):
            window.items += first["items"]
        return window, first

    async def frame(self, timeout: float = 30.0) -> dict:
        return json.loads(await asyncio.wait_for(self.ws.recv(), timeout))

    async def say(self, text: str) -> None:
        await self.ws.send(json.dumps({"type": "message", "text": text}))

    async def press(self, payload: str, title: str) -> None:
        await self.ws.send(json.dumps({"type": "press", "payload": payload, "title": title}))

    async def until(self, done, timeout: float = 30.0) -> list[dict]:
        """Frames until `done(new items)` holds; returns the new items."""
        new: list[dict] = []
        deadline = asyncio.get_running_loop().time() + timeout
        while not (new and done(new)):
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                raise AssertionError(f"the window did not get what was expected; got {[i['text'] for i in new]}")
            frame = await self.frame(left)
            if frame["type"] in ("items", "history"):
                new += frame["items"]
                self.items += frame["items"]
        return new

    async def close(self) -> None:
        await self.ws.close()


def texts_of(items: list[dict]) -> str:
    return "\n".join(i["text"] for i in items)
