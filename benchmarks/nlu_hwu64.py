"""HWU64-ru intent benchmark: this project's Rasa NLU pipeline vs stock Rasa.

Run with the Rasa venv (Python 3.10, rasa 3.6):

    .venv-rasa/bin/python benchmarks/nlu_hwu64.py --out benchmarks/results

Trains each pipeline on benchmarks/data/hwu64_ru/*train.jsonl, parses every test
sentence through the loaded model (the same code path as /model/parse, minus HTTP)
and writes <out>/nlu_hwu64.json plus a Markdown table on stdout.

Models and scores are cached under benchmarks/.cache/ by a hash of (config, train
data, custom component sources, rasa version): a rerun with nothing changed only
reloads the cached results. --rescore re-parses the test set with cached models.
Extra candidates: --config NAME=path/to/config.yml (repeatable).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "benchmarks" / "data" / "hwu64_ru"
CACHE = ROOT / "benchmarks" / ".cache"
NLU_DIR = ROOT / "nlu"

# Must be set before rasa is imported.
os.environ["RASA_TELEMETRY_ENABLED"] = "false"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(NLU_DIR))  # custom components: components.<module>.<Class>

import yaml  # noqa: E402

# Stock Rasa 3.6 pipeline, as measured in benchmarks/data/README.md.
STOCK_CONFIG = """\
recipe: default.v1
language: ru
pipeline:
  - name: WhitespaceTokenizer
  - name: RegexFeaturizer
  - name: LexicalSyntacticFeaturizer
  - name: CountVectorsFeaturizer
  - name: CountVectorsFeaturizer
    analyzer: char_wb
    min_ngram: 1
    max_ngram: 4
  - name: DIETClassifier
    epochs: 100
    constrain_similarities: true
policies: []
"""

# Components that only matter with regexes/lookups/entities, absent from HWU64.
NOT_APPLICABLE = {"RegexFeaturizer", "RegexEntityExtractor", "EntitySynonymMapper"}


def project_config() -> str:
    """nlu/config.yml without the entity/regex parts (HWU64 has no entities)."""
    cfg = yaml.safe_load((NLU_DIR / "config.yml").read_text(encoding="utf-8"))
    pipeline = []
    for comp in cfg["pipeline"]:
        if comp["name"] in NOT_APPLICABLE:
            continue
        if comp["name"] == "DIETClassifier":
            if comp.get("intent_classification") is False:
                continue  # entity-only DIET has nothing to learn here
            comp = {**comp, "entity_recognition": False}
        pipeline.append(comp)
    cfg["pipeline"] = pipeline
    cfg["policies"] = []
    return yaml.safe_dump(cfg, allow_unicode=True, sort_keys=False)


def quiet_logs() -> None:
    """Warnings only: Rasa's debug logs would print every test sentence."""
    import logging

    from rasa.utils.common import configure_logging_and_warnings
    from rasa.utils.log_utils import configure_structlog

    configure_logging_and_warnings(logging.WARNING)
    configure_structlog(logging.WARNING)


def read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def to_rasa_yaml(rows: list[dict]) -> str:
    by_intent: dict[str, list[str]] = {}
    for r in rows:
        # "](" / "]{" would be read as entity annotation; HWU64 has none, but be safe.
        text = " ".join(r["text"].split()).replace("](", "] (").replace("]{", "] {")
        by_intent.setdefault(r["label"], []).append(text)
    out = ['version: "3.1"', "nlu:"]
    for intent, texts in by_intent.items():
        out += [f"- intent: {intent}", "  examples: |"]
        out += [f"    - {t}" for t in texts]
    return "\n".join(out) + "\n"


def sha(*parts: str | bytes) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(p if isinstance(p, bytes) else p.encode("utf-8"))
        h.update(b"\0")
    return h.hexdigest()[:16]


def code_fingerprint(config_text: str) -> str:
    """Rasa's version, plus our components' code when the config uses any."""
    import rasa

    files = sorted((NLU_DIR / "components").glob("*.py")) if "components." in config_text else []
    return sha(rasa.__version__, *(f.read_bytes() for f in files))


