"""The HTTP API contract (contract/api.md): health, auth, input validation."""

from __future__ import annotations

import re

import httpx
import pytest

from bot.app import create_app

CYRILLIC = re.compile(r"[а-яё]{4,}", re.I)
URL = "/api/v1/conversations/{}/messages"


async def test_health_and_readiness(api):
    assert (await api.get("/healthz")).status_code == 200
    ready = await api.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert (await api.get("/openapi.json")).json()["paths"][URL.format("{conversation_id}")]


async def test_not_ready_when_nlu_is_down(runtime, redis_server, settings, retriever):
    from bot.runtime import Runtime

    broken = await Runtime.create(settings, redis_server.url, "http://127.0.0.1:9", retriever)
    try:
        transport = httpx.ASGITransport(app=create_app(broken))
        async with httpx.AsyncClient(transport=transport, base_url="http://a") as client:
            resp = await client.get("/readyz")
        assert resp.status_code == 503 and "NLU" in resp.json()["reason"]
    finally:
        await broken.close()


@pytest.mark.parametrize("headers", [{}, {"X-Api-Key": "wrong"}])
async def test_missing_or_wrong_key_is_refused_with_instructions(api, headers):
    async with httpx.AsyncClient(transport=api._transport, base_url="http://a") as bare:
        resp = await bare.post(URL.format("c1"), json={"text": "привет"}, headers=headers)
    assert resp.status_code == 401
    body = resp.json()
    assert "X-Api-Key" in body["message"] and CYRILLIC.search(body["message"])


@pytest.mark.parametrize(
    "cid, body, fragment",
    [
        ("c1", {"text": ""}, "пуст"),
        ("c1", {"text": "   "}, "пуст"),
        ("c1", {"text": "а" * 4097}, "4096"),
        ("c1", {}, "text"),
        ("c1", {"text": 5}, "строка"),
        ("c1", {"payload": "x" * 65}, "payload"),
        ("bad id!", {"text": "привет"}, "идентификатор"),
        ("x" * 65, {"text": "привет"}, "идентификатор"),
    ],
)
async def test_invalid_input_gets_422_in_words(api, cid, body, fragment):
    resp = await api.post(URL.format(cid), json=body)
    assert resp.status_code == 422
    data = resp.json()
    assert fragment in data["message"] and CYRILLIC.search(data["message"]), data
    assert data["details"]


async def test_malformed_json_gets_422_in_words(api):
    resp = await api.post(URL.format("c1"), content=b'{"text": "oops', headers={"Content-Type": "application/json"})
    assert resp.status_code == 422
    assert "JSON" in resp.json()["message"]


async def test_max_length_text_is_accepted(api):
    resp = await api.post(URL.format("long1"), json={"text": "как открыть ип " * 273})
    assert resp.status_code == 200


async def test_conversations_are_scoped_by_api_key(runtime, api):
    runtime.settings.assistant_api_keys = "second-key"
    try:
        await api.post(URL.format("shared"), json={"text": "я самозанятый"})
        other = await api.post(URL.format("shared"), json={"payload": "nok:usn"}, headers={"X-Api-Key": "second-key"})
        assert other.status_code == 200
        scoped = [k async for k in runtime.redis.scan_iter(match="mb:conv:{api:*:shared}")]  # every cluster node
        assert len(scoped) == 2
    finally:
        runtime.settings.assistant_api_keys = ""


async def test_a_retried_request_with_an_idempotency_key_is_processed_once(api, runtime):
    import asyncio

    headers = {"Idempotency-Key": "retry-1"}
    body = {"text": "как закрыть ип"}
    first, second = await asyncio.gather(
        api.post(URL.format("idem1"), json=body, headers=headers),
        api.post(URL.format("idem1"), json=body, headers=headers),
    )
    third = await api.post(URL.format("idem1"), json=body, headers=headers)
    assert first.status_code == second.status_code == third.status_code == 200
    assert first.json() == second.json() == third.json()
    history = await runtime.redis.lrange((await runtime.redis.keys("mb:conv:{api:*:idem1}"))[0] + ":history", 0, -1)
    assert sum('"from": "client"' in h for h in history) == 1
    other = await api.post(URL.format("idem1"), json=body, headers={"Idempotency-Key": "retry-2"})
    assert other.status_code == 200
