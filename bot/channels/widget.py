"""Chat widget for the organisation's sites: one <script> tag, a chat window
that talks to the assistant over a WebSocket.

    <script src="https://assistant.example.org/widget.js" data-site-key="mb-site" async></script>

Who may use it: each site has a public key (WIDGET_SITES) and the origins
allowed to use it; the browser's Origin header must be one of them (the
private API key is never in a page). `/widget/demo` uses the key `demo`,
accepted only from the assistant's own address (WIDGET_DEMO).

The conversation: the widget keeps a random browser id in localStorage
(nothing personal); the conversation id is `web:<site>:<hash of it>`, so it is
scoped per site and per browser, survives page loads, and a conversation id
seen elsewhere (the console, logs) cannot open it. What the window shows is
the conversation's transcript — the outbox stream (handoff/keys.py `outbox`):
the client's messages, the assistant's replies with their buttons and images,
operator messages, notifications — erased with the conversation
(bot/privacy). A new entry is announced on a pub/sub channel, so every
replica wakes the open windows of that conversation: operator messages
arrive live.

Protocol (JSON frames), after the socket opens at /widget/ws?key=<site key>:
  → {"type": "hello", "browser": "<id>", "after": "<last item id or ''>"}
  ← {"type": "history", "items": [...]}    then, whenever there is more:
  ← {"type": "items", "items": [...]}
  → {"type": "message", "text": "…"}  |  {"type": "press", "payload": "…", "title": "…"}
  → {"type": "start"}   the window was opened on an empty conversation: the core's
                        greeting with its topic buttons (as MAX's «Начать», Telegram's /start)
  ← {"type": "typing", "on": true|false}  ← {"type": "notice", "text": "…", "unsent"?: "the text not sent"}
  ← {"type": "refused", "text": "…"} and close 4403 (site or origin not allowed)
An item: {"id", "from": client|assistant|operator, "kind", "text", "buttons": [{"title", "payload", "url"}],
          "image"}.

Limits: every visitor has the core's per-client limit (RATE_LIMIT_PER_MINUTE),
every site WIDGET_RATE_LIMIT_PER_MINUTE for its messages and new windows.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import WebSocket, WebSocketDisconnect
from fastapi.responses import HTMLResponse, Response
from redis.asyncio import Redis

from bot.core.messages import Incoming, Reply, ReplyKind
from bot.modules import Module
from bot.store.conversations import ConversationBusy
from bot.store.ratelimit import RateLimiter
from handoff import keys as handoff_keys

from . import keys as channel_keys
from .rendering import START_PAYLOAD, error_reply

log = logging.getLogger("channels.widget")

CHANNEL = "widget"
SCHEME = "web"
SCRIPT_PATH = "/widget.js"
DEMO_PATH = "/widget/demo"
WS_PATH = "/widget/ws"
DEMO_KEY = "demo"
STATIC = Path(__file__).resolve().parent / "static"

BROWSER_ID = re.compile(r"^[A-Za-z0-9_-]{22,64}$")  # ≥ 128 random bits, made by the widget
SITE_KEY = re.compile(r"^[A-Za-z0-9_.-]{3,64}$")
MAX_TEXT = 4096
MAX_TITLE = 200
MAX_FRAME = 16 * 1024
HISTORY_ITEMS = 200
HELLO_TIMEOUT_S = 15.0
SAFETY_POLL_S = 30.0  # a missed announcement is caught up this often

# What the channel table in the README says of the widget (tests/test_channels_table.py).
FEATURES = {
    "text": "yes",
    "buttons": "yes",
    "operator": "yes, live",
    "notifications": "yes, in the window (live when it is open)",
    "payments": "QR code as an image, payment links",
    "voice messages": "no",
}

REFUSED = (
    "Чат на этом сайте пока не подключён. Пожалуйста, напишите нам в Telegram или MAX "
    "или позвоните в {org} — мы обязательно поможем."
)
SITE_BUSY = (
    "Сейчас в чат пишет очень много посетителей сайта, и я не успеваю отвечать всем сразу. "
    "Пожалуйста, повторите сообщение через минуту."
)
BAD_MESSAGE = f"Сообщение не отправлено: напишите текст до {MAX_TEXT} символов и отправьте ещё раз."
NOTICE = (
    "Пожалуйста, не пишите в чат паспортные данные, номера карт и другие сведения о себе, если я о них "
    "не прошу. Когда для заявки, записи или оплаты понадобятся ваши данные, я сначала спрошу согласие "
    "на их обработку и расскажу, зачем они нужны."
)


@dataclass(frozen=True)
class Site:
    key: str
    origins: frozenset[str]  # scheme://host[:port]
    demo: bool = False

    @property
    def id(self) -> str:
        """Scopes conversations: a short hash of the key (keys can be rotated per site)."""
        return hashlib.sha256(self.key.encode()).hexdigest()[:10]


def origin_of(url: str) -> str:
    """scheme://host[:port] in the form browsers send in Origin (default ports dropped)."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(url)
    host = parts.hostname.encode("idna").decode() if not parts.hostname.isascii() else parts.hostname
    port = parts.port
    default = {"http": 80, "https": 443}[parts.scheme]
    return f"{parts.scheme}://{host.lower()}" + (f":{port}" if port and port != default else "")


