"""Faults a real deployment meets: the app killed with -9 in the middle of a
burst (twice), a second server pointed at the same data folder, a stale
socket, and what a local user can read on disk. The app runs as its own
process (`python -m bot serve`), exactly as `make run` starts it."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import redis as sync_redis

from bot.settings import ROOT
from bot.store import keys
from bot.store.redis_server import DataFolderBusy, EmbeddedRedis
from tests.conftest import RASA_TOKEN, free_port

KEY = "process-test-key"


def redis_servers_for(folder: Path) -> list[int]:
    """Pids of redis-server processes whose unix socket is in `folder`."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:  # Redis rewrites its title to "…/redis-server unixsocket:<path>"
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if "redis-server" in cmdline and str(folder / "redis.sock") in cmdline:
            pids.append(int(entry.name))
    return pids


def private_tree(folder: Path) -> list[str]:
    """Everything under `folder` that another local user could read or enter."""
    loose = []
    for path in [folder, *folder.rglob("*")]:
        mode = path.lstat().st_mode
        if stat.S_ISSOCK(mode):
            continue
        if mode & 0o077:
            loose.append(f"{path} {stat.filemode(mode)}")
    return loose


class App:
    """The assistant as its own process on a free port, with its own data folder."""

    def __init__(self, data: Path, rasa_url: str, **env: str):
        self.data, self.port = data, free_port()
        env = {
            **os.environ,
            "ASSISTANT_PORT": str(self.port),
            "ASSISTANT_API_KEY": KEY,
            "DATA_DIR": str(data),
            "REDIS_URL": "",
            "RASA_URL": rasa_url,
            "RASA_TOKEN": RASA_TOKEN,
            "RATE_LIMIT_PER_MINUTE": "0",
            "NLU_TIMEOUT_SECONDS": "30",
            "TELEGRAM_BOT_TOKEN": "",
            "LOG_LEVEL": "WARNING",
            **env,
        }
        self.log = open(data.parent / f"serve-{self.port}.log", "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=self.log
        )
        self.url = f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"the app exited; see {self.log.name}"
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise AssertionError(f"the app did not become ready; see {self.log.name}")

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=60)
        self.log.close()


async def burst(url: str, conversations: int, each: int, stop_after: int, on_enough) -> dict[str, int]:
    """Send `each` messages in each conversation concurrently; call `on_enough` once
    `stop_after` replies arrived. Returns how many replies each conversation got."""
    answered: dict[str, int] = {f"crash{i}": 0 for i in range(conversations)}
    total = 0
    questions = [
        "как открыть ип",
        "сколько стоит регистрация ооо",
        "какие налоги платит самозанятый",
        "как получить грант",
        "нужна ли касса",
    ]

    async def talk(cid: str) -> None:
        nonlocal total
        async with httpx.AsyncClient(base_url=url, headers={"X-Api-Key": KEY}, timeout=30) as client:
            for i in range(each):
                try:
                    resp = await client.post(
                        f"/api/v1/conversations/{cid}/messages", json={"text": questions[i % len(questions)]}
                    )
                except httpx.HTTPError:
                    return  # the app is gone
                if resp.status_code == 200:
                    answered[cid] += 1
                    total += 1
                    if total == stop_after:
                        on_enough()

    await asyncio.gather(*(talk(cid) for cid in answered))
    return answered


def scoped(cid: str) -> str:
    import hashlib

    return f"api:{hashlib.sha256(KEY.encode()).hexdigest()[:10]}:{cid}"