def train_cached(name: str, config_text: str, train_yaml: Path) -> tuple[Path, float]:
    """Train (or reuse) a model; returns (model path, training seconds)."""
    from rasa.model_training import train_nlu

    key = sha(config_text, train_yaml.read_bytes(), code_fingerprint(config_text))
    model_dir = CACHE / "models"
    model_dir.mkdir(parents=True, exist_ok=True)
    model = model_dir / f"{name}-{key}.tar.gz"
    meta = model_dir / f"{name}-{key}.json"
    if model.exists() and meta.exists():
        print(f"[{name}] cached model {model.name}", flush=True)
        return model, json.loads(meta.read_text())["train_seconds"]
    cfg_path = CACHE / f"config-{name}-{key}.yml"
    cfg_path.write_text(config_text, encoding="utf-8")
    print(f"[{name}] training ...", flush=True)
    # an empty Rasa cache: restored components would make the training time meaningless
    previous = os.environ.get("RASA_CACHE_DIRECTORY")
    with tempfile.TemporaryDirectory(prefix="rasa-cache-") as rasa_cache:
        os.environ["RASA_CACHE_DIRECTORY"] = rasa_cache
        try:
            t0 = time.perf_counter()
            out = train_nlu(str(cfg_path), str(train_yaml), str(model_dir), fixed_model_name=f"{name}-{key}")
            seconds = time.perf_counter() - t0
        finally:  # not left pointing at a deleted folder
            if previous is None:
                os.environ.pop("RASA_CACHE_DIRECTORY", None)
            else:
                os.environ["RASA_CACHE_DIRECTORY"] = previous
    if not out:
        raise SystemExit(f"[{name}] training failed")
    meta.write_text(json.dumps({"train_seconds": round(seconds, 1)}))
    print(f"[{name}] trained in {seconds:.0f} s", flush=True)
    return model, round(seconds, 1)


async def score(model: Path, test: list[dict]) -> dict:
    """Parse each test sentence one by one (as /model/parse would)."""
    from rasa.core.agent import Agent

    agent = Agent.load(str(model))
    await agent.parse_message("прогрев")  # first call builds lazy state
    correct = top3 = 0
    times = []
    for r in test:
        t0 = time.perf_counter()
        result = await agent.parse_message(r["text"])
        times.append((time.perf_counter() - t0) * 1000)
        ranking = [x["name"] for x in result.get("intent_ranking") or []]
        if not ranking and result.get("intent"):
            ranking = [result["intent"]["name"]]
        correct += bool(ranking) and ranking[0] == r["label"]
        top3 += r["label"] in ranking[:3]
    n = len(test)
    return {
        "accuracy": round(correct / n, 4),
        "top3": round(top3 / n, 4),
        "parse_ms_p50": round(statistics.median(times), 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    ap.add_argument("--only", help="comma-separated pipeline names to run")
    ap.add_argument(
        "--config", action="append", default=[], metavar="NAME=PATH", help="extra candidate config (benchmarked as is)"
    )
    ap.add_argument("--rescore", action="store_true", help="ignore cached scores")
    args = ap.parse_args()
    quiet_logs()

    train = read_jsonl(next(DATA.glob("*train.jsonl")))
    test = read_jsonl(next(DATA.glob("*test.jsonl")))
    CACHE.mkdir(parents=True, exist_ok=True)
    train_yaml = CACHE / "hwu64_ru_train.yml"
    text = to_rasa_yaml(train)
    if not train_yaml.exists() or train_yaml.read_text(encoding="utf-8") != text:
        train_yaml.write_text(text, encoding="utf-8")

    candidates = {"project": project_config(), "stock_rasa": STOCK_CONFIG}
    for item in args.config:
        name, path = item.split("=", 1)
        candidates[name] = Path(path).read_text(encoding="utf-8")
    if args.only:
        wanted = args.only.split(",")
        candidates = {k: v for k, v in candidates.items() if k in wanted}

    test_key = sha(*(r["text"] + "\t" + r["label"] for r in test))
    rows = []
    for name, config_text in candidates.items():
        model, train_seconds = train_cached(name, config_text, train_yaml)
        score_file = model.with_name(model.name.replace(".tar.gz", f"-score-{test_key}.json"))
        if score_file.exists() and not args.rescore:
            scores = json.loads(score_file.read_text())
        else:
            print(f"[{name}] scoring {len(test)} test sentences ...", flush=True)
            scores = asyncio.run(score(model, test))
            score_file.write_text(json.dumps(scores))
        rows.append(
            {"pipeline": name, **scores, "train_seconds": train_seconds, "n_train": len(train), "n_test": len(test)}
        )

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "nlu_hwu64.json").write_text(json.dumps(rows, indent=2, ensure_ascii=False) + "\n")
    cols = ["pipeline", "accuracy", "top3", "train_seconds", "parse_ms_p50", "n_train", "n_test"]
    print("\n| " + " | ".join(cols) + " |\n|" + "---|" * len(cols))
    for r in rows:
        print("| " + " | ".join(str(r[c]) for c in cols) + " |")


if __name__ == "__main__":
    main()