def parse_sites(spec: str) -> dict[str, Site]:
    """WIDGET_SITES: `key=origin origin; key2=origin`. A mistake stops the start-up, named."""
    sites: dict[str, Site] = {}
    for part in filter(None, (p.strip() for p in spec.split(";"))):
        key, sep, origins = part.partition("=")
        key = key.strip()
        if not sep or not SITE_KEY.match(key) or key == DEMO_KEY:
            raise ValueError(
                f"WIDGET_SITES: «{part}» — write key=https://site.ru (a key of 3–64 latin letters, "
                f"digits, «_», «-», «.»; «{DEMO_KEY}» is reserved)"
            )
        try:
            allowed = frozenset(origin_of(o) for o in origins.replace(",", " ").split())
        except ValueError as exc:
            raise ValueError(f"WIDGET_SITES: «{exc}» is not a site address like https://site.ru") from None
        if not allowed:
            raise ValueError(f"WIDGET_SITES: the key {key} has no site address (key=https://site.ru)")
        sites[key] = Site(key=key, origins=allowed)
    return sites


def _title(text: str) -> str:
    return text[:1].upper() + text[1:]


class LiveHub:
    """Wakes this replica's open windows when their conversation has something new: one
    pub/sub subscription per process, while any window is open."""

    def __init__(self, redis: Redis):
        self.redis = redis
        self.waiters: dict[str, set[asyncio.Event]] = {}
        self.task: asyncio.Task | None = None

    async def announce(self, cid: str) -> None:
        await self.redis.publish(channel_keys.widget_live(), cid)

    def listen(self, cid: str) -> asyncio.Event:
        event = asyncio.Event()
        self.waiters.setdefault(cid, set()).add(event)
        if self.task is None or self.task.done():
            self.task = asyncio.create_task(self._run())
        return event

    def leave(self, cid: str, event: asyncio.Event) -> None:
        waiting = self.waiters.get(cid, set())
        waiting.discard(event)
        if not waiting:
            self.waiters.pop(cid, None)
        if not self.waiters and self.task is not None:
            self.task.cancel()
            self.task = None

    def _wake(self, cid: str | None = None) -> None:
        for key in [cid] if cid else list(self.waiters):
            for event in self.waiters.get(key, ()):
                event.set()

    async def _run(self) -> None:
        while True:
            pubsub = self.redis.pubsub()
            try:
                await pubsub.subscribe(channel_keys.widget_live())
                self._wake()  # anything said while (re)subscribing is read now
                async for message in pubsub.listen():
                    if message.get("type") == "message":
                        self._wake(message["data"])
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - Redis hiccup: resubscribe
                log.warning("widget live channel lost (%s); resubscribing", exc.__class__.__name__)
                await asyncio.sleep(1.0)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()


