"""GET /metrics: what a turn, an NLU failure, a payment notification and the
shared queues show in Prometheus' text format, and who may read it. A real
Redis of its own (the queue gauges must see only this module's data) and the
real app through its ASGI interface; no Rasa (its failures are the subject)."""

from __future__ import annotations

import socket
import time
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from prometheus_client.parser import text_string_to_metric_families

from bot.app import create_app
from bot.consent.notifications import enqueue
from bot.core.messages import Incoming
from bot.runtime import Runtime
from bot.store.redis_server import EmbeddedRedis
from handoff.queue import HandoffQueue
from nlu.client import RasaClient
from tests.conftest import API_KEY

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture(scope="module")
def own_redis(tmp_path_factory) -> EmbeddedRedis:
    server = EmbeddedRedis(tmp_path_factory.mktemp("metrics-redis")).start()
    yield server
    server.stop()


@pytest_asyncio.fixture(scope="module")
async def runtime(settings, own_redis, retriever) -> AsyncIterator[Runtime]:
    conf = settings.model_copy(update={"metrics_token": "scrape-secret", "nlu_timeout_seconds": 0.5})
    rt = await Runtime.create(conf, own_redis.url, None, retriever)
    yield rt
    await rt.close()


def client(runtime: Runtime, address: str = "127.0.0.1", **headers: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=create_app(runtime), client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://assistant", headers=headers)


async def scrape(runtime: Runtime) -> Samples:
    async with client(runtime) as http:
        resp = await http.get("/metrics")
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/plain")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(resp.text)
        for s in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_a_turn_counts_under_its_channel_and_decision(runtime):
    before = await scrape(runtime)
    async with client(runtime, **{"X-Api-Key": API_KEY}) as http:
        resp = await http.post("/api/v1/conversations/m1/messages", json={"payload": "faq:register_ip"})
    assert resp.status_code == 200
    after = await scrape(runtime)
    counted = value(after, "assistant_turns_total", channel="api", decision="button")
    assert counted == value(before, "assistant_turns_total", channel="api", decision="button") + 1
    assert value(after, "assistant_turn_seconds_count", channel="api") == (
        value(before, "assistant_turn_seconds_count", channel="api") + 1
    )
    # nothing else moved: one turn, one label set
    moved = {k for k in after if k[0] == "assistant_turns_total" and after[k] != before.get(k, 0.0)}
    assert moved == {("assistant_turns_total", (("channel", "api"), ("decision", "button")))}


async def test_labels_take_only_closed_values(runtime):
    """A payload's value or an unknown channel never becomes a label (no free text in metrics)."""
    secret = "client-typed-secret"
    await runtime.engine.handle(
        Incoming(conversation_id="m-odd", channel=f"x-{secret}", client_id="m-odd", payload=f"zz:{secret}")
    )
    text = str(await scrape(runtime))
    assert secret not in text
    assert "'other'" in text  # the unknown channel counted as «other»


async def test_nlu_failures_count_as_fallbacks_by_reason(runtime):
    silent = socket.socket()  # accepts connections (backlog), never answers: a time-out
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    refused = socket.socket()  # bound, not listening: connection refused
    refused.bind(("127.0.0.1", 0))
    understander = runtime.engine.understander
    try:
        for reason, sock in {"timeout": silent, "error": refused}.items():
            understander.nlu = RasaClient(f"http://127.0.0.1:{sock.getsockname()[1]}", 0.5)
            before = value(await scrape(runtime), "assistant_nlu_fallbacks_total", reason=reason)
            result = await runtime.engine.handle(
                Incoming(conversation_id=f"m-nlu-{reason}", channel="api", client_id="m", text="как закрыть ип")
            )
            await understander.nlu.close()
            assert result.replies  # answered from the knowledge base all the same
            assert value(await scrape(runtime), "assistant_nlu_fallbacks_total", reason=reason) > before
    finally:
        understander.nlu = None
        silent.close()
        refused.close()


async def test_queue_gauges_are_read_from_the_store_at_scrape_time(runtime):
    now = time.time()
    queue = HandoffQueue(runtime.redis, segment_priority={"sme": 600})
    await queue.enqueue("m-wait-a", client_id="a", channel="api", now=now - 100)
    await queue.enqueue("m-wait-b", client_id="b", channel="api", segment="sme", now=now - 50)
    await enqueue(runtime.redis, "m-client", "transactional", "Оплата получена", basis="оплата")
    runtime.handoff.queue.segment_priority = {"sme": 600}  # b is first in line, a waited longest
    samples = await scrape(runtime)
    assert value(samples, "assistant_handoff_queue_length") == 2
    assert 100 <= value(samples, "assistant_handoff_oldest_wait_seconds") < 100 + 60
    assert value(samples, "assistant_notification_backlog") == 1
    assert value(samples, "assistant_store_up") == 1
    await queue.claim("op", "m-wait-a")
    assert 50 <= await queue.oldest_wait() < 50 + 60  # the next longest-waiting


async def test_payment_notifications_count_by_outcome(runtime):
    before = value(await scrape(runtime), "assistant_payment_webhooks_total", provider="yookassa", outcome="ignored")
    async with client(runtime, address="203.0.113.9") as http:  # the gateway calls from outside
        resp = await http.post("/payments/yookassa/notifications", content=b"not json")
    assert resp.status_code == 200
    after = value(await scrape(runtime), "assistant_payment_webhooks_total", provider="yookassa", outcome="ignored")
    assert after == before + 1


@pytest.mark.parametrize(
    ("address", "headers", "status"),
    [
        ("203.0.113.9", {}, 403),  # from elsewhere, no token
        ("203.0.113.9", {"X-Api-Key": API_KEY}, 403),  # an API client's key is not a scrape token
        ("203.0.113.9", {"Authorization": "Bearer wrong"}, 403),
        ("203.0.113.9", {"Authorization": "Bearer scrape-secret"}, 200),
        ("127.0.0.1", {}, 200),  # this machine
        ("127.0.0.1", {"X-Forwarded-For": "203.0.113.9"}, 403),  # through a local proxy: not this machine
        ("::1", {}, 200),
    ],
)
async def test_who_may_read_metrics(runtime, address, headers, status):
    async with client(runtime, address=address, **headers) as http:
        resp = await http.get("/metrics")
    assert resp.status_code == status
    if status == 403:
        assert "METRICS_TOKEN" in resp.json()["message"] and "assistant_turns" not in resp.text
    else:
        assert "# TYPE assistant_turns_total counter" in resp.text
