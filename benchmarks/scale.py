"""Capacity and state growth (issue 15): `python -m benchmarks.scale`, or a part of `make bench`.

capacity  1, 2 (and 4) app processes (`python -m bot serve`, each with its own
          Rasa server) sharing one Redis, driven by an async HTTP driver that
          sends each turn to the next process in turn (round-robin per
          request, so one conversation's turns land on every process):
          throughput and p50/p95/p99 at 1, 10, 50 and 200 concurrent
          conversations, errors, resident memory per process, and a check
          that every acknowledged turn was persisted exactly once (the
          client lines of each conversation's history == its 200 answers).
state     Redis memory per 10,000 conversations with histories (real
          ConversationStore writes, real knowledge-base answers as the bot's
          lines) and per 100,000 consent records (real Ledger appends), and
          what bounds them (caps and TTLs in bot/store/keys.py).

Each load level runs for `--seconds` (bounded in time; loopback only).
Results: benchmarks/results/scale.md, scale.json and scale.png.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx

from benchmarks.__main__ import API_KEY, QUESTIONS, RESULTS, Assistant, free_port, percentile, rss_mb, table

LEVELS = (1, 10, 50, 200)


# ------------------------------------------------------------------ capacity
async def drive(urls: list[str], concurrency: int, seconds: float, tag: str) -> dict:
    """`concurrency` conversations, each sending its next turn as soon as the last is answered."""
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    acked: Counter[str] = Counter()
    limits = httpx.Limits(max_connections=concurrency * len(urls) + 10)

    async def conversation(client: httpx.AsyncClient, n: int, until: float) -> None:
        t = 0
        cid = f"{tag}-c{concurrency}-{n}"
        while time.perf_counter() < until:
            url = urls[(n + t) % len(urls)]
            text = QUESTIONS[(n + t) % len(QUESTIONS)]
            started = time.perf_counter()
            try:
                resp = await client.post(f"{url}/api/v1/conversations/{cid}/messages", json={"text": text})
                if resp.status_code == 200:
                    latencies.append((time.perf_counter() - started) * 1000)
                    acked[cid] += 1
                else:
                    errors[str(resp.status_code)] += 1
            except httpx.HTTPError as exc:
                errors[exc.__class__.__name__] += 1
            t += 1

    async with httpx.AsyncClient(headers={"X-Api-Key": API_KEY}, timeout=60, limits=limits) as client:
        await conversation(client, -1, time.perf_counter() + 2)  # warm-up, every process
        latencies.clear()
        acked.clear()
        started = time.perf_counter()
        until = started + seconds
        await asyncio.gather(*(conversation(client, n, until) for n in range(concurrency)))
        wall = time.perf_counter() - started
    return {
        "concurrency": concurrency,
        "turns": len(latencies),
        "errors": sum(errors.values()),
        "error_kinds": dict(errors),
        "throughput_tps": len(latencies) / wall,
        "p50_ms": percentile(latencies, 0.5) if latencies else None,
        "p95_ms": percentile(latencies, 0.95) if latencies else None,
        "p99_ms": percentile(latencies, 0.99) if latencies else None,
        "mean_ms": statistics.mean(latencies) if latencies else None,
        "acked": dict(acked),
    }


async def persisted_exactly_once(redis_url: str, key_id: str, acked: dict[str, int]) -> int:
    """Conversations whose history does not hold exactly one client line per answered turn."""
    from bot.channels.api import scoped_conversation_id
    from bot.store import connect
    from bot.store.conversations import ConversationStore

    redis = connect(redis_url)
    store, wrong = ConversationStore(redis), 0
    try:
        for cid, n in acked.items():
            history = await store.history(scoped_conversation_id(key_id, cid))
            wrong += sum(h["from"] == "client" for h in history) != n
    finally:
        await redis.aclose()
    return wrong


def bench_capacity(processes: list[int], levels: list[int], seconds: float) -> list[dict]:
    import hashlib

    from bot.settings import get_settings
    from bot.store.redis_server import EmbeddedRedis
    from nlu.service import RasaServers, ensure_model

    settings = get_settings()
    model = ensure_model(settings.rasa_venv)
    key_id = hashlib.sha256(API_KEY.encode()).hexdigest()[:10]
    rows: list[dict] = []
    for count in processes:
        store = EmbeddedRedis(Path(tempfile.mkdtemp(prefix="bench-store-")), port=free_port()).start()
        token = secrets.token_urlsafe(24)
        rasa = RasaServers(settings.rasa_venv, model, [free_port() for _ in range(count)], token=token).start()
        apps: list[Assistant] = []
        try:
            rasa.wait_ready()
            # each process talks to its own Rasa server first and to the others when it is busy
            for i in range(count):
                urls = rasa.urls[i:] + rasa.urls[:i]
                apps.append(
                    Assistant(",".join(urls), token, {"REDIS_URL": store.url, "API_RATE_LIMIT_PER_MINUTE": "0"})
                )
            for app in apps:
                app.wait_ready()
            for level in levels:
                row = asyncio.run(drive([a.url for a in apps], level, seconds, f"p{count}"))
                row["lost_or_doubled"] = asyncio.run(persisted_exactly_once(store.url, key_id, row.pop("acked")))
                row["processes"] = count
                row["load_average"] = os.getloadavg()[0]  # other work on the machine skews the figures
                row["app_rss_mb"] = statistics.mean(rss_mb(a.proc.pid) for a in apps)
                row["rasa_rss_mb"] = statistics.mean(rss_mb(s.proc.pid) for s in rasa.servers if s.proc)
                print(table([row], CAPACITY_COLUMNS).splitlines()[-1], file=sys.stderr, flush=True)
                rows.append(row)
        finally:
            for app in apps:
                app.stop()
            rasa.stop()
            store.stop()
            shutil.rmtree(store.data_dir, ignore_errors=True)
    return rows


CAPACITY_COLUMNS = [
    ("processes", "app processes", "d"),
    ("concurrency", "concurrent", "d"),
    ("turns", "turns", "d"),
    ("errors", "errors", "d"),
    ("throughput_tps", "turns/s", ".1f"),
    ("p50_ms", "p50 ms", ".0f"),
    ("p95_ms", "p95 ms", ".0f"),
    ("p99_ms", "p99 ms", ".0f"),
    ("lost_or_doubled", "histories ≠ answers", "d"),
    ("app_rss_mb", "app RSS MB", ".0f"),
    ("rasa_rss_mb", "Rasa RSS MB", ".0f"),
    ("load_average", "load avg", ".1f"),
    ("seconds", "s a level", ".0f"),
]


# ------------------------------------------------------------------ state
async def _state(conversations: int, turns: int, consent_clients: int, records_each: int) -> dict:
    from bot.consent.ledger import Ledger
    from bot.consent.model import Action, Kind, Record
    from bot.runtime import contract_topic_ids
    from bot.settings import get_settings
    from bot.store import connect, keys
    from bot.store.conversations import ConversationState, ConversationStore
    from bot.store.redis_server import EmbeddedRedis
    from knowledge_base.loader import load_knowledge_base

    kb = load_knowledge_base(get_settings().kb_dir, contract_topic_ids())
    answers = [kb[t] for t in kb.ids()]
    server = EmbeddedRedis(Path(tempfile.mkdtemp(prefix="bench-state-")), port=free_port()).start()
    redis = connect(server.url)
    try:

        async def used() -> int:
            return int((await redis.info("memory"))["used_memory"])

        base = await used()
        store = ConversationStore(redis)
        now = time.time()
        for n in range(conversations):
            cid = f"tg:{100000 + n}"
            state = ConversationState(conversation_id=cid, client_id=f"tg:{n}", channel="telegram", turns=turns)
            entries = []
            for t in range(turns):
                topic = answers[(n + t) % len(answers)]
                entries.append(
                    {"ts": now, "from": "client", "text": topic.question, "payload": None, "channel": "telegram"}
                )
                entries.append({"ts": now, "from": "bot", "kind": "answer", "text": topic.answer, "faq_id": topic.id})
            await store.save(state, *entries)
        conv_bytes = await used() - base
        base = await used()
        ledger = Ledger(redis)
        scopes = ["callback", "application", "booking", "payments", "notifications"]
        for n in range(consent_clients):
            client = f"tg:{n}"
            records = [
                Record(
                    client_id=client,
                    kind=Kind.personal_data,
                    scope=scopes[i % len(scopes)],
                    action=Action.grant if i % 3 else Action.withdraw,
                    ts=now + i,
                    channel="telegram",
                    text_id="pd-callback",
                    version="2025-03-01",
                    sha256=secrets.token_hex(32),
                    title="обработка персональных данных для обратного звонка",
                )
                for i in range(records_each)
            ]
            await ledger.append(*records)
        consent_bytes = await used() - base
        one_entry = len(json.dumps({"text": answers[0].answer}, ensure_ascii=False).encode())
        return {
            "conversations": conversations,
            "turns_each": turns,
            "bytes_per_conversation": conv_bytes / conversations,
            "mb_per_10k_conversations": conv_bytes / conversations * 10_000 / 2**20,
            "consent_records": consent_clients * records_each,
            "bytes_per_consent_record": consent_bytes / (consent_clients * records_each),
            "mb_per_100k_consent_records": consent_bytes / (consent_clients * records_each) * 100_000 / 2**20,
            "history_cap_entries": keys.HISTORY_MAX,
            "worst_case_mb_per_10k_conversations": (
                conv_bytes / conversations / (2 * turns) * keys.HISTORY_MAX * 10_000 / 2**20
            ),
            "answer_entry_bytes": one_entry,
        }
    finally:
        await redis.aclose()
        server.stop()
        shutil.rmtree(server.data_dir, ignore_errors=True)


def bench_state(
    conversations: int = 10_000, turns: int = 6, consent_clients: int = 20_000, records_each: int = 5
) -> dict:
    return asyncio.run(_state(conversations, turns, consent_clients, records_each))


def state_report(s: dict) -> str:
    return "\n".join(
        [
            "| what | measured | per |",
            "|---|---|---|",
            f"| {s['conversations']:,} conversations, {s['turns_each']} turns each (question + knowledge-base answer) "
            f"| {s['mb_per_10k_conversations']:.1f} MB "
            f"| 10,000 conversations ({s['bytes_per_conversation']:,.0f} B each) |",
            f"| the same at the history cap ({s['history_cap_entries']} lines a conversation) "
            f"| {s['worst_case_mb_per_10k_conversations']:,.0f} MB | 10,000 conversations (upper bound) |",
            f"| {s['consent_records']:,} consent records (ledger + audit stream + cached state) "
            f"| {s['mb_per_100k_consent_records']:.1f} MB "
            f"| 100,000 records ({s['bytes_per_consent_record']:,.0f} B each) |",
        ]
    )


# ------------------------------------------------------------------ report
def chart(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for count in sorted({r["processes"] for r in rows}):
        mine = [r for r in rows if r["processes"] == count and r["turns"]]
        conc = [r["concurrency"] for r in mine]
        axes[0].plot(conc, [r["throughput_tps"] for r in mine], marker="o", label=f"{count} process(es)")
        axes[1].plot(conc, [r["p95_ms"] for r in mine], marker="o", label=f"{count} process(es), p95")
    for ax, title, unit in ((axes[0], "throughput", "turns/s"), (axes[1], "p95 turn latency", "ms")):
        ax.set_xscale("log")
        ax.set_xlabel("concurrent conversations")
        ax.set_ylabel(unit)
        ax.set_title(title)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def report(results: dict) -> str:
    parts = ["# Capacity and state growth (benchmarks/scale.py)\n"]
    if results.get("capacity"):
        setup = results.get("capacity_setup", {})
        parts += [
            f"## Capacity on one machine ({setup.get('cores', '?')} cores)\n",
            "Each app process has its own Rasa server; one shared Redis; every request goes to the next "
            "process (round-robin), so one conversation's turns land on all of them.\n",
            table(results["capacity"], CAPACITY_COLUMNS),
            "",
        ]
    stock_file = RESULTS / "stock_rasa.json"
    if results.get("capacity") and stock_file.exists():
        parts += [stock_report(results["capacity"], json.loads(stock_file.read_text(encoding="utf-8"))), ""]
    if results.get("state"):
        parts += ["## State growth\n", state_report(results["state"]), ""]
    return "\n".join(parts)


def stock_report(capacity: list[dict], stock: dict) -> str:
    """This assistant (one process, one Rasa server) beside the stock Rasa bot at each level."""
    ours = {r["concurrency"]: r for r in capacity if r["processes"] == 1}
    rows = []
    for s in stock["load"]:
        o = ours.get(s["concurrency"])
        if not o or not s["turns"]:
            continue
        rows.append(
            {
                "concurrency": s["concurrency"],
                "ours_tps": o["throughput_tps"],
                "ours_p95": o["p95_ms"],
                "stock_tps": s["throughput_tps"],
                "stock_p95": s["p95_ms"],
                "ratio": o["throughput_tps"] / s["throughput_tps"],
                "stock_rss": s["rss_mb"],
            }
        )
    columns = [
        ("concurrency", "concurrent", "d"),
        ("ours_tps", "assistant turns/s", ".1f"),
        ("ours_p95", "assistant p95 ms", ".0f"),
        ("stock_tps", "stock Rasa turns/s", ".1f"),
        ("stock_p95", "stock Rasa p95 ms", ".0f"),
        ("ratio", "throughput ratio", ".2f"),
        ("stock_rss", "stock Rasa RSS MB", ".0f"),
    ]
    return "\n".join(
        [
            "## Against a stock Rasa 3.6 bot (benchmarks/stock_rasa.py)\n",
            "`rasa run`, REST channel, stock pipeline with a RulePolicy, the same FAQ answers as responses, "
            f"trained in {stock['train_seconds']:.0f} s; it keeps conversations in memory only. The assistant: one "
            "app process with one Rasa server, persisting every turn. Same driver and questions.\n",
            table(rows, columns),
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Capacity and state growth")
    parser.add_argument("--only", nargs="*", choices=["capacity", "state"], default=["capacity", "state"])
    parser.add_argument("--processes", nargs="*", type=int, default=[1, 2, 4])
    parser.add_argument("--levels", nargs="*", type=int, default=list(LEVELS))
    parser.add_argument("--seconds", type=float, default=20.0, help="how long each load level runs")
    parser.add_argument("--conversations", type=int, default=10_000)
    parser.add_argument("--consent-clients", type=int, default=20_000, help="5 records each")
    args = parser.parse_args(argv)
    RESULTS.mkdir(parents=True, exist_ok=True)
    saved = RESULTS / "scale.json"
    results: dict = json.loads(saved.read_text(encoding="utf-8")) if saved.exists() else {}
    if "state" in args.only:
        results["state"] = bench_state(args.conversations, 6, args.consent_clients, 5)
    if "capacity" in args.only:
        # rows not measured now are kept (e.g. a later run of one more level, or of 4 processes only)
        fresh = [{**r, "seconds": args.seconds} for r in bench_capacity(args.processes, args.levels, args.seconds)]
        measured = {(r["processes"], r["concurrency"]) for r in fresh}
        earlier = results.get("capacity_setup", {}).get("seconds")
        kept = [
            {"seconds": earlier, **r}
            for r in results.get("capacity", [])
            if (r["processes"], r["concurrency"]) not in measured
        ]
        results["capacity"] = sorted(kept + fresh, key=lambda r: (r["processes"], r["concurrency"]))
        results["capacity_setup"] = {"cores": os.cpu_count(), "seconds": args.seconds}
    text = report(results)
    (RESULTS / "scale.md").write_text(text, encoding="utf-8")
    saved.write_text(json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8")
    if results.get("capacity"):
        chart(results["capacity"], RESULTS / "scale.png")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