class WidgetService:
    def __init__(self, runtime) -> None:
        settings = runtime.settings
        self.runtime = runtime
        self.redis: Redis = runtime.redis
        self.sites = parse_sites(settings.widget_sites)
        self.demo = Site(key=DEMO_KEY, origins=frozenset(), demo=True) if settings.widget_demo else None
        self.site_limit = RateLimiter(
            self.redis, settings.widget_rate_limit_per_minute, key=channel_keys.widget_site_rate
        )
        self.hub = LiveHub(self.redis)

    # ----------------------------------------------------------- who may chat
    def site_for(self, key: str, headers) -> Site | None:
        """The site, when `key` is one and the page's Origin may use it."""
        origin = headers.get("origin", "")
        if not origin:
            return None  # browsers always send it: no Origin, no widget
        if self.demo is not None and key == DEMO_KEY:
            return self.demo if urlsplit(origin).netloc == headers.get("host", "") else None
        site = self.sites.get(key)
        try:
            return site if site is not None and origin_of(origin) in site.origins else None
        except ValueError:
            return None

    @staticmethod
    def conversation_id(site: Site, browser: str) -> str:
        return f"{SCHEME}:{site.id}:{hashlib.sha256(browser.encode()).hexdigest()[:24]}"

    # ------------------------------------------------------------- transcript
    async def append(self, cid: str, entries: list[dict[str, str]]) -> None:
        """Add to the conversation's transcript and wake its open windows."""
        if not entries:
            return
        key = handoff_keys.outbox(cid)
        pipe = self.redis.pipeline(transaction=True)
        for entry in entries:
            pipe.xadd(key, entry, maxlen=handoff_keys.OUTBOX_MAXLEN, approximate=True)
        pipe.expire(key, handoff_keys.OUTBOX_TTL_S)
        await pipe.execute()
        await self.hub.announce(cid)

    async def deliver(self, conversation_id: str, client_id: str, replies: list[Reply]) -> bool:
        """Outbound sender (operator messages, notifications): into the transcript, live when open."""
        if not conversation_id.startswith(f"{SCHEME}:"):
            return False
        await self.append(conversation_id, [{"reply": r.model_dump_json()} for r in replies])
        return True

    async def items(self, cid: str, after: str = "") -> list[dict[str, Any]]:
        """The transcript after an item id (the last HISTORY_ITEMS when `after` is empty)."""
        key = handoff_keys.outbox(cid)
        if after:
            entries = await self.redis.xrange(key, min=f"({after}", max="+", count=HISTORY_ITEMS)
        else:
            entries = list(reversed(await self.redis.xrevrange(key, count=HISTORY_ITEMS)))
        return [item for entry_id, fields in entries if (item := _item(entry_id, fields))]

    # ------------------------------------------------------------------ turns
    async def turn(
        self, cid: str, *, text: str | None = None, payload: str | None = None, title: str | None = None
    ) -> None:
        """The client's message into the transcript (a press shows as its title; a press
        without one, the greeting, shows nothing), then the core's replies."""
        said = title if payload else text
        if said:
            await self.append(cid, [{"client": json.dumps({"text": said}, ensure_ascii=False)}])
        incoming = Incoming(
            conversation_id=cid, channel=CHANNEL, client_id=cid, text=None if payload else text, payload=payload
        )
        try:
            replies = (await self.runtime.engine.handle(incoming)).replies
        except Exception as exc:
            log.warning(
                "widget turn failed (%s)", exc.__class__.__name__, exc_info=not isinstance(exc, ConversationBusy)
            )
            replies = [error_reply(exc)]
        await self.deliver(cid, cid, replies)


def _item(entry_id: str, fields: dict[str, str]) -> dict[str, Any] | None:
    try:
        if "client" in fields:
            return {
                "id": entry_id,
                "from": "client",
                "kind": "client",
                "text": json.loads(fields["client"])["text"],
                "buttons": [],
                "image": None,
            }
        reply = Reply.model_validate_json(fields["reply"])
    except (KeyError, ValueError, TypeError):
        return None
    return {
        "id": entry_id,
        "from": "operator" if reply.kind is ReplyKind.operator else "assistant",
        "kind": reply.kind.value,
        "text": reply.text,
        "image": reply.image_url,
        "buttons": [{"title": b.title, "payload": b.payload, "url": b.url} for b in reply.buttons],
    }


# ------------------------------------------------------------------ sockets
class _Window:
    """One open chat window (one WebSocket)."""

    def __init__(self, svc: WidgetService, ws: WebSocket, site: Site, cid: str, after: str):
        self.svc, self.ws, self.site, self.cid, self.cursor = svc, ws, site, cid, after
        self.sending = asyncio.Lock()

    async def send(self, frame: dict[str, Any]) -> None:
        async with self.sending:
            await self.ws.send_json(frame)

    async def catch_up(self, kind: str = "items") -> None:
        items = await self.svc.items(self.cid, self.cursor)
        if items:
            self.cursor = items[-1]["id"]
        if items or kind == "history":
            await self.send({"type": kind, "items": items})

    async def follow(self, event: asyncio.Event) -> None:
        while True:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(event.wait(), SAFETY_POLL_S)
            event.clear()
            await self.catch_up()

    async def read(self) -> None:
        while True:
            raw = await self.ws.receive_text()
            frame = _frame(raw)
            if frame is not None and frame.get("type") == "start":
                if await self.svc.redis.exists(handoff_keys.outbox(self.cid)):
                    continue  # the conversation has begun: nothing to greet
                message: tuple[str | None, str | None, str | None] = (None, START_PAYLOAD, None)
            elif frame is None or frame.get("type") not in ("message", "press"):
                await self.send({"type": "notice", "text": BAD_MESSAGE})
                continue
            else:
                message = _message(frame)
            text, payload, title = message
            if text is None and payload is None:
                await self.send({"type": "notice", "text": BAD_MESSAGE})
                continue
            if await self.svc.site_limit.retry_after(self.site.id):  # the window offers the text again
                await self.send({"type": "notice", "text": SITE_BUSY, "unsent": text or ""})
                continue
            await self.send({"type": "typing", "on": True})
            try:
                await self.svc.turn(self.cid, text=text, payload=payload, title=title)
            finally:
                await self.send({"type": "typing", "on": False})


