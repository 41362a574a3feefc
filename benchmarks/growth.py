"""Knowledge-base growth (issue 15): `python -m benchmarks.growth [--sizes 40,400,2000]`, or a part of `make bench`.

For a knowledge base of each size (40 = today's real topics; larger sizes add
synthetic topics made by templated paraphrase, benchmarks/synthetic_topics.py:
real kinds of business × real procedures and document kinds, real regions ×
regional questions, several paraphrases each; no public data set is used):

- the Rasa NLU model is trained from scratch (the project's pipeline,
  nlu/config.yml, a cold component cache): wall time and peak RSS;
- one Rasa server loads it: time to ready, parse p50/p95 over the dev set and
  the load-test questions (sequential, `/model/parse`), resident memory;
- the app's retriever (knowledge_base/retriever.py) builds its index in a
  fresh process: build time, the RSS it adds, the index size;
- the assistant (`python -m bot serve` with KB_DIR at the grown knowledge base)
  answers the dev set (eval/dev.tsv) through the HTTP API: top-1, which
  should stay within 1 point of the 40-topic result (the expected labels stay
  the real topics), and its resident memory. Rasa's own top-1 is shown too.

Everything runs in a temporary directory (a copy of nlu/ and the grown
knowledge base); the repository's nlu/models and knowledge_base are not touched.
Results: benchmarks/results/growth.md, growth.json and growth.png; a size
measured again replaces its row, the others are kept.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from benchmarks.__main__ import (
    QUESTIONS,
    RESULTS,
    ROOT,
    Assistant,
    bench_dev_set,
    free_port,
    percentile,
    rss_mb,
    table,
)
from nlu.labels import PER_TOPIC_MAX, per_topic, split_label

SIZES = (40, 400, 2000)
PARSE_ROUNDS = 3
READY_TIMEOUT = 1800.0  # a 2,000-topic model loads slowly on a busy machine


def dev_rows() -> list[tuple[str, str, str]]:
    lines = (ROOT / "eval" / "dev.tsv").read_text(encoding="utf-8").splitlines()
    rows = [line.split("\t") for line in lines if line.strip() and not line.startswith("#")]
    return [(kind, expected, text) for kind, expected, text in rows]


# ------------------------------------------------------------------ pieces
def prepare(work: Path, size: int) -> tuple[Path, Path, int]:
    """The grown knowledge base and a copy of nlu/ whose FAQ data and domain come from it."""
    from benchmarks.synthetic_topics import write_knowledge_base
    from bot.runtime import contract_topic_ids
    from nlu import build
    from nlu.service import NLU_DIR

    kb_dir = work / f"kb-{size}"
    write_knowledge_base(kb_dir, size, contract_topic_ids())
    nlu_dir = work / f"nlu-{size}"
    shutil.copytree(NLU_DIR, nlu_dir, ignore=shutil.ignore_patterns("models", ".rasa", "__pycache__"))
    (nlu_dir / "data" / "faq.yml").write_text(build.faq_data(kb_dir), encoding="utf-8")
    (nlu_dir / "domain.yml").write_text(build.domain(kb_dir), encoding="utf-8")
    examples = sum(
        line.lstrip().startswith("- ")
        for path in (nlu_dir / "data").glob("*.yml")
        for line in path.read_text(encoding="utf-8").splitlines()
    )
    return kb_dir, nlu_dir, examples


def train(rasa_venv: Path, nlu_dir: Path, log: Path) -> tuple[Path, float, float]:
    """`rasa train nlu` in the copy, from a cold cache: (model, seconds, peak RSS MB)."""
    from nlu.service import rasa_env, rasa_executable

    env = {
        **rasa_env(rasa_venv),
        "PYTHONPATH": str(nlu_dir),
        "RASA_CACHE_DIRECTORY": str(nlu_dir / ".rasa" / "cache"),
    }
    cmd = [str(rasa_executable(rasa_venv)), "train", "nlu", "--config", "config.yml", "--domain", "domain.yml"]
    cmd += ["--nlu", "data", "--out", str(nlu_dir / "models"), "--fixed-model-name", "growth"]
    started = time.monotonic()
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=nlu_dir, env=env, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)  # wait4: this child's own peak memory
        proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.monotonic() - started
    model = nlu_dir / "models" / "growth.tar.gz"
    if proc.returncode != 0 or not model.exists():
        raise RuntimeError(f"Rasa training failed (exit {proc.returncode}); see {log}")
    return model, seconds, usage.ru_maxrss / 1024


def parse_latency(url: str, token: str, per_topic_labels: bool) -> dict:
    """Sequential parses of the dev set and the load questions; Rasa's own top-1 on the dev set."""
    rows = dev_rows()
    texts = [text for _, _, text in rows] + QUESTIONS
    latencies: list[float] = []
    hits = 0
    with httpx.Client(base_url=url, params={"token": token}, timeout=60) as client:
        for round_ in range(PARSE_ROUNDS):
            for i, text in enumerate(texts):
                started = time.perf_counter()
                resp = client.post("/model/parse", json={"text": text})
                resp.raise_for_status()
                latencies.append((time.perf_counter() - started) * 1000)
                if round_ == 0 and i < len(rows):
                    intent, topic = split_label(resp.json()["intent"]["name"])
                    label = f"faq:{topic}" if topic else intent
                    hits += label in rows[i][1].split("|")
    return {
        "parses": len(latencies),
        "parse_p50_ms": percentile(latencies, 0.5),
        "parse_p95_ms": percentile(latencies, 0.95),
        # a one-`faq` model does not name topics: Rasa alone has no topic top-1 to show
        "rasa_dev_top1": hits / len(rows) if per_topic_labels else None,
    }


