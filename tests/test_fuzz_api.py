"""Property-based fuzzing of the HTTP surface (R-20, R-22) with schemathesis.

The API: every operation of the published OpenAPI schema through all of
schemathesis' phases and checks — what `schemathesis run --checks all` does:
valid requests are accepted, invalid ones refused with a documented 4xx,
undeclared methods get 405 with `Allow`, the key is enforced, responses match
the schema, never a 5xx.

The operator console (pages for people, left out of the published schema):
its routes as FastAPI declares them, sent by a signed-in supervisor with the
session's CSRF token — whatever the form fields, ids and query values, never
a 5xx.

Against the real app (uvicorn, real Redis and Rasa) in a Redis database of its
own; examples are bounded and generation deterministic, so a run repeats.
(schemathesis' pytest plugin does not run on this pytest; its engine does.)
"""

from __future__ import annotations

import httpx
import pytest
import pytest_asyncio
import schemathesis
from fastapi.openapi.utils import get_openapi
from schemathesis.config import CacheConfig, SchemathesisConfig
from schemathesis.engine import Status, events

from bot.store import connect
from tests.console_kit import signed_in
from tests.live_server import LiveApp, redis_database
from tests.schedule_kit import ALWAYS_OPEN

KEY = "fuzz-key"
# Signing out would end the session the other console cases run in.
NOT_FUZZED = ("/console/logout",)


def bounded(*, checks: list[str], headers: dict[str, str], max_examples: int, **project) -> SchemathesisConfig:
    # No crash cache: each run generates the same cases, not the previous run's failures first.
    config = SchemathesisConfig(cache=CacheConfig(enabled=False))
    config.update(seed=20261128, max_failures=None)
    settings = config.projects.override
    settings.update(headers=headers, **project)
    settings.checks.update(included_check_names=checks)
    settings.generation.update(max_examples=max_examples, deterministic=True, database="none")
    return config


def failures(schema) -> list[str]:
    """Run schemathesis' phases against `schema`; every failure found, with a curl to reproduce it."""
    found, cases = [], 0
    for event in schemathesis.engine.from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            cases += len(event.recorder.cases)
            for checks in event.recorder.checks.values():
                found += [
                    f"{event.label}: {c.failure_info.failure.title}\n{c.failure_info.failure.message}\n"
                    f"{c.failure_info.code_sample}"
                    for c in checks
                    if c.status is Status.FAILURE
                ]
        elif isinstance(event, events.NonFatalError):
            found.append(f"{event.label}: {event.value!r}")
        elif isinstance(event, events.FatalError):
            found.append(f"schemathesis failed: {event.exception!r}")
    assert cases > 50, f"only {cases} requests were made"
    return list(dict.fromkeys(found))


@pytest.fixture(scope="module")
def live(tmp_path_factory, settings, redis_server, rasa_url, retriever):
    schedule = tmp_path_factory.mktemp("fuzz-api") / "schedule.yaml"
    schedule.write_text(ALWAYS_OPEN, encoding="utf-8")
    own = settings.model_copy(
        update={
            "assistant_api_key": KEY,
            "handoff_schedule_file": schedule,
            "rate_limit_per_minute": 0,
            "api_rate_limit_per_minute": 0,
        }
    )
    app = LiveApp(own, redis_database(redis_server.url, 2), rasa_url, retriever).start()
    yield app
    app.stop()


@pytest_asyncio.fixture(scope="module")
async def console_session(live) -> tuple[str, str]:
    """(Cookie header, CSRF token) of a supervisor signed in through the login form."""
    redis = connect(live.redis_url)
    try:
        async with httpx.AsyncClient(base_url=live.url, timeout=30) as web:
            csrf = await signed_in(web, redis, "fuzz_supervisor", "fuzz supervisor password", role="supervisor")
            return "; ".join(f"{name}={value}" for name, value in web.cookies.items()), csrf
    finally:
        await redis.aclose()


def test_the_api_does_what_its_schema_says(live):
    config = bounded(checks=["all"], headers={"X-Api-Key": KEY}, max_examples=40)
    schema = schemathesis.openapi.from_url(f"{live.url}/openapi.json", config=config)
    assert {"/api/v1/conversations/{conversation_id}/messages", "/healthz"} <= set(schema.raw_schema["paths"])
    found = failures(schema)
    assert not found, "\n\n".join(found)


def test_the_console_never_fails_whatever_a_signed_in_user_sends(live, console_session):
    cookie, csrf = console_session
    app = live.app
    full = get_openapi(title=app.title, version=app.version, routes=app.routes)
    full["paths"] = {
        path: item for path, item in full["paths"].items() if path.startswith("/console") and path not in NOT_FUZZED
    }
    assert len(full["paths"]) >= 10, sorted(full["paths"])
    config = bounded(
        checks=["not_a_server_error"], headers={"Cookie": cookie}, max_examples=15, base_url=live.url, max_redirects=0
    )
    schema = schemathesis.openapi.from_dict(full, config=config)

    @schema.hook
    def map_case(_context, case):
        if isinstance(case.body, dict):
            case.body["csrf"] = csrf  # past the CSRF check, into the handlers
        return case

    found = failures(schema)
    assert not found, "\n\n".join(found)
