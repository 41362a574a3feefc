"""Test harness around the Telegram Bot API emulator (telegram-test-api 4.2.1).

- `Emulator`: the npm emulator as a child process on a free port.
- `BotApiProxy`: sits between the bot and the emulator and patches the
  emulator's gaps, so the bot itself stays free of test workarounds:
  getMe gets `is_bot`, callback updates get `chat_instance`, echoed
  JSON fields of sent messages are decoded, getUpdates long-polls (the emulator answers at once),
  getFile and file downloads are served from `files`; it can inject a 429 flood limit; it records every call.
  Methods the emulator lacks (sendChatAction, setMyCommands) still fail with
  HTTP 500, which the bot must tolerate — as with a real Telegram hiccup.
- `TgUser`: a Telegram user driving the emulator's client API.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import aiohttp
import httpx
from aiohttp import web

HERE = Path(__file__).resolve().parent
LONG_POLL_CAP_S = 5.0
LONG_POLL_STEP_S = 0.05


def emulator_available() -> str | None:
    """None when the emulator can run, else why not."""
    if not shutil.which("node"):
        return "node is not installed"
    if not (HERE / "node_modules" / "telegram-test-api").is_dir():
        return "emulator not installed: run scripts/setup_test_tools.sh (npm ci in tests/emulator)"
    return None


class Emulator:
    def __init__(self, port: int):
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self, timeout: float = 30.0) -> Emulator:
        self.proc = await asyncio.create_subprocess_exec(
            "node",
            str(HERE / "server.js"),
            str(self.port),
            cwd=HERE,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={**os.environ, "DEBUG": ""},
        )
        line = await asyncio.wait_for(self.proc.stdout.readline(), timeout)
        if not line.startswith(b"ready"):
            err = await self.proc.stderr.read()
            raise RuntimeError(f"emulator did not start: {line!r} {err[-500:]!r}")
        return self

    async def stop(self) -> None:
        if self.proc and self.proc.returncode is None:
            self.proc.terminate()
            await asyncio.wait_for(self.proc.wait(), 10)


class BotApiProxy:
    def __init__(self, upstream: str):
        self.upstream = upstream.rstrip("/")
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.files: dict[str, bytes] = {}  # file_id -> content (getFile / download)
        self.flood: dict[str, int] = {}  # chat_id -> how many sendMessage calls get a 429
        self.url = ""
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None

    async def start(self, port: int) -> BotApiProxy:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._method)
        app.router.add_get("/file/bot{token}/{path:.*}", self._file)
        self._session = aiohttp.ClientSession()
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def stop(self) -> None:
        if self._runner:
            await self._runner.cleanup()
        if self._session:
            await self._session.close()

    def called(self, method: str) -> list[dict[str, Any]]:
        return [params for m, params in self.calls if m == method]

    async def _method(self, request: web.Request) -> web.Response:
        token, method = request.match_info["token"], request.match_info["method"]
        body = await request.read()
        params = self._params(request.content_type, body)
        self.calls.append((method, params))
        if method == "getFile":
            file_id = params["file_id"]
            if file_id not in self.files:
                return _json({"ok": False, "error_code": 400, "description": "Bad Request: file not found"}, 400)
            return _json(
                {
                    "ok": True,
                    "result": {
                        "file_id": file_id,
                        "file_unique_id": file_id,
                        "file_size": len(self.files[file_id]),
                        "file_path": f"voice/{file_id}.ogg",
                    },
                }
            )
        if method == "sendMessage" and self.flood.get(str(params.get("chat_id")), 0) > 0:
            self.flood[str(params["chat_id"])] -= 1
            return _json(
                {
                    "ok": False,
                    "error_code": 429,
                    "description": "Too Many Requests: retry after 1",
                    "parameters": {"retry_after": 1},
                },
                429,
            )
        headers = {"Content-Type": request.headers.get("Content-Type", "application/x-www-form-urlencoded")}
        deadline = time.monotonic() + min(float(params.get("timeout") or 0), LONG_POLL_CAP_S)
        while True:
            async with self._session.post(f"{self.upstream}/bot{token}/{method}", data=body, headers=headers) as resp:
                status, text = resp.status, await resp.text()
            data = _maybe_json(text)
            empty_poll = method == "getUpdates" and isinstance(data, dict) and data.get("result") == []
            if not empty_poll or time.monotonic() >= deadline:
                break
            await asyncio.sleep(LONG_POLL_STEP_S)  # emulate Telegram's long polling
        if isinstance(data, dict) and data.get("ok"):
            self._patch(method, data)
            return _json(data, status)
        return web.Response(status=status, text=text, content_type="application/json")

    @staticmethod
    def _patch(method: str, data: dict) -> None:
        if method == "getMe":
            data["result"].setdefault("is_bot", True)
        if method.startswith("send") and isinstance(data.get("result"), dict):
            # the emulator echoes the request's form fields: JSON-encoded objects stay strings
            result = data["result"]
            for field in ("link_preview_options", "reply_markup", "entities"):
                if isinstance(result.get(field), str):
                    result[field] = json.loads(result[field])
        if method == "getUpdates":
            for update in data["result"]:
                if "callback_query" in update:
                    update["callback_query"].setdefault("chat_instance", "emulator")

    async def _file(self, request: web.Request) -> web.Response:
        file_id = Path(request.match_info["path"]).stem
        if file_id not in self.files:
            return web.Response(status=404)
        return web.Response(body=self.files[file_id], content_type="audio/ogg")

    @staticmethod
    def _params(content_type: str, body: bytes) -> dict[str, Any]:
        if not body:
            return {}
        if content_type == "application/json":
            return json.loads(body)
        if content_type == "application/x-www-form-urlencoded":
            return dict(parse_qsl(body.decode(), keep_blank_values=True))
        return {"_raw": len(body)}


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(status=status, text=json.dumps(data, ensure_ascii=False), content_type="application/json")


def _maybe_json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


_message_dates = itertools.count(int(time.time()))


class TgUser:
    """One person in a private chat with the bot (chat id = user id)."""

    def __init__(self, emulator_url: str, token: str, user_id: int, first_name: str = "Анна"):
        self.http = httpx.AsyncClient(base_url=emulator_url, timeout=10)
        self.token = token
        self.user = {"id": user_id, "is_bot": False, "first_name": first_name, "language_code": "ru"}
        self.chat = {"id": user_id, "type": "private", "first_name": first_name}
        self.inbox: list[dict] = []  # everything the bot sent this chat, oldest first
        self._seen = 0

    @property
    def chat_id(self) -> int:
        return self.chat["id"]

    async def close(self) -> None:
        await self.http.aclose()

    async def _post(self, path: str, body: dict) -> None:
        resp = await self.http.post(path, json={"botToken": self.token, **body})
        assert resp.status_code == 200, resp.text

    def _message(self, **fields) -> dict:
        return {"from": self.user, "chat": self.chat, "date": next(_message_dates), **fields}

    async def say(self, text: str) -> None:
        await self._post("/sendMessage", self._message(text=text))

    async def send(self, **fields) -> None:
        """Any other message: sticker=…, photo=…, voice=…"""
        await self._post("/sendMessage", self._message(**fields))

    async def command(self, text: str) -> None:
        name = text.split()[0]
        await self._post(
            "/sendCommand",
            self._message(text=text, entities=[{"offset": 0, "length": len(name), "type": "bot_command"}]),
        )

    async def press(self, fragment: str) -> str:
        """Press the newest button whose title contains `fragment`; returns its payload."""
        for item in reversed(self.inbox):
            for row in buttons_of(item):
                if fragment.lower() in row["text"].lower():
                    message = {
                        "message_id": item["messageId"],
                        "date": next(_message_dates),
                        "chat": self.chat,
                        "from": {"id": 666, "is_bot": True, "first_name": "Bot"},
                        "text": item["message"].get("text", ""),
                    }
                    await self._post(
                        "/sendCallback", {"from": self.user, "message": message, "data": row["callback_data"]}
                    )
                    return row["callback_data"]
        raise AssertionError(f"no button with {fragment!r}; inbox: {[texts_of(self.inbox)]}")

    async def expect(self, done: Callable[[list[dict]], bool], timeout: float = 30.0) -> list[dict]:
        """Wait until the bot's messages since the last `expect` satisfy `done`."""
        deadline = time.monotonic() + timeout
        while True:
            resp = await self.http.post("/getUpdates", json={"token": self.token, "chatId": self.chat_id})
            self.inbox += resp.json()["result"]
            fresh = self.inbox[self._seen :]
            if fresh and done(fresh):
                self._seen = len(self.inbox)
                return fresh
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; the bot sent: {texts_of(fresh)}")
            await asyncio.sleep(0.05)

    async def expect_text(self, fragment: str, timeout: float = 30.0) -> list[dict]:
        return await self.expect(lambda ms: any(fragment in m["message"].get("text", "") for m in ms), timeout)

    async def drain(self) -> list[dict]:
        """What arrived since the last expect, without waiting."""
        resp = await self.http.post("/getUpdates", json={"token": self.token, "chatId": self.chat_id})
        self.inbox += resp.json()["result"]
        fresh, self._seen = self.inbox[self._seen :], len(self.inbox)
        return fresh


def buttons_of(item: dict) -> list[dict]:
    markup = item["message"].get("reply_markup") or {}
    if isinstance(markup, str):
        markup = json.loads(markup)
    return [b for row in markup.get("inline_keyboard", []) for b in row]


def texts_of(items: list[dict]) -> list[str]:
    return [i["message"].get("text", "") for i in items]
