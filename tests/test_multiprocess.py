"""Three app processes (`python -m bot serve`) share one store behind a
round-robin client, as behind a reverse proxy; one is killed with SIGKILL
mid-burst. The other two go on: every turn is answered (a request the dead
process held is retried on the next one, with the same Idempotency-Key),
and every conversation's history holds each client message exactly once,
in the order sent. No Rasa here: the processes answer from the knowledge
base (NLU unreachable), which is what this test needs — the store, the
locks and the idempotency claims under several processes."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx
import pytest

from bot.channels.api import scoped_conversation_id
from bot.settings import ROOT
from bot.store import connect
from bot.store.conversations import ConversationStore
from tests.conftest import free_port

pytestmark = pytest.mark.slow
KEY = "multiprocess-key"
TEXTS = ["как открыть ип", "нужна ли касса", "как перейти на усн", "какие есть гранты", "где получить эцп", "спасибо"]


class App:
    def __init__(self, redis_url: str, folder: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "ASSISTANT_PORT": str(self.port),
            "ASSISTANT_API_KEY": KEY,
            "DATA_DIR": str(folder),
            "REDIS_URL": redis_url,
            "RASA_URL": f"http://127.0.0.1:{free_port()}",  # nobody listens: knowledge base only
            "RATE_LIMIT_PER_MINUTE": "0",
            "API_RATE_LIMIT_PER_MINUTE": "0",
            "NLU_TIMEOUT_SECONDS": "1",
            "TELEGRAM_BOT_TOKEN": "",
            "MAX_BOT_TOKEN": "",
            "LOG_LEVEL": "WARNING",
        }
        folder.mkdir(parents=True, exist_ok=True)
        self.log = folder / "serve.log"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=self.log.open("wb"),
            start_new_session=True,
        )

    async def wait_up(self, client: httpx.AsyncClient, timeout: float = 300) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            assert self.proc.poll() is None, self.log.read_text(errors="replace")[-2000:]
            try:
                if (await client.get(f"{self.url}/healthz", timeout=2)).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.5)
        raise TimeoutError(f"app on {self.port} did not start")

    def kill(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()


async def test_three_processes_share_the_store_and_survive_one_killed_mid_burst(redis_server):
    folder = Path(tempfile.mkdtemp(prefix="assistant-multiprocess-"))
    apps = [App(redis_server.url, folder / f"app{i}") for i in range(3)]
    conversations, sent, retried = 24, 0, 0
    killed = asyncio.Event()
    try:
        async with httpx.AsyncClient(headers={"X-Api-Key": KEY}, timeout=60) as client:
            await asyncio.gather(*(a.wait_up(client) for a in apps))

            async def turn(n: int, t: int) -> None:
                nonlocal sent, retried
                body = {"text": TEXTS[t]}
                headers = {"Idempotency-Key": f"mp-{n}-{t}"}
                for attempt in range(40):  # as a proxy and a client would: next process, then later
                    app = apps[(n + t + attempt) % len(apps)]
                    try:
                        resp = await client.post(
                            f"{app.url}/api/v1/conversations/mp{n}/messages", json=body, headers=headers
                        )
                    except httpx.HTTPError:
                        retried += 1
                        continue
                    if resp.status_code == 200:
                        sent += 1
                        if sent == conversations * len(TEXTS) // 3 and not killed.is_set():
                            killed.set()
                            apps[1].kill()  # mid-burst: turns of it are in flight
                        return
                    assert resp.status_code == 409, resp.text  # busy: the dead process's claim, for a while
                    retried += 1
                    await asyncio.sleep(2)
                raise AssertionError(f"turn {t} of conversation {n} never went through")

            async def conversation(n: int) -> None:
                for t in range(len(TEXTS)):
                    await turn(n, t)

            await asyncio.gather(*(conversation(n) for n in range(conversations)))
        assert killed.is_set() and apps[1].proc.returncode == -signal.SIGKILL
        assert apps[0].proc.poll() is None and apps[2].proc.poll() is None
        assert sent == conversations * len(TEXTS)
        assert retried  # requests reached the dead process and were taken by the others

        redis = connect(redis_server.url)
        try:
            store = ConversationStore(redis)
            import hashlib

            key_id = hashlib.sha256(KEY.encode()).hexdigest()[:10]
            for n in range(conversations):
                history = await store.history(scoped_conversation_id(key_id, f"mp{n}"))
                said = [h["text"] for h in history if h["from"] == "client"]
                assert said == TEXTS, f"conversation {n}: {said}"
        finally:
            await redis.aclose()
    finally:
        for app in apps:
            app.stop()
        shutil.rmtree(folder, ignore_errors=True)
