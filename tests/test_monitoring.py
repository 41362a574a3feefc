"""The example alert rules and dashboard in docs/monitoring use only what
GET /metrics exposes: every metric name, and every label they select or
group by, is read from a real scrape of the app."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest_asyncio
import yaml
from prometheus_client.parser import text_string_to_metric_families

from bot import metrics
from bot.app import create_app
from bot.runtime import Runtime
from bot.settings import ROOT

DOCS = ROOT / "docs" / "monitoring"
# Series Prometheus makes itself (not from the app) and labels it adds to every target.
PROMETHEUS_SERIES = {"up"}
PROMETHEUS_LABELS = {"job", "instance", "le"}
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}


@pytest_asyncio.fixture(scope="module")
async def exposed(settings, redis_server, retriever) -> dict[str, set[str]]:
    """Series name → its label names, from the app's own /metrics."""
    # one sample of each labelled metric, so that its label names show
    metrics.nlu_fallback("timeout")
    metrics.payment_webhook("yookassa", "applied")
    metrics.turn("api", "act", 0.1)
    runtime = await Runtime.create(settings, redis_server.url, None, retriever)
    try:
        transport = httpx.ASGITransport(app=create_app(runtime))
        async with httpx.AsyncClient(transport=transport, base_url="http://assistant") as http:
            resp = await http.get("/metrics")
    finally:
        await runtime.close()
    assert resp.status_code == 200
    series: dict[str, set[str]] = {}
    for family in text_string_to_metric_families(resp.text):
        labels = {name for s in family.samples for name in s.labels}
        for suffix in SUFFIXES.get(family.type, ()):
            series[family.name + suffix] = labels - {"le"} | ({"le"} if suffix == "_bucket" else set())
    return series


def alert_exprs() -> Iterator[tuple[str, str]]:
    rules = yaml.safe_load((DOCS / "alerts.yml").read_text(encoding="utf-8"))
    for group in rules["groups"]:
        for rule in group["rules"]:
            yield rule["alert"], rule["expr"]


def dashboard_exprs() -> Iterator[tuple[str, str]]:
    def walk(panels: list[dict[str, Any]]) -> Iterator[tuple[str, str]]:
        for panel in panels:
            for target in panel.get("targets", []):
                yield panel["title"], target["expr"]
            yield from walk(panel.get("panels", []))

    yield from walk(json.loads((DOCS / "dashboard.json").read_text(encoding="utf-8"))["panels"])


def names_in(expr: str) -> set[str]:
    return set(re.findall(r"\b(assistant_[a-z0-9_]+|up)\b(?=\s*[{\[)]|\s*$|\s*[=<>!])", expr))


def labels_in(expr: str) -> set[str]:
    selected = {m for sel in re.findall(r"\{([^}]*)\}", expr) for m in re.findall(r"(\w+)\s*(?:=~|!=|!~|=)", sel)}
    grouped = {g.strip() for clause in re.findall(r"\b(?:by|without)\s*\(([^)]*)\)", expr) for g in clause.split(",")}
    return selected | grouped


def test_the_alert_rules_are_complete_prometheus_rules():
    rules = yaml.safe_load((DOCS / "alerts.yml").read_text(encoding="utf-8"))
    names = []
    for group in rules["groups"]:
        for rule in group["rules"]:
            names.append(rule["alert"])
            assert rule["labels"]["severity"] in ("warning", "critical"), rule["alert"]
            assert rule["annotations"]["summary"] and rule["annotations"]["description"], rule["alert"]
            assert re.fullmatch(r"\d+[smh]", str(rule.get("for", "0s"))), rule["alert"]
    assert len(names) == len(set(names))
    # what the operations brief asks to watch, each covered by a rule
    used = " ".join(expr for _, expr in alert_exprs())
    for watched in (
        "up{",
        "assistant_nlu_fallbacks_total",
        "assistant_turn_seconds_bucket",
        "assistant_handoff_oldest_wait_seconds",
        "assistant_notification_backlog",
        "assistant_payment_webhooks_total",
    ):
        assert watched in used, watched


def test_the_dashboard_is_a_grafana_dashboard_on_a_prometheus_source():
    dashboard = json.loads((DOCS / "dashboard.json").read_text(encoding="utf-8"))
    assert dashboard["uid"] and dashboard["title"] and dashboard["schemaVersion"] >= 30
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        if panel["type"] != "row":
            assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
            assert panel["targets"], panel["title"]


def test_every_metric_and_label_the_docs_use_is_exposed(exposed):
    checked = 0
    for where, expr in [*alert_exprs(), *dashboard_exprs()]:
        used = names_in(expr)
        assert used, f"{where}: no metric found in {expr!r}"
        for name in used - PROMETHEUS_SERIES:
            assert name in exposed, f"{where}: {name} is not served by /metrics"
            checked += 1
        known = set().union(*(exposed.get(n, set()) for n in used)) | PROMETHEUS_LABELS
        assert labels_in(expr) <= known, f"{where}: labels {labels_in(expr) - known} are not on {used}"
    assert checked > 20


def test_the_checks_catch_a_wrong_name():
    assert names_in("sum(rate(assistant_turn_total[5m]))") == {"assistant_turn_total"}
    assert labels_in('sum by (chanel) (rate(assistant_turns_total{decison="act"}[5m]))') == {"chanel", "decison"}