def measure_retriever(kb_dir: str, cache_dir: str) -> None:
    """Run in a fresh process: the memory and time the retriever's index costs, as JSON on stdout."""
    from bot.runtime import contract_topic_ids
    from bot.settings import get_settings
    from knowledge_base.embeddings import make_embedder
    from knowledge_base.loader import load_knowledge_base
    from knowledge_base.retriever import Retriever

    settings = get_settings()
    kb = load_knowledge_base(Path(kb_dir), contract_topic_ids())
    embedder = make_embedder(settings.embeddings_backend, settings.embeddings_model_path)
    embedder.queries(["прогрев модели"])  # the encoder's own memory is not the index's
    before = rss_mb(os.getpid())
    started = time.perf_counter()
    retriever = Retriever(kb, embedder, cache_dir=Path(cache_dir))
    seconds = time.perf_counter() - started
    result = {
        "retriever_texts": len(retriever.owner),
        "retriever_build_seconds": seconds,
        "retriever_rss_mb": rss_mb(os.getpid()) - before,
        "retriever_index_mb": retriever.vectors.nbytes / 2**20,
    }
    print(json.dumps(result))


def retriever_cost(kb_dir: Path, cache_dir: Path) -> dict:
    code = f"from benchmarks.growth import measure_retriever; measure_retriever({str(kb_dir)!r}, {str(cache_dir)!r})"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True, text=True, env=dict(os.environ)
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def bench_size(work: Path, size: int) -> dict:
    from benchmarks.synthetic_topics import PREFIX
    from bot.settings import get_settings
    from nlu.service import RasaServer

    rasa_venv = get_settings().rasa_venv
    row: dict = {"topics": size}
    kb_dir, nlu_dir, row["training_examples"] = prepare(work, size)
    row["synthetic"] = sum(p.stem.startswith(PREFIX) for p in kb_dir.glob("*.yaml"))
    row["faq_labels"] = "per topic" if per_topic(size) else "one faq"
    model, row["train_seconds"], row["train_peak_rss_mb"] = train(rasa_venv, nlu_dir, work / f"train-{size}.log")
    row["model_mb"] = model.stat().st_size / 2**20
    print(f"[growth {size}] trained in {row['train_seconds']:.0f} s", file=sys.stderr, flush=True)
    token = secrets.token_urlsafe(24)
    rasa = RasaServer(rasa_venv, model, free_port(), work / f"rasa-{size}.log", token).start()
    try:
        started = time.monotonic()
        rasa.wait_ready(READY_TIMEOUT)
        row["rasa_ready_seconds"] = time.monotonic() - started
        row.update(parse_latency(rasa.url, token, row["faq_labels"] == "per topic"))
        row["rasa_rss_mb"] = rss_mb(rasa.proc.pid) if rasa.proc else None
        cache = work / f"cache-{size}"
        row.update(retriever_cost(kb_dir, cache))
        # no voice line: it would load a speech recogniser and synthesize every answer's opening meanwhile
        env = {"KB_DIR": str(kb_dir), "CACHE_DIR": str(cache), "VOICE_RECOGNIZER": "off"}
        app = Assistant(rasa.url, token, env)
        try:
            app.wait_ready(READY_TIMEOUT)
            dev = asyncio.run(bench_dev_set(app.url))
            row["dev_n"] = sum(d["n"] for d in dev)
            row["dev_top1"] = sum(d["top1"] * d["n"] for d in dev) / row["dev_n"]
            row["dev_top3"] = sum(d["top3"] * d["n"] for d in dev) / row["dev_n"]
            row["app_rss_mb"] = rss_mb(app.proc.pid)
        finally:
            try:
                app.stop()
            except subprocess.TimeoutExpired:
                app.proc.kill()
                app.proc.wait()
    finally:
        rasa.stop()
    row["load_average"] = os.getloadavg()[0]  # other work on the shared machine skews the times
    row["measured_at"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    print(f"[growth {size}] {json.dumps(row)}", file=sys.stderr, flush=True)
    return row


# ------------------------------------------------------------------ report
COLUMNS = [
    ("topics", "topics", "d"),
    ("synthetic", "synthetic", "d"),
    ("faq_labels", "Rasa FAQ intents", ""),
    ("training_examples", "NLU examples", "d"),
    ("train_seconds", "train s", ".0f"),
    ("train_peak_rss_mb", "train peak MB", ".0f"),
    ("rasa_ready_seconds", "Rasa load s", ".0f"),
    ("parse_p50_ms", "parse p50 ms", ".1f"),
    ("parse_p95_ms", "parse p95 ms", ".1f"),
    ("rasa_rss_mb", "Rasa RSS MB", ".0f"),
    ("retriever_index_mb", "index MB", ".1f"),
    ("retriever_rss_mb", "index build +RSS MB", ".0f"),
    ("retriever_build_seconds", "index build s", ".0f"),
    ("app_rss_mb", "app RSS MB", ".0f"),
    ("dev_top1", "dev top-1 (API)", ".3f"),
    ("delta_points", "Δ vs 40, points", "+.1f"),
    ("rasa_dev_top1", "dev top-1 (Rasa)", ".3f"),
    ("load_average", "load avg", ".1f"),
    ("measured_at", "measured", ""),
]


def with_deltas(rows: list[dict]) -> list[dict]:
    base = next((r for r in rows if r["topics"] == 40), None)
    out = []
    for r in sorted(rows, key=lambda r: r["topics"]):
        delta = (r["dev_top1"] - base["dev_top1"]) * 100 if base and r.get("dev_top1") is not None else None
        out.append({"faq_labels": "per topic", **r, "delta_points": delta})  # rows measured before the modes
    return out


def report(results: dict) -> str:
    rows = with_deltas(results.get("rows", []))
    measured = ", ".join(f"{r['topics']} ({r['measured_at']})" for r in rows)
    verdicts = [
        f"{r['topics']} topics: {r['delta_points']:+.1f} points "
        f"({'within' if abs(r['delta_points']) <= 1 else 'NOT within'} 1 point)"
        for r in rows
        if r["topics"] != 40 and r.get("delta_points") is not None
    ]
    parts = [
        "# Knowledge-base growth (benchmarks/growth.py)\n",
        f"Sizes measured (topics, when): {measured}. Machine: {os.cpu_count()} cores, shared with other work "
        "(see the load average), so times are pessimistic.\n",
        "Extra topics: **templated paraphrase** (benchmarks/synthetic_topics.py), not a public data set — real "
        "kinds of small business × real procedures and document kinds (sanitary rules, fire safety, marking, "
        "licences, subsidies, tax regime, OKVED, …) and real Russian regions × regional questions (grants, tax "
        "relief, the local «Мой бизнес» centre, industrial parks), 6 paraphrases each, ids `synthetic_0001` …; "
        "they sit close to each other and to the real topics. The dev set's expected labels stay the real topics.\n",
        table(rows, COLUMNS),
        "",
        "- train: `rasa train nlu` with the project's pipeline from a cold component cache; peak RSS of the "
        "training process.",
        f"- Rasa FAQ intents: up to {PER_TOPIC_MAX} topics Rasa's classifier learns one intent per topic; above, "
        "one `faq` class for all topics (each topic's examples still weighing as one class), and the app's "
        "retriever picks the topic (nlu/labels.py: a per-topic classifier's training cost grows with "
        "examples × intents).",
        "- parse: one Rasa server, sequential `/model/parse` of the dev set and the load-test questions "
        f"({PARSE_ROUNDS} rounds), client on the same machine.",
        "- retriever: the app's semantic index (knowledge_base/retriever.py) — its size, and the RSS its build "
        "adds in a fresh process once the encoder is loaded (mostly the encoder's working memory while it "
        "embeds every question and paraphrase), and the build time; it is cached on disk, so the app builds it "
        "once. app RSS: `python -m bot serve` (voice line off) after answering the dev set.",
        "- dev top-1 (API): eval/dev.tsv through the assistant's HTTP API (Rasa and the retriever together); "
        "dev top-1 (Rasa): the Rasa server's top intent alone. One dev message is "
        f"{100 / rows[0]['dev_n']:.1f} points."
        if rows and rows[0].get("dev_n")
        else "",
        "",
    ]
    if verdicts:
        parts += ["Target — dev top-1 within 1 point of the 40-topic result: " + "; ".join(verdicts) + ".\n"]
    missing = [size for size in SIZES if size not in {r["topics"] for r in rows}]
    if missing:
        parts += [f"Not measured yet: {', '.join(map(str, missing))} topics.\n"]
    if note := results.get("note"):
        parts += [note, ""]
    return "\n".join(parts)


def chart(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = sorted(rows, key=lambda r: r["topics"])
    x = [r["topics"] for r in rows]
    fig, axes = plt.subplots(1, 4, figsize=(15, 3.6))
    panels = [
        (axes[0], "training time", "s", [("train_seconds", "train")]),
        (axes[1], "parse latency", "ms", [("parse_p50_ms", "p50"), ("parse_p95_ms", "p95")]),
        (
            axes[2],
            "memory",
            "MB",
            [
                ("rasa_rss_mb", "Rasa server"),
                ("app_rss_mb", "app"),
                ("retriever_rss_mb", "retriever index build (+RSS)"),
            ],
        ),
        (axes[3], "dev set top-1", "", [("dev_top1", "API"), ("rasa_dev_top1", "Rasa alone")]),
    ]
    for ax, title, unit, series in panels:
        for key, label in series:
            ax.plot(x, [r.get(key) for r in rows], marker="o", label=label)
        ax.set_xscale("log")
        ax.minorticks_off()
        ax.set_xticks(x, [str(v) for v in x])
        ax.set_xlabel("knowledge-base topics")
        ax.set_ylabel(unit)
        ax.set_title(title)
        ax.legend(fontsize=8)
    axes[3].set_ylim(0.8, 1.0)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Knowledge-base growth: training, parse latency, memory, accuracy")
    parser.add_argument(
        "--sizes", default=",".join(map(str, SIZES)), help="knowledge-base sizes in topics, comma-separated"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (logs, models)")
    parser.add_argument("--report", action="store_true", help="only rewrite growth.md and growth.png from growth.json")
    parser.add_argument("--note", help="a remark printed under the table (e.g. why a size was not measured)")
    args = parser.parse_args(argv)
    sizes = sorted(int(s) for s in args.sizes.split(","))
    RESULTS.mkdir(parents=True, exist_ok=True)
    saved = RESULTS / "growth.json"
    results: dict = json.loads(saved.read_text(encoding="utf-8")) if saved.exists() else {}
    by_size = {r["topics"]: r for r in results.get("rows", [])}
    if args.note is not None:
        results["note"] = args.note
    work = Path(tempfile.mkdtemp(prefix="growth-"))
    try:
        for size in [] if args.report else sizes:
            by_size[size] = bench_size(work, size)
            results["rows"] = [by_size[k] for k in sorted(by_size)]
            # saved after every size: a long run that is stopped keeps what it measured
            saved.write_text(json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8")
    finally:
        if args.keep:
            print(f"kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    saved.write_text(json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8")
    text = report(results)
    (RESULTS / "growth.md").write_text(text, encoding="utf-8")
    chart(results["rows"], RESULTS / "growth.png")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