def _frame(raw: str) -> dict[str, Any] | None:
    if len(raw) > MAX_FRAME:
        return None
    try:
        frame = json.loads(raw)
    except ValueError:
        return None
    return frame if isinstance(frame, dict) else None


def _message(frame: dict[str, Any]) -> tuple[str | None, str | None, str | None]:
    """(text, payload, title) of a valid message or press; (None, None, None) otherwise."""
    if frame["type"] == "message":
        text = frame.get("text")
        if isinstance(text, str) and text.strip() and len(text) <= MAX_TEXT:
            return text, None, None
    else:
        payload, title = frame.get("payload"), frame.get("title")
        if isinstance(payload, str) and 0 < len(payload) <= 64:
            title = title.strip()[:MAX_TITLE] if isinstance(title, str) and title.strip() else payload
            return None, payload, title
    return None, None, None


async def serve_window(svc: WidgetService, ws: WebSocket, key: str) -> None:
    site = svc.site_for(key, ws.headers)
    await ws.accept()
    if site is None:  # told in words, so the page can say why there is no chat
        await ws.send_json({"type": "refused", "text": REFUSED.format(org=svc.runtime.settings.org_name)})
        await ws.close(code=4403)
        return
    try:
        hello = _frame(await asyncio.wait_for(ws.receive_text(), HELLO_TIMEOUT_S)) or {}
    except (TimeoutError, WebSocketDisconnect):
        with contextlib.suppress(Exception):
            await ws.close(code=4408)
        return
    browser, after = hello.get("browser"), hello.get("after") or ""
    if (
        hello.get("type") != "hello"
        or not isinstance(browser, str)
        or not BROWSER_ID.match(browser)
        or not isinstance(after, str)
        or not re.fullmatch(r"(\d{1,19}-\d{1,19})?", after)
    ):
        await ws.close(code=4400)
        return
    if await svc.site_limit.retry_after(site.id):
        await ws.send_json({"type": "notice", "text": SITE_BUSY})
        await ws.close(code=4429)
        return
    window = _Window(svc, ws, site, svc.conversation_id(site, browser), after)
    event = svc.hub.listen(window.cid)  # before reading: nothing said meanwhile is missed
    tasks: list[asyncio.Task] = []
    try:
        await window.catch_up("history" if not after else "items")
        tasks = [asyncio.create_task(window.read()), asyncio.create_task(window.follow(event))]
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            if not task.cancelled() and task.exception() and not isinstance(task.exception(), WebSocketDisconnect):
                log.warning("widget window closed on %s", task.exception().__class__.__name__)
    except WebSocketDisconnect:
        pass
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        svc.hub.leave(window.cid, event)


# -------------------------------------------------------------------- pages
def script(settings) -> str:
    """widget.js with this assistant's look (its colour, names) in front."""
    config = {
        "title": settings.widget_title or _title(settings.org_name),
        "subtitle": _title(settings.assistant_name),
        "color": settings.widget_color,
        "notice": NOTICE,
    }
    return f"window.__mbWidgetConfig = {json.dumps(config, ensure_ascii=False)};\n" + (STATIC / "widget.js").read_text(
        encoding="utf-8"
    )


SCRIPT_HEADERS = {
    "Cache-Control": "public, max-age=300",
    "X-Content-Type-Options": "nosniff",
    "Cross-Origin-Resource-Policy": "cross-origin",
}
DEMO_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data: http: https:; connect-src 'self'; object-src 'none'; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def demo_page(settings) -> str:
    return (
        (STATIC / "widget-demo.html")
        .read_text(encoding="utf-8")
        .replace("{{org}}", _title(settings.org_name).replace("<", "&lt;"))
    )


# ------------------------------------------------------------ module plug-in
def service(runtime) -> WidgetService | None:
    return runtime.widget


def install(runtime) -> None:
    runtime.widget = WidgetService(runtime)
    runtime.outbound.register(CHANNEL, runtime.widget.deliver)


def routes(app, runtime) -> None:
    svc = service(runtime)
    if svc is None:
        return

    @app.get(SCRIPT_PATH, include_in_schema=False)
    async def widget_script():
        return Response(
            script(runtime.settings), media_type="application/javascript; charset=utf-8", headers=SCRIPT_HEADERS
        )

    if svc.demo is not None:

        @app.get(DEMO_PATH, include_in_schema=False)
        async def widget_demo():
            return HTMLResponse(demo_page(runtime.settings), headers=DEMO_HEADERS)

    @app.websocket(WS_PATH)
    async def widget_socket(websocket: WebSocket, key: str = ""):
        await serve_window(svc, websocket, key)


MODULE = Module("widget", provides=("widget",), install=install, routes=routes)
