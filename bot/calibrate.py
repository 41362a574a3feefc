"""Choose the fusion weights and decision thresholds on data.

`python -m bot.calibrate --rasa-url http://127.0.0.1:5005` parses the dev set
and the held-out validation set once (Rasa + knowledge base), then searches a
grid of calibrations and prints the best ones with their per-kind scores.
Scoring per message: a clear/para/typo message counts 1 when the top
candidate is right and the assistant acts on it (0.5 when it is right but the
assistant only asks «Вы имели в виду …?»); an atypical one counts when the
reply is clarify/options with an acceptable answer in the top three; an
out-of-scope one when the assistant declines.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
from collections import defaultdict

from bot.core.dialogue import Decision, decide
from bot.core.understanding import Calibration, fuse
from bot.runtime import load_retriever
from bot.settings import ROOT, get_settings
from nlu.client import RasaClient

SETS = [ROOT / "eval" / "dev.tsv", ROOT / "eval" / "validation.tsv"]


def rows():
    for path in SETS:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip() and not line.startswith("#"):
                kind, expected, text = line.split("\t")
                yield path.stem, kind, expected.split("|"), text


def label(c) -> str:
    return f"faq:{c.faq_id}" if c.faq_id else c.intent


def score(kind: str, expected: list[str], text: str, ranking, cal: Calibration) -> float:
    decision = decide(ranking, cal, len(text.split()))
    top3 = [label(c) for c in ranking[:3]]
    if kind == "atyp":
        return float(decision in (Decision.clarify, Decision.options) and any(e in top3 for e in expected))
    if kind == "oos":
        return float(decision is Decision.out_of_scope)
    if top3[0] not in expected:
        return 0.0
    return 1.0 if decision is Decision.act else 0.5 if decision is Decision.clarify else 0.0


async def collect(rasa_url: str, token: str = ""):
    _, retriever = load_retriever(get_settings())
    client = RasaClient(rasa_url, token=token)
    data = []
    for source, kind, expected, text in rows():
        nlu = await client.parse(text)
        kb = [(s.topic_id, s.similarity) for s in retriever.search(text, 10)]
        data.append((source, kind, expected, text, nlu, kb))
    await client.close()
    return data


def evaluate(data, cal: Calibration) -> dict[str, float]:
    totals: defaultdict[str, int] = defaultdict(int)
    hits: defaultdict[str, float] = defaultdict(float)
    for source, kind, expected, text, nlu, kb in data:
        group = f"{source}:{'clear' if kind in ('clear', 'para', 'typo') else kind}"
        totals[group] += 1
        hits[group] += score(kind, expected, text, fuse(nlu, kb, cal), cal)
    return {g: hits[g] / totals[g] for g in sorted(totals)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    settings = get_settings()
    parser.add_argument("--rasa-url", default=(settings.rasa_urls or [f"http://127.0.0.1:{settings.rasa_port}"])[0])
    parser.add_argument("--show-errors", action="store_true")
    args = parser.parse_args()
    data = asyncio.run(collect(args.rasa_url, settings.rasa_token))
    current = Calibration.load()
    grid = itertools.product(
        [0.5, 0.6, 0.7],
        [0.80, 0.82, 0.84],
        [0.94, 0.96],
        [0.45, 0.55, 0.65],
        [0.1, 0.15, 0.25],
        [0.25, 0.35],
        [0.05, 0.1],
        [0.8, 0.9],
    )
    results = []
    for w, floor, ceiling, answer, margin, clarify, options, short in grid:
        cal = current.model_copy(
            update={
                "rasa_weight": w,
                "kb_floor": floor,
                "kb_ceiling": ceiling,
                "answer": answer,
                "margin": margin,
                "clarify": clarify,
                "options": options,
                "short_answer": short,
            }
        )
        per = evaluate(data, cal)
        results.append((sum(per.values()) / len(per), per, cal))
    results.sort(key=lambda r: -r[0])
    print("current:", {k: round(v, 3) for k, v in evaluate(data, current).items()})
    for total, per, cal in results[:8]:
        print(
            f"{total:.3f}",
            {k: round(v, 2) for k, v in per.items()},
            cal.model_dump(
                include={
                    "rasa_weight",
                    "kb_floor",
                    "kb_ceiling",
                    "answer",
                    "margin",
                    "clarify",
                    "options",
                    "short_answer",
                }
            ),
        )
    if args.show_errors:
        for source, kind, expected, text, nlu, kb in data:
            ranking = fuse(nlu, kb, current)
            if score(kind, expected, text, ranking, current) < 1:
                print(
                    f"  {source} {kind} {expected} {text!r}: {decide(ranking, current, len(text.split())).value} "
                    f"{[(label(c), round(c.score, 2)) for c in ranking[:3]]}"
                )


if __name__ == "__main__":
    main()
