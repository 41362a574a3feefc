"""A local stand-in for the MAX Bot API, for tests (like tests/yookassa_standin.py).

Follows the official HTTP contract (MAX Bot API OpenAPI schema,
max-messenger/api-schema 0.0.33) for what a bot uses:

  Authorization: <token> on every call, else 401 {"code", "message"}
  GET    /me                          BotInfo
  PATCH  /me/commands                 {"commands": [{"name", "description"}]} (≤ 32)
  GET    /updates?limit&timeout&marker&types
                                      {"updates": [...], "marker"}: long polling; every update
                                      before `marker` is committed; refused (405) while a
                                      webhook subscription exists — MAX delivers one way at a time
  GET/POST/DELETE /subscriptions      webhook subscriptions: url must be https://, secret
                                      5–256 of [A-Za-z0-9_-]
  POST   /messages?chat_id|user_id    NewMessageBody: text ≤ 4000, attachments
                                      (inline_keyboard: callback text 1–128 and payload ≤ 1024,
                                      link url ≤ 2048; ≤ 30 rows, ≤ 7 buttons a row, ≤ 3 in a row
                                      with a link; image by upload token or url) → {"message"}
  POST   /answers?callback_id         CallbackAnswer {message?, notification?}
  POST   /chats/{chatId}/actions      {"action": typing_on | sending_photo | … | mark_seen}
  POST   /uploads?type=image|…        {"url"} to POST the file to (multipart field `data`),
                                      which answers {"photos": {<id>: {"token"}}} for an image
  errors                              {"code", "message"} with the HTTP status

Users are driven by Python test controls (`MaxUser`: start the bot, write,
press a button, send a voice message or a sticker), never through HTTP: the
bot under test only ever sees MAX's own interface. A dialog's chat id differs
from the user's id, as in MAX.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import itertools
import re
import socket
import time
import uuid
from collections.abc import Callable
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

SECRET = re.compile(r"^[A-Za-z0-9_-]{5,256}$")
ACTIONS = {"typing_on", "sending_photo", "sending_video", "sending_audio", "sending_file", "mark_seen"}
ROWS_MAX, ROW_MAX, ROW_MAX_WITH_LINK, BUTTONS_MAX = 30, 7, 3, 210
KNOWN_ATTACHMENTS = {"image", "video", "audio", "file", "sticker", "contact", "inline_keyboard", "location", "share"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse(status_code=status, content={"code": code, "message": message})


def _ms() -> int:
    return int(time.time() * 1000)


class MaxStandIn:
    def __init__(self, token: str = "max-test-token", bot_id: int = 900001):
        self.token, self.bot_id = token, bot_id
        self.port = _free_port()
        self.updates: list[dict] = []  # every update, in order; index + 1 is its sequence number
        self.committed = 0  # updates up to this sequence number were acknowledged by a marker
        self.arrived = asyncio.Event()
        self.messages: dict[int, list[dict]] = {}  # chat id → messages the bot sent there
        self.calls: list[dict] = []  # every API call: method, path, query, body
        self.subscriptions: list[dict] = []
        self.commands: list[dict] = []
        self.callbacks: dict[str, dict | None] = {}  # callback id → the bot's answer (None: unanswered)
        self.uploads: dict[str, str] = {}  # upload URL id → type
        self.photos: dict[str, bytes] = {}  # image token → bytes uploaded
        self.files: dict[str, bytes] = {}  # served at /files/<name> (voice messages)
        self.flood: dict[int, int] = {}  # chat id → how many sends to answer 429 first
        self.blocked: set[int] = set()  # chats whose user stopped the bot (403)
        self.fail_uploads = 0  # uploads to fail (the upload server answers 500)
        self._mids = itertools.count(1)
        self._stopping = asyncio.Event()
        self.app = self._build()
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # ------------------------------------------------------------------ HTTP
    def _build(self) -> FastAPI:
        app = FastAPI()

        @app.middleware("http")
        async def authorize(request: Request, call_next):
            if request.url.path.startswith(("/upload/", "/files/")):
                return await call_next(request)
            body = await request.body()
            self.calls.append(
                {
                    "method": request.method,
                    "path": request.url.path,
                    "query": dict(request.query_params),
                    "body": body.decode("utf-8", "replace"),
                }
            )
            if request.headers.get("authorization") != self.token:
                return _error(401, "verify.token", "Invalid access_token")
            return await call_next(request)

        @app.get("/me")
        async def me():
            return {
                "user_id": self.bot_id,
                "first_name": "Помощник",
                "username": "mb_test_bot",
                "is_bot": True,
                "last_activity_time": _ms(),
                "commands": self.commands or None,
            }

        @app.patch("/me/commands")
        async def set_commands(request: Request):
            body = await _json(request)
            commands = body.get("commands") if isinstance(body, dict) else None
            if (
                not isinstance(commands, list)
                or len(commands) > 32
                or not all(
                    isinstance(c, dict)
                    and isinstance(c.get("name"), str)
                    and 1 <= len(c["name"]) <= 64
                    and (c.get("description") is None or 1 <= len(str(c["description"])) <= 128)
                    for c in commands
                )
            ):
                return _error(400, "proto.payload", "commands: up to 32 of {name 1-64, description 1-128}")
            self.commands = commands
            return {"commands": commands}

        @app.get("/updates")
        async def updates(request: Request):
            if self.subscriptions:
                return _error(405, "method.not.allowed", "Long polling is not available while a webhook is set")
            q = request.query_params
            try:
                limit = int(q.get("limit", 100))
                timeout = int(q.get("timeout", 30))
                marker = int(q["marker"]) if q.get("marker") not in (None, "", "null") else None
            except ValueError:
                return _error(400, "proto.payload", "limit, timeout and marker are integers")
            if not (1 <= limit <= 1000 and 0 <= timeout <= 90):
                return _error(400, "proto.payload", "limit 1-1000, timeout 0-90")
            types = set(filter(None, q.get("types", "").split(","))) or None
            if marker is not None:
                self.committed = max(self.committed, marker - 1)
            deadline = asyncio.get_running_loop().time() + timeout
            while True:
                pending = [
                    (i + 1, u)
                    for i, u in enumerate(self.updates)
                    if i + 1 > self.committed and (types is None or u["update_type"] in types)
                ][:limit]
                if pending or self._stopping.is_set():
                    break
                left = deadline - asyncio.get_running_loop().time()
                if left <= 0:
                    break
                self.arrived.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.arrived.wait(), min(left, 1.0))
            next_marker = pending[-1][0] + 1 if pending else self.committed + 1
            return {"updates": [copy.deepcopy(u) for _, u in pending], "marker": next_marker}

        @app.get("/subscriptions")
        async def subscriptions():
            return {"subscriptions": copy.deepcopy(self.subscriptions)}

        @app.post("/subscriptions")
        async def subscribe(request: Request):
            body = await _json(request)
            url = body.get("url") if isinstance(body, dict) else None
            if not isinstance(url, str) or not url.startswith("https://"):
                return _error(400, "proto.payload", "url: the HTTPS address of the bot")
            secret = body.get("secret")
            if secret is not None and (not isinstance(secret, str) or not SECRET.match(secret)):
                return _error(400, "proto.payload", "secret: 5-256 characters of A-Z, a-z, 0-9, _ and -")
            self.subscriptions = [s for s in self.subscriptions if s["url"] != url]
            self.subscriptions.append(
                {"url": url, "time": _ms(), "update_types": body.get("update_types"), "secret": secret}
            )
            return {"success": True}

        @app.delete("/subscriptions")
        async def unsubscribe(request: Request):
            url = request.query_params.get("url")
            if not url:
                return _error(400, "proto.payload", "url is required")
            self.subscriptions = [s for s in self.subscriptions if s["url"] != url]
            return {"success": True}

        @app.post("/messages")
        async def send_message(request: Request):
            q = request.query_params
            chat = q.get("chat_id") or q.get("user_id")
            if not chat or not re.fullmatch(r"-?\d+", chat):
                return _error(400, "proto.payload", "chat_id or user_id is required")
            chat_id = int(chat) if q.get("chat_id") else self.chat_of(int(chat))
            body = await _json(request)
            if not isinstance(body, dict):
                return _error(400, "proto.payload", "NewMessageBody expected")
            problem = self._check_body(body)
            if problem:
                return _error(400, "proto.payload", problem)
            if chat_id in self.blocked:
                return _error(403, "chat.denied", "The user has stopped the bot")
            if self.flood.get(chat_id, 0) > 0:
                self.flood[chat_id] -= 1
                return _error(429, "too.many.requests", "Too many requests")
            message = {
                "sender": {"user_id": self.bot_id, "first_name": "Помощник", "username": "mb_test_bot", "is_bot": True},
                "recipient": {"chat_id": chat_id, "chat_type": "dialog"},
                "timestamp": _ms(),
                "body": {
                    "mid": f"mid.bot{next(self._mids)}",
                    "seq": next(self._mids),
                    "text": body.get("text"),
                    "attachments": self._stored(body.get("attachments") or []),
                },
                "format": body.get("format"),
            }
            self.messages.setdefault(chat_id, []).append(message)
            return {"message": copy.deepcopy(message)}

        @app.post("/answers")
        async def answer(request: Request):
            callback_id = request.query_params.get("callback_id", "")
            if not callback_id.strip():
                return _error(400, "proto.payload", "callback_id is required")
            if callback_id not in self.callbacks:
                return _error(404, "not.found", "Unknown callback")
            body = await _json(request)
            if not isinstance(body, dict):
                return _error(400, "proto.payload", "CallbackAnswer expected")
            self.callbacks[callback_id] = body
            return {"success": True}

        @app.post("/chats/{chat_id}/actions")
        async def action(chat_id: int, request: Request):
            body = await _json(request)
            if not isinstance(body, dict) or body.get("action") not in ACTIONS:
                return _error(400, "proto.payload", f"action: one of {sorted(ACTIONS)}")
            return {"success": True}

        @app.post("/uploads")
        async def upload_url(request: Request):
            kind = request.query_params.get("type")
            if kind not in ("image", "video", "audio", "file"):
                return _error(400, "proto.payload", "type: image, video, audio or file")
            upload = uuid.uuid4().hex
            self.uploads[upload] = kind
            answer = {"url": f"{self.url}/upload/{upload}"}
            if kind in ("video", "audio"):
                answer["token"] = f"tok-{upload}"
            return answer

        @app.post("/upload/{upload}")
        async def upload(upload: str, request: Request):
            if upload not in self.uploads:
                return _error(404, "not.found", "Unknown upload")
            if self.fail_uploads > 0:
                self.fail_uploads -= 1
                return _error(500, "internal", "Upload failed")
            form = await request.form()
            data = form.get("data")
            if data is None or not hasattr(data, "read"):
                return _error(400, "proto.payload", "multipart field «data» with the file is required")
            content = await data.read()
            kind = self.uploads.pop(upload)
            if kind == "image":
                if not content.startswith((b"\x89PNG", b"\xff\xd8", b"GIF8")):
                    return _error(400, "proto.payload", "not an image")
                token = f"img-{uuid.uuid4().hex}"
                self.photos[token] = content
                return {"photos": {str(len(self.photos)): {"token": token}}}
            return {"token": f"tok-{upload}"}

        @app.get("/files/{name}")
        async def file(name: str):
            if name not in self.files:
                return _error(404, "not.found", "No such file")
            return Response(self.files[name], media_type="audio/ogg")

        return app

    def _check_body(self, body: dict) -> str:
        text = body.get("text")
        if text is not None and (not isinstance(text, str) or len(text) > 4000):
            return "text: a string of at most 4000 characters"
        if body.get("format") not in (None, "markdown", "html"):
            return "format: markdown or html"
        attachments = body.get("attachments") or []
        if not isinstance(attachments, list):
            return "attachments: a list"
        if not text and not attachments:
            return "text or attachments is required"
        for att in attachments:
            if not isinstance(att, dict) or att.get("type") not in KNOWN_ATTACHMENTS:
                return "attachments: unknown type"
            payload = att.get("payload")
            if att["type"] == "inline_keyboard":
                problem = _check_keyboard(payload)
                if problem:
                    return problem
            elif att["type"] == "image" and (
                not isinstance(payload, dict)
                or not (payload.get("token") in self.photos or payload.get("url") or payload.get("photos"))
            ):
                return "image: payload with the token of an uploaded image, or a url"
        return ""

    def _stored(self, attachments: list[dict]) -> list[dict]:
        """Attachments as MAX shows them in a Message (an image gets its id and url)."""
        shown = []
        for att in attachments:
            if att["type"] == "image":
                token = att["payload"].get("token") or ""
                shown.append(
                    {
                        "type": "image",
                        "payload": {"photo_id": len(shown) + 1, "token": token, "url": f"{self.url}/images/{token}"},
                    }
                )
            else:
                shown.append(copy.deepcopy(att))
        return shown

    # -------------------------------------------------------- test controls
    @staticmethod
    def chat_of(user_id: int) -> int:
        """The dialog between the bot and a user (its id differs from the user's)."""
        return 70_000_000 + user_id

    def push(self, update: dict) -> None:
        self.updates.append(update)
        self.arrived.set()

    def sent(self, chat_id: int) -> list[dict]:
        return copy.deepcopy(self.messages.get(chat_id, []))

    def called(self, path: str, method: str | None = None) -> list[dict]:
        return [c for c in self.calls if c["path"] == path and (method is None or c["method"] == method)]

    def user(self, user_id: int, name: str = "Иван") -> MaxUser:
        return MaxUser(self, user_id, name)

    # ------------------------------------------------------------- running
    async def start(self) -> MaxStandIn:
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve())
        deadline = asyncio.get_running_loop().time() + 10
        while not self._server.started:
            if asyncio.get_running_loop().time() > deadline:
                raise RuntimeError("MAX stand-in did not start")
            await asyncio.sleep(0.02)
        return self

    async def stop(self) -> None:
        self._stopping.set()
        self.arrived.set()
        if self._server:
            self._server.should_exit = True
            await self._task


