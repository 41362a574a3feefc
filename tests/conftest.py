"""Shared fixtures: a real Redis server and a real trained Rasa model, each
started once per test run; the assistant assembled on top of them."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import tempfile
from datetime import UTC
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
import uvicorn

from bot.app import create_app
from bot.runtime import Runtime, load_retriever
from bot.settings import ROOT, Settings
from bot.store.redis_server import EmbeddedRedis
from nlu.service import RasaServer, ensure_model

ARTIFACTS = ROOT / "tests" / ".artifacts"
API_KEY = "test-key"
# The test Rasa server's API is closed by a token, like a real one.
RASA_TOKEN = os.environ.get("TEST_RASA_TOKEN", "test-rasa-token")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# Modules whose tests load large models or run other programs (Whisper, TensorFlow, the
# Rasa CLI): `slow`, like the ones that need a Rasa server (`rasa`) or a browser (`e2e`).
SLOW_MODULES = {
    "test_finetune_experiment",
    "test_nlu_project",
    "test_voice_speech_tools",
    "test_voice_russian",
    "test_voice_recognition",
    "test_process_safety",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Marks what `make check` leaves to `make test`: it runs the rest in well under a minute."""
    for item in items:
        if "rasa_url" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.rasa)
        if item.module is not None and item.module.__name__.rsplit(".", 1)[-1] in SLOW_MODULES:
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def tmp_root() -> Path:
    return Path(tempfile.mkdtemp(prefix="assistant-tests-"))


@pytest.fixture(scope="session")
def redis_server(tmp_root):
    """The embedded server; TEST_REDIS_TOPOLOGY=cluster|sentinel runs the same tests on a
    real Redis Cluster or Sentinel setup instead (tests/test_store_topologies.py does)."""
    topology = os.environ.get("TEST_REDIS_TOPOLOGY", "")
    if topology:
        from tests import redis_topologies

        if why := redis_topologies.missing_binaries():
            pytest.skip(why)
        with redis_topologies.started(topology) as store:
            yield store
        return
    server = EmbeddedRedis(tmp_root / "redis").start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def settings(tmp_root) -> Settings:
    # A generous NLU timeout: on a loaded CI machine a slow parse must not turn
    # into a knowledge-base-only answer and make understanding tests flaky.
    # The whole suite is one API key sending faster than any client: no per-key limit
    # (tests/test_api_hardening.py turns it on where it is the subject).
    return Settings(
        _env_file=None,
        assistant_api_key=API_KEY,
        data_dir=tmp_root / "data",
        redis_url="",
        rasa_url="",
        nlu_timeout_seconds=60,
        api_rate_limit_per_minute=0,
        rating_sample_rate=0,  # ratings after a service only where a test asks for them
        rasa_token=RASA_TOKEN,
    )


@pytest.fixture(scope="session")
def retriever(settings):
    return load_retriever(settings)


@pytest.fixture(scope="session")
def rasa_url(settings):
    """The real Rasa server with the project's trained model (trained if stale)."""
    if os.environ.get("TEST_RASA_URL"):
        yield os.environ["TEST_RASA_URL"]
        return
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    model = ensure_model(settings.rasa_venv, ARTIFACTS / "rasa-train.log")
    server = RasaServer(
        settings.rasa_venv, model, free_port(), ARTIFACTS / "rasa-server.log", settings.rasa_token
    ).start()
    try:
        server.wait_ready()
        yield server.url
    finally:
        server.stop()


@pytest_asyncio.fixture(scope="session")
async def runtime(settings, redis_server, rasa_url, retriever):
    rt = await Runtime.create(settings, redis_server.url, rasa_url, retriever)
    yield rt
    await rt.close()


@pytest_asyncio.fixture(scope="session")
async def api(runtime):
    transport = httpx.ASGITransport(app=create_app(runtime))
    async with httpx.AsyncClient(
        transport=transport, base_url="http://assistant", headers={"X-Api-Key": API_KEY}
    ) as client:
        yield client


@pytest.fixture(scope="module")
def emulator_ready():
    """Skips Telegram end-to-end tests (with the reason) where the emulator cannot run."""
    from tests.emulator.harness import emulator_available

    why = emulator_available()
    if why:
        pytest.skip(why)


@contextlib.asynccontextmanager
async def serving(tmp_path: Path, settings: Settings, redis_url: str, rasa_url: str, retriever, **overrides):
    """The real app (API and operator console) served by uvicorn on a free port, with
    operators on duty around the clock; `overrides` change settings."""
    from tests.console_kit import wait_for
    from tests.schedule_kit import ALWAYS_OPEN

    schedule = tmp_path / "schedule.yaml"
    schedule.write_text(ALWAYS_OPEN, encoding="utf-8")
    port = free_port()
    own = settings.model_copy(update={"handoff_schedule_file": schedule, "assistant_port": port, **overrides})
    runtime = await Runtime.create(own, redis_url, rasa_url, retriever)
    server = uvicorn.Server(
        uvicorn.Config(create_app(runtime), host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    await wait_for(lambda: asyncio.sleep(0, server.started), "uvicorn to start")
    try:
        yield runtime, f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        await runtime.close()


@pytest_asyncio.fixture
async def served(tmp_path, settings, redis_server, rasa_url, retriever):
    """The real app served by uvicorn on a free port (`serving`), on the shared Redis."""
    async with serving(tmp_path, settings, redis_server.url, rasa_url, retriever) as got:
        yield got


@pytest.fixture
def handoff(runtime):
    """The handoff service with operators on duty around the clock and a clock the test moves."""
    from datetime import datetime

    from tests.schedule_kit import ALWAYS, Clock

    svc = runtime.handoff
    saved = svc.schedule, svc.clock
    svc.set_schedule(ALWAYS)
    svc.clock = Clock(datetime.now(UTC))
    yield svc
    svc.set_schedule(saved[0])
    svc.clock = saved[1]


@pytest_asyncio.fixture
async def booking(runtime):
    """The booking service on a fixed clock, in office hours."""
    from tests.schedule_kit import MONDAY_MORNING

    svc = runtime.booking
    saved = svc.clock
    svc.clock = lambda: MONDAY_MORNING
    yield svc
    svc.clock = saved
