"""The real app served by uvicorn in a thread of its own, for clients that
block (schemathesis, synchronous fuzzers): its own event loop and Runtime on
the shared Redis server and Rasa, in a Redis database of its own so whatever
the fuzzers leave behind (conversations, queued handoffs) never meets other
tests."""

from __future__ import annotations

import asyncio
import threading
import time
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import uvicorn

from bot.app import create_app
from bot.runtime import Runtime
from bot.settings import Settings
from tests.conftest import free_port


def redis_database(url: str, db: int) -> str:
    """The same Redis server, another database (keys of one never meet the other's)."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query["db"] = str(db)
    return urlunsplit(parts._replace(query=urlencode(query)))


class LiveApp:
    def __init__(self, settings: Settings, redis_url: str, rasa_url: str, retriever):
        self.settings, self.redis_url, self.rasa_url, self.retriever = settings, redis_url, rasa_url, retriever
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server: uvicorn.Server | None = None
        self.app = None  # the FastAPI app, once started (to read its routes; requests go over HTTP)
        self.failed: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="live-app", daemon=True)

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # noqa: BLE001 - reported by start()
            self.failed = exc

    async def _serve(self) -> None:
        runtime = await Runtime.create(self.settings, self.redis_url, self.rasa_url, self.retriever)
        try:
            self.app = create_app(runtime)
            self.server = uvicorn.Server(
                uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off")
            )
            await self.server.serve()
        finally:
            await runtime.close()

    def start(self, timeout: float = 60.0) -> LiveApp:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not (self.server and self.server.started):
            if self.failed or not self.thread.is_alive():
                raise RuntimeError(f"the app did not start: {self.failed!r}")
            if time.monotonic() > deadline:
                raise RuntimeError("the app did not start in time")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        if self.server:
            self.server.should_exit = True
        self.thread.join(timeout=30)
