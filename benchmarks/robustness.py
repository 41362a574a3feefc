"""Issue 18: messages as people really type them (eval/robustness.tsv), per category.

Shared by `make bench` (part `robustness`, through the real HTTP API) and
tests/test_robustness_set.py (the done-when targets). A row is judged from the
API's response alone:

- cyr / layout / translit / long_question / business: the top-1 reading is the expected one;
- fine: the text came through unchanged (no `understanding.normalization`);
- elsewhere: `understanding.other_service` is the expected service, no reply is a
  knowledge-base answer, and the operator is offered;
- long_action: the action is started (the reply is its flow) or offered as a
  `do:<intent>` button.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

FILE = Path(__file__).resolve().parent.parent / "eval" / "robustness.tsv"
OPERATOR_PAYLOAD = "do:ask_operator"


def rows(path: Path = FILE) -> list[tuple[str, str, str]]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            kind, expected, text = line.split("\t")
            out.append((kind, expected, text))
    return out


def _label(candidate: dict[str, Any]) -> str:
    return f"faq:{candidate['faq_id']}" if candidate["intent"] == "faq" else candidate["intent"]


def judge(kind: str, expected: str, response: dict[str, Any]) -> bool:
    u = response.get("understanding") or {}
    replies = response.get("replies", [])
    payloads = {b.get("payload") for r in replies for b in r.get("buttons", [])}
    if kind == "fine":
        return not u.get("normalization")
    if kind == "elsewhere":
        return (
            u.get("other_service") == expected
            and all(r["kind"] != "answer" for r in replies)
            and OPERATOR_PAYLOAD in payloads
        )
    if kind == "long_action":
        started = u.get("intent") == expected and (response.get("state") or {}).get("flow")
        return bool(started) or f"do:{expected}" in payloads
    ranking = u.get("ranking") or []
    return bool(ranking) and _label(ranking[0]) in expected.split("|")


async def run(send: Callable[[str, str], Awaitable[dict[str, Any]]]) -> tuple[list[dict[str, Any]], list[str]]:
    """Per-category accuracy and the failures; `send(conversation id, text)` → the API response."""
    hits: dict[str, int] = defaultdict(int)
    totals: dict[str, int] = defaultdict(int)
    failures = []
    for i, (kind, expected, text) in enumerate(rows()):
        response = await send(f"rob{i}", text)
        ok = judge(kind, expected, response)
        totals[kind] += 1
        hits[kind] += ok
        if not ok:
            u = response.get("understanding") or {}
            top = [_label(c) for c in (u.get("ranking") or [])[:3]]
            kinds = [r["kind"] for r in response.get("replies", [])]
            failures.append(f"{kind} {expected} {text[-90:]!r} -> {top} {kinds} {u.get('normalization')}")
    by_kind = {k: hits[k] / totals[k] for k in totals}
    table: list[dict[str, Any]] = [{"kind": k, "n": totals[k], "accuracy": by_kind[k]} for k in totals]
    for kind in ("layout", "translit"):
        if by_kind.get("cyr"):
            table.append({"kind": f"{kind} / cyr", "n": totals[kind], "accuracy": by_kind[kind] / by_kind["cyr"]})
    return table, failures
