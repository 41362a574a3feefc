"""Prometheus metrics of one app process, served at GET /metrics (text format).

The metric objects live in one registry here; the code that knows an event
calls one function (`turn`, `nlu_fallback`, `payment_webhook`). Labels take
only values from closed sets (channel names, decision families, outcomes):
never a text, a conversation or client id, a payload's value.

Counters and the histogram are per process: with several app processes
Prometheus scrapes each one (one target per replica) and `sum()` adds them
up. The gauges are read from Redis at scrape time (a few O(1)/O(log n)
commands), so every replica reports the same shared queue.

Access: from this machine (loopback, not through a proxy) without
credentials; from elsewhere only with `Authorization: Bearer <METRICS_TOKEN>`.
"""

from __future__ import annotations

import hmac
import logging
from typing import TYPE_CHECKING

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from bot.channels.catalogue import CHANNELS

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger("metrics")

PATH = "/metrics"
OTHER = "other"
# The decision's family: what precedes the first «:» of Turn.decision (bot/core/engine.py);
# «flow:pay», «button:faq», «handoff:<value>» count as flow, button, handoff.
DECISIONS = frozenset(
    {
        "act",
        "clarify",
        "options",
        "out_of_scope",
        "foreign_language",
        "elsewhere",
        "flow",
        "button",
        "resolved",
        "segment",
        "cancel",
        "handoff",
        "to_operator",
        "intercepted",
        "history",
        "services",
        "payment_status",
        "application_status",
        "rate_limited",
        "none",
        "busy",  # the conversation was busy with the previous message: refused
        "failed",  # the turn raised: the client got the generic error
        "repeated",  # a retried request got the result its turn saved (no second turn)
    }
)
NLU_REASONS = frozenset({"timeout", "error"})
WEBHOOK_PROVIDERS = frozenset({"yookassa", "telegram"})
WEBHOOK_OUTCOMES = frozenset(
    {"applied", "unchanged", "duplicate", "ignored", "unknown", "mismatch", "not_confirmed", "retry"}
)

REGISTRY = CollectorRegistry()
TURNS = Counter(
    "assistant_turns",
    "Client messages and button presses handled, by channel and decision family",
    ["channel", "decision"],
    registry=REGISTRY,
)
TURN_SECONDS = Histogram(
    "assistant_turn_seconds",
    "Time to handle one turn, from arrival to the replies (includes NLU, store, flows)",
    ["channel"],
    buckets=(0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
    registry=REGISTRY,
)
NLU_FALLBACKS = Counter(
    "assistant_nlu_fallbacks",
    "NLU parses that failed (timeout: no Rasa server answered in time; error: it failed) "
    "and were answered from the knowledge base alone",
    ["reason"],
    registry=REGISTRY,
)
PAYMENT_WEBHOOKS = Counter(
    "assistant_payment_webhooks",
    "Payment notifications received, by provider and what came of them "
    "(retry: the gateway could not confirm it, it will deliver again)",
    ["provider", "outcome"],
    registry=REGISTRY,
)
HANDOFF_QUEUE = Gauge(
    "assistant_handoff_queue_length", "Conversations waiting for an operator (shared store)", registry=REGISTRY
)
HANDOFF_OLDEST_WAIT = Gauge(
    "assistant_handoff_oldest_wait_seconds",
    "How long the longest-waiting client has waited for an operator (0 = nobody waits)",
    registry=REGISTRY,
)
NOTIFICATION_BACKLOG = Gauge(
    "assistant_notification_backlog",
    "Notifications due now and not yet delivered (shared store)",
    registry=REGISTRY,
)
STORE_UP = Gauge("assistant_store_up", "1 when the store answered the last scrape's reads, else 0", registry=REGISTRY)


def _closed(value: str, allowed: frozenset[str] | dict[str, str]) -> str:
    return value if value in allowed else OTHER


def decision_family(decision: str) -> str:
    return _closed(decision.partition(":")[0], DECISIONS)


def turn(channel: str, decision: str, seconds: float) -> None:
    """One turn done (or refused): counted by channel and decision family, and timed."""
    channel = _closed(channel, CHANNELS)
    TURNS.labels(channel, decision_family(decision)).inc()
    TURN_SECONDS.labels(channel).observe(seconds)


def nlu_fallback(reason: str) -> None:
    NLU_FALLBACKS.labels(_closed(reason, NLU_REASONS)).inc()


def payment_webhook(provider: str, outcome: str) -> None:
    PAYMENT_WEBHOOKS.labels(_closed(provider, WEBHOOK_PROVIDERS), _closed(outcome, WEBHOOK_OUTCOMES)).inc()


async def read_gauges(runtime: Runtime) -> None:
    """The shared queues' sizes, read now; a store that does not answer sets store_up 0
    and leaves the gauges as they were (the counters are still served)."""
    try:
        if runtime.handoff is not None:
            HANDOFF_QUEUE.set(await runtime.handoff.queue.length())
            HANDOFF_OLDEST_WAIT.set(await runtime.handoff.queue.oldest_wait())
        if runtime.consent is not None:
            from bot.consent.notifications import backlog

            NOTIFICATION_BACKLOG.set(await backlog(runtime.redis))
    except Exception as exc:  # noqa: BLE001 - any store failure: report it as a metric, still serve
        log.warning("metrics: the store did not answer: %s", exc.__class__.__name__)
        STORE_UP.set(0)
    else:
        STORE_UP.set(1)


# ------------------------------------------------------------------ access
LOOPBACK = ("127.0.0.1", "::1")
PROXY_HEADERS = ("forwarded", "x-forwarded-for", "x-real-ip")
REFUSED = (
    "Метрики доступны без ключа только с этого компьютера. Для сбора с другого адреса задайте "
    "на сервере METRICS_TOKEN и передайте его в заголовке Authorization: Bearer <токен> "
    "(в Prometheus — authorization.credentials в scrape_configs)."
)


def allowed(request: Request, token: str) -> bool:
    """The token when one is set; else (or also) a direct call from this machine. A call
    that came through a proxy on this machine is not «from this machine»."""
    given = request.headers.get("authorization", "")
    scheme, _, credentials = given.partition(" ")
    if token and scheme.lower() == "bearer" and hmac.compare_digest(credentials.strip().encode(), token.encode()):
        return True
    host = request.client.host if request.client else ""
    return host in LOOPBACK and not any(h in request.headers for h in PROXY_HEADERS)


def add_route(app: FastAPI, runtime: Runtime) -> None:
    @app.get(PATH, include_in_schema=False)
    async def metrics(request: Request) -> Response:
        if not allowed(request, runtime.settings.metrics_token):
            body = {"error": "forbidden", "message": REFUSED, "details": []}
            return JSONResponse(status_code=403, content=body)
        await read_gauges(runtime)
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