def _check_keyboard(payload: Any) -> str:
    rows = payload.get("buttons") if isinstance(payload, dict) else None
    if not isinstance(rows, list) or not rows or not all(isinstance(r, list) and r for r in rows):
        return "inline_keyboard: payload.buttons is a non-empty list of non-empty rows"
    if len(rows) > ROWS_MAX or sum(len(r) for r in rows) > BUTTONS_MAX:
        return f"inline_keyboard: at most {ROWS_MAX} rows and {BUTTONS_MAX} buttons"
    for row in rows:
        links = any(isinstance(b, dict) and b.get("type") == "link" for b in row)
        if len(row) > (ROW_MAX_WITH_LINK if links else ROW_MAX):
            return "inline_keyboard: too many buttons in a row"
        for b in row:
            if not isinstance(b, dict) or not isinstance(b.get("text"), str) or not 1 <= len(b["text"]) <= 128:
                return "button: text of 1-128 characters"
            if b.get("type") == "callback":
                if not isinstance(b.get("payload"), str) or len(b["payload"].encode()) > 1024:
                    return "callback button: payload of at most 1024 bytes"
            elif b.get("type") == "link":
                if (
                    not isinstance(b.get("url"), str)
                    or not b["url"].startswith(("http://", "https://"))
                    or len(b["url"]) > 2048
                ):
                    return "link button: url of at most 2048 characters"
            elif b.get("type") not in ("request_contact", "request_geo_location", "message", "open_app", "clipboard"):
                return "button: unknown type"
    return ""


