"""When a part dies the assistant says so honestly and a client can still
reach a person: Redis killed under the app, Rasa not answering."""

from __future__ import annotations

import httpx

from bot.app import create_app
from bot.runtime import Runtime
from bot.store.redis_server import EmbeddedRedis
from tests.conftest import API_KEY

DEAD_RASA = "http://127.0.0.1:9"  # nothing listens on the discard port: a killed Rasa


def client_for(runtime: Runtime) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(runtime)),
        base_url="http://assistant",
        headers={"X-Api-Key": API_KEY},
        timeout=60,
    )


async def test_with_rasa_down_readiness_says_why_and_the_operator_is_still_reachable(settings, redis_server, retriever):
    runtime = await Runtime.create(settings, redis_server.url, DEAD_RASA, retriever)
    try:
        async with client_for(runtime) as api:
            ready = await api.get("/readyz")
            assert ready.status_code == 503
            reason = ready.json()["reason"]
            assert "NLU (Rasa)" in reason and "does not answer" in reason and "knowledge base" in reason
            asked = (
                await api.post("/api/v1/conversations/nlu-down-op/messages", json={"text": "позовите оператора"})
            ).json()
            assert asked["replies"][0]["kind"] == "handoff" and asked["understanding"]["intent"] == "ask_operator"
            await api.post("/api/v1/conversations/nlu-down-op/messages", json={"text": "отмена"})
            back = (
                await api.post("/api/v1/conversations/nlu-down-cb/messages", json={"text": "перезвоните мне"})
            ).json()
            assert back["state"]["flow"] == "callback"
            faq = (
                await api.post("/api/v1/conversations/nlu-down-faq/messages", json={"text": "как закрыть ип"})
            ).json()
            assert faq["understanding"]["faq_id"] == "close_ip"  # questions: from the knowledge base alone
    finally:
        await runtime.close()


async def test_with_redis_killed_readiness_says_so_and_the_client_is_told_to_retry(
    tmp_path, settings, rasa_url, retriever
):
    server = EmbeddedRedis(tmp_path / "redis").start()
    runtime = await Runtime.create(settings, server.url, rasa_url, retriever)
    try:
        async with client_for(runtime) as api:
            assert (await api.get("/readyz")).json() == {"status": "ready", "reason": "ready"}
            server.stop(kill=True)
            ready = await api.get("/readyz")
            assert ready.status_code == 503 and "store (Redis) does not answer" in ready.json()["reason"]
            sent = await api.post("/api/v1/conversations/redis-down/messages", json={"text": "как закрыть ип"})
            assert sent.status_code == 503
            body = sent.json()
            assert body["error"] == "temporarily_unavailable" and "Traceback" not in body["message"]
            assert "попробуйте" in body["message"].lower()
            server = EmbeddedRedis(tmp_path / "redis").start()  # back: the same app recovers by itself
            again = await api.post("/api/v1/conversations/redis-down/messages", json={"text": "как закрыть ип"})
            assert again.status_code == 200 and (await api.get("/readyz")).status_code == 200
    finally:
        await runtime.close()
        server.stop()