@pytest.mark.e2e
async def test_kill_minus_nine_mid_burst_leaves_one_redis_and_consistent_conversations(tmp_path, rasa_url):
    data = tmp_path / "data"
    folder = data / "redis"
    totals: dict[str, int] = {}
    for crash in range(2):  # the second crash is where stale servers used to multiply
        app = App(data, rasa_url)
        try:
            app.wait_ready()
            assert len(redis_servers_for(folder)) == 1
            got = await burst(app.url, conversations=6, each=8, stop_after=12, on_enough=app.kill)
            assert 12 <= sum(got.values()) < 6 * 8  # killed in the middle
            for cid, n in got.items():
                totals[cid] = totals.get(cid, 0) + n
        finally:
            app.stop()
        # the orphaned server got the parent-death signal and shut down cleanly
        deadline = time.monotonic() + 15
        while redis_servers_for(folder) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert redis_servers_for(folder) == [], f"crash {crash + 1}: a Redis outlived its app"

    app = App(data, rasa_url)
    try:
        app.wait_ready()
        assert len(redis_servers_for(folder)) == 1
        store = sync_redis.Redis(unix_socket_path=str(folder / "redis.sock"), decode_responses=True)
        for cid, replies in totals.items():
            raw = store.get(keys.conversation(scoped(cid)))
            if raw is None and replies == 0:
                continue  # killed before any message of it was acknowledged (or maybe even taken)
            assert raw, f"{cid}: a conversation that got {replies} replies is gone"
            state = json.loads(raw)
            history = [json.loads(h) for h in store.lrange(keys.history(scoped(cid)), 0, -1)]
            # every acknowledged message was kept, and state and history were saved together
            assert state["turns"] >= replies
            assert state["turns"] == sum(1 for h in history if h["from"] == "client")
        for lock in store.scan_iter(keys.lock("*")):  # a lock of the killed app expires by itself
            assert 0 < store.pttl(lock) <= keys.LOCK_TTL_MS
        assert private_tree(data) == []
        # and the restarted assistant carries on
        resp = httpx.post(
            f"{app.url}/api/v1/conversations/after-crash/messages",
            json={"text": "как закрыть ип"},
            headers={"X-Api-Key": KEY},
            timeout=60,
        )
        assert resp.status_code == 200 and resp.json()["replies"][0]["faq_id"] == "close_ip"
        store.close()
    finally:
        app.stop()
    assert redis_servers_for(folder) == []


def test_one_data_folder_one_server(tmp_path):
    first = EmbeddedRedis(tmp_path / "redis").start()
    try:
        with pytest.raises(DataFolderBusy, match="already serves"):
            EmbeddedRedis(tmp_path / "redis").start(timeout=1)
        assert first.running()  # the refused second start did not unlink the live socket
        assert len(redis_servers_for(tmp_path / "redis")) == 1
        assert private_tree(tmp_path / "redis") == []
        client = sync_redis.Redis.from_url(first.url)
        client.set("x", "y")
        client.close()
    finally:
        first.stop()
    assert private_tree(tmp_path / "redis") == []  # the append-only file holds everything: 0600
    assert (tmp_path / "redis" / "appendonly.aof").exists()


def test_a_stale_socket_is_replaced_but_a_live_foreign_one_is_left_alone(tmp_path):
    folder = tmp_path / "redis"
    folder.mkdir()
    (folder / "redis.sock").write_text("")  # left by a crash
    server = EmbeddedRedis(folder).start()
    server.stop()
    # a server somebody started by hand on our socket, without our lock
    foreign = subprocess.Popen(
        [
            server._args()[0],
            "--port",
            "0",
            "--unixsocket",
            str(folder / "redis.sock"),
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while not EmbeddedRedis(folder).running() and time.monotonic() < deadline:
            time.sleep(0.05)
        with pytest.raises(DataFolderBusy, match="not started by the assistant"):
            EmbeddedRedis(folder).start(timeout=1)
        assert EmbeddedRedis(folder).running()
    finally:
        foreign.terminate()
        foreign.wait()


def test_an_old_install_is_made_private_on_start(tmp_path):
    folder = tmp_path / "redis"
    folder.mkdir(mode=0o755)
    old = folder / "appendonly.aof"
    old.write_text("")
    old.chmod(0o644)
    with EmbeddedRedis(folder):
        assert private_tree(folder) == []