async def _json(request: Request) -> Any:
    try:
        return await request.json()
    except ValueError:
        return None


class MaxUser:
    """A MAX user in a dialog with the bot."""

    def __init__(self, standin: MaxStandIn, user_id: int, name: str):
        self.standin, self.user_id, self.name = standin, user_id, name
        self.chat_id = standin.chat_of(user_id)
        self.seen = 0  # bot messages already looked at

    @property
    def person(self) -> dict:
        return {"user_id": self.user_id, "first_name": self.name, "is_bot": False, "last_activity_time": _ms()}

    def start(self, payload: str | None = None) -> dict:
        update = {
            "update_type": "bot_started",
            "timestamp": _ms(),
            "chat_id": self.chat_id,
            "user": self.person,
            "payload": payload,
            "user_locale": "ru",
        }
        self.standin.push(update)
        return update

    def message(self, text: str | None = None, attachments: list[dict] | None = None) -> dict:
        mid = f"mid.user{uuid.uuid4().hex[:12]}"
        return {
            "update_type": "message_created",
            "timestamp": _ms(),
            "user_locale": "ru",
            "message": {
                "sender": self.person,
                "recipient": {"chat_id": self.chat_id, "chat_type": "dialog"},
                "timestamp": _ms(),
                "body": {"mid": mid, "seq": int(time.time() * 1000), "text": text, "attachments": attachments},
            },
        }

    def say(self, text: str) -> dict:
        update = self.message(text)
        self.standin.push(update)
        return update

    def send_voice(self, name: str, audio: bytes, transcription: str | None = None) -> dict:
        self.standin.files[name] = audio
        update = self.message(
            None,
            [
                {
                    "type": "audio",
                    "payload": {"url": f"{self.standin.url}/files/{name}", "token": f"aud-{name}"},
                    "transcription": transcription,
                }
            ],
        )
        self.standin.push(update)
        return update

    def send_sticker(self) -> dict:
        update = self.message(
            None,
            [
                {
                    "type": "sticker",
                    "payload": {"url": f"{self.standin.url}/st.webp", "code": "smile"},
                    "width": 128,
                    "height": 128,
                }
            ],
        )
        self.standin.push(update)
        return update

    def press(self, title_or_payload: str) -> dict:
        """Press a callback button of the bot's latest message that has it."""
        for message in reversed(self.standin.messages.get(self.chat_id, [])):
            for b in buttons_of(message):
                if b.get("type") == "callback" and title_or_payload in (b["text"], b["payload"]):
                    callback_id = f"cb-{uuid.uuid4().hex}"
                    self.standin.callbacks[callback_id] = None
                    update = {
                        "update_type": "message_callback",
                        "timestamp": _ms(),
                        "user_locale": "ru",
                        "callback": {
                            "timestamp": _ms(),
                            "callback_id": callback_id,
                            "payload": b["payload"],
                            "user": self.person,
                        },
                        "message": copy.deepcopy(message),
                    }
                    self.standin.push(update)
                    return update
        raise AssertionError(f"no button {title_or_payload!r} in the chat")

    async def expect(self, done: Callable[[list[dict]], bool], timeout: float = 30.0) -> list[dict]:
        """The bot's new messages, once `done` holds for them."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            new = self.standin.messages.get(self.chat_id, [])[self.seen :]
            if new and done(new):
                self.seen += len(new)
                return copy.deepcopy(new)
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"the bot did not answer as expected; got {[m['body']['text'] for m in new]}")
            await asyncio.sleep(0.05)

    async def drain(self, quiet: float = 1.0) -> list[dict]:
        """Whatever arrives until `quiet` seconds pass without a new message."""
        await asyncio.sleep(quiet)
        new = self.standin.messages.get(self.chat_id, [])[self.seen :]
        self.seen += len(new)
        return copy.deepcopy(new)


def buttons_of(message: dict) -> list[dict]:
    for att in message["body"].get("attachments") or []:
        if att["type"] == "inline_keyboard":
            return [b for row in att["payload"]["buttons"] for b in row]
    return []


def rows_of(message: dict) -> list[list[dict]]:
    for att in message["body"].get("attachments") or []:
        if att["type"] == "inline_keyboard":
            return att["payload"]["buttons"]
    return []


def texts_of(messages: list[dict]) -> str:
    return "\n".join(m["body"]["text"] or "" for m in messages)
