"""The bot a team would otherwise run: stock Rasa 3.6 (`rasa run`, REST channel,
the stock NLU pipeline of benchmarks/nlu_hwu64.py with a RulePolicy), the same
FAQ content as responses (one `utter_faq__<topic>` per knowledge-base topic,
the same training examples as nlu/data), measured with the same driver and
levels as benchmarks/scale.py. It persists nothing (in-memory tracker store).

`python -m benchmarks.stock_rasa` trains once (cached by content) in
benchmarks/.cache/stock_bot and writes stock_rasa.json beside the other results.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx
import yaml

from benchmarks.__main__ import QUESTIONS, RESULTS, ROOT, free_port, percentile, rss_mb
from benchmarks.nlu_hwu64 import STOCK_CONFIG

HERE = ROOT / "benchmarks" / ".cache" / "stock_bot"
RASA = ROOT / ".venv-rasa" / "bin" / "rasa"
DATA_FILES = ("faq.yml", "intents.yml", "out_of_scope.yml")


def write_project() -> str:
    """The stock bot's files; returns a hash of them (the model's cache key)."""
    from bot.runtime import contract_topic_ids
    from bot.settings import get_settings
    from knowledge_base.loader import load_knowledge_base

    kb = load_knowledge_base(get_settings().kb_dir, contract_topic_ids())
    (HERE / "data").mkdir(parents=True, exist_ok=True)
    intents: list[str] = []
    for name in DATA_FILES:
        text = (ROOT / "nlu" / "data" / name).read_text(encoding="utf-8")
        (HERE / "data" / name).write_text(text, encoding="utf-8")
        intents += [item["intent"] for item in yaml.safe_load(text).get("nlu", []) if "intent" in item]
    intents = sorted(set(intents))
    responses = {f"utter_{i}": [{"text": kb[i.removeprefix("faq__")].answer}] for i in intents if i.startswith("faq__")}
    responses["utter_default"] = [{"text": "Я могу ответить на вопросы о господдержке бизнеса."}]
    domain = {"version": "3.1", "intents": intents, "responses": responses}
    rules = [
        {
            "rule": i,
            "steps": [{"intent": i}, {"action": f"utter_{i}" if f"utter_{i}" in responses else "utter_default"}],
        }
        for i in intents
    ]
    files = {
        "config.yml": STOCK_CONFIG.replace("policies: []", "policies:\n  - name: RulePolicy"),
        "domain.yml": yaml.safe_dump(domain, allow_unicode=True, sort_keys=False),
        "data/rules.yml": yaml.safe_dump({"version": "3.1", "rules": rules}, allow_unicode=True, sort_keys=False),
        "credentials.yml": "rest:\n",
        "endpoints.yml": "",
    }
    for name, text in files.items():
        (HERE / name).write_text(text, encoding="utf-8")
    digest = hashlib.sha256()
    for path in sorted(HERE.rglob("*.yml")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def train(key: str) -> tuple[Path, float]:
    model = HERE / "models" / f"stock-{key}.tar.gz"
    meta = model.with_suffix(".json")
    if model.exists() and meta.exists():
        return model, json.loads(meta.read_text())["train_seconds"]
    env = {**os.environ, "RASA_TELEMETRY_ENABLED": "false"}
    started = time.perf_counter()
    subprocess.run(
        [str(RASA), "train", "--fixed-model-name", f"stock-{key}", "--out", "models", "--quiet"],
        cwd=HERE,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=(HERE / "train.log").open("wb"),
    )
    seconds = round(time.perf_counter() - started, 1)
    meta.write_text(json.dumps({"train_seconds": seconds}))
    return model, seconds


async def drive(url: str, concurrency: int, seconds: float) -> dict:
    latencies: list[float] = []
    errors = 0

    async def conversation(client: httpx.AsyncClient, n: int, until: float) -> None:
        nonlocal errors
        t = 0
        while time.perf_counter() < until:
            started = time.perf_counter()
            body = {"sender": f"s{concurrency}-{n}", "message": QUESTIONS[(n + t) % len(QUESTIONS)]}
            try:
                resp = await client.post(f"{url}/webhooks/rest/webhook", json=body)
                if resp.status_code == 200 and resp.json():
                    latencies.append((time.perf_counter() - started) * 1000)
                else:
                    errors += 1
            except httpx.HTTPError:
                errors += 1
            t += 1

    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=concurrency + 5)) as client:
        await conversation(client, -1, time.perf_counter() + 2)
        latencies.clear()
        started = time.perf_counter()
        await asyncio.gather(*(conversation(client, n, started + seconds) for n in range(concurrency)))
        wall = time.perf_counter() - started
    return {
        "concurrency": concurrency,
        "turns": len(latencies),
        "errors": errors,
        "throughput_tps": len(latencies) / wall,
        "p50_ms": percentile(latencies, 0.5) if latencies else None,
        "p95_ms": percentile(latencies, 0.95) if latencies else None,
        "p99_ms": percentile(latencies, 0.99) if latencies else None,
        "mean_ms": statistics.mean(latencies) if latencies else None,
    }


def bench(levels: list[int], seconds: float) -> dict:
    model, train_seconds = train(write_project())
    port = free_port()
    env = {**os.environ, "RASA_TELEMETRY_ENABLED": "false"}
    proc = subprocess.Popen(
        [str(RASA), "run", "-m", str(model), "-p", str(port), "-i", "127.0.0.1", "--credentials", "credentials.yml"],
        cwd=HERE,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(HERE / "run.log").open("wb"),
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"rasa run exited; see {HERE / 'run.log'}")
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError("stock Rasa did not start")
            time.sleep(1)
        rows = []
        for level in levels:
            row = asyncio.run(drive(url, level, seconds))
            row["rss_mb"] = rss_mb(proc.pid)
            row["load_average"] = os.getloadavg()[0]
            print(json.dumps(row), file=sys.stderr, flush=True)
            rows.append(row)
        return {"train_seconds": train_seconds, "load": rows}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Stock Rasa 3.6 bot under the same load")
    parser.add_argument("--levels", nargs="*", type=int, default=[1, 10, 50, 200])
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args(argv)
    result = bench(args.levels, args.seconds)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "stock_rasa.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
