"""How well the masker does on a labelled corpus (tests/data/personal_data_corpus.tsv):
used by tests/test_masking_corpus.py and by `make bench`.

Recall: the share of labelled spans whose every letter and digit was masked.
Precision: of the letters and digits the masker masked, the share inside labelled spans
(punctuation and spaces count for neither, so «ул.» vs «ул» does not matter).
"""

from __future__ import annotations

import re
import statistics
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .spans import KINDS, Span

_MARK = re.compile(r"\[([^\[\]]+)\]\(([^()\s]+)\)")


@dataclass(frozen=True)
class Example:
    case: str
    text: str
    gold: tuple[Span, ...]


@dataclass
class Score:
    messages: int = 0
    clean_messages: int = 0
    gold_spans: int = 0
    found_spans: int = 0
    right_kind: int = 0
    masked_chars: int = 0
    masked_gold_chars: int = 0
    clean_changed: int = 0
    missed: list[tuple[str, str]] = field(default_factory=list)  # (message, the span not masked)
    wrongly_masked: list[tuple[str, str]] = field(default_factory=list)  # (message, what was masked)
    recall_by_case: dict[str, float] = field(default_factory=dict)

    @property
    def recall(self) -> float:
        return self.found_spans / self.gold_spans if self.gold_spans else 1.0

    @property
    def precision(self) -> float:
        return self.masked_gold_chars / self.masked_chars if self.masked_chars else 1.0

    @property
    def kind_accuracy(self) -> float:
        return self.right_kind / self.found_spans if self.found_spans else 1.0


def parse_line(case: str, marked: str) -> Example:
    text, gold, pos = [], [], 0
    offset = 0
    for m in _MARK.finditer(marked):
        if m.group(2) not in KINDS:
            raise ValueError(f"unknown kind {m.group(2)!r} in: {marked}")
        text.append(marked[pos : m.start()])
        offset += m.start() - pos
        gold.append(Span(offset, offset + len(m.group(1)), m.group(2)))
        text.append(m.group(1))
        offset += len(m.group(1))
        pos = m.end()
    text.append(marked[pos:])
    plain = "".join(text)
    if "[" in plain or "]" in plain:
        raise ValueError(f"unbalanced markup in: {marked}")
    return Example(case, plain, tuple(gold))


def load_corpus(path: Path) -> list[Example]:
    examples = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        case, marked = line.split("\t", 1)
        examples.append(parse_line(case, marked))
    return examples


def _alnum(text: str, start: int, end: int) -> set[int]:
    return {i for i in range(start, end) if text[i].isalnum()}


def score(examples: list[Example], find: Callable[[str], list[Span]]) -> Score:
    s = Score()
    found_by_case: Counter[str] = Counter()
    total_by_case: Counter[str] = Counter()
    for ex in examples:
        spans = find(ex.text)
        s.messages += 1
        masked = set().union(*(_alnum(ex.text, p.start, p.end) for p in spans)) if spans else set()
        gold_chars = set().union(*(_alnum(ex.text, g.start, g.end) for g in ex.gold)) if ex.gold else set()
        s.masked_chars += len(masked)
        s.masked_gold_chars += len(masked & gold_chars)
        for p in spans:
            extra = _alnum(ex.text, p.start, p.end) - gold_chars
            if extra:
                s.wrongly_masked.append((ex.text, ex.text[p.start : p.end]))
        if not ex.gold:
            s.clean_messages += 1
            s.clean_changed += bool(spans)
        for g in ex.gold:
            s.gold_spans += 1
            total_by_case[ex.case] += 1
            if _alnum(ex.text, g.start, g.end) <= masked:
                s.found_spans += 1
                found_by_case[ex.case] += 1
                kinds = [p.kind for p in spans if p.start < g.end and g.start < p.end]
                s.right_kind += g.kind in kinds
            else:
                s.missed.append((ex.text, ex.text[g.start : g.end]))
    s.recall_by_case = {case: found_by_case[case] / n for case, n in sorted(total_by_case.items())}
    return s


def latency(examples: list[Example], mask: Callable[[str], str], rounds: int = 3) -> dict[str, float]:
    """Milliseconds per message for `mask` over the corpus (after one warm-up pass)."""
    for ex in examples:
        mask(ex.text)
    times = []
    for _ in range(rounds):
        for ex in examples:
            started = time.perf_counter()
            mask(ex.text)
            times.append((time.perf_counter() - started) * 1000)
    ordered = sorted(times)
    return {
        "median_ms": statistics.median(times),
        "p95_ms": ordered[int(0.95 * (len(ordered) - 1))],
        "max_ms": ordered[-1],
    }
