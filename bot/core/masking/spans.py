"""Found personal data as character spans, and how overlapping finds combine."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

# When finds overlap, the merged span takes the kind listed first (an address
# that contains a person's name, «ул. Льва Толстого», is an address).
KINDS = (
    "email",
    "ник",
    "паспорт",
    "карта",
    "счёт",
    "снилс",
    "огрн",
    "инн",
    "телефон",
    "дата",
    "адрес",
    "имя",
    "номер",
    "id",
)
_RANK = {kind: n for n, kind in enumerate(KINDS)}
_GAP = re.compile(r"[\s,;:№\-–—]*")  # what may separate two finds of one kind that read as one


@dataclass(frozen=True, order=True)
class Span:
    start: int
    end: int
    kind: str


def merge(text: str, spans: list[Span]) -> list[Span]:
    """Overlapping finds become one; finds of one kind separated only by spaces or
    punctuation (the parts of «Иванов Пётр», of «45 08 № 123456») become one too."""
    merged: list[Span] = []
    for span in sorted(spans):
        if merged:
            last = merged[-1]
            touching = span.start < last.end or (
                span.kind == last.kind
                and _GAP.fullmatch(text, last.end, span.start) is not None
                and "\n" not in text[last.end : span.start]
                and "," not in text[last.end : span.start]
            )
            if touching:
                kind = min(last.kind, span.kind, key=_RANK.__getitem__)
                merged[-1] = Span(last.start, max(last.end, span.end), kind)
                continue
        merged.append(span)
    return merged


def overlaps(span: Span, others: list[Span]) -> bool:
    return any(span.start < other.end and other.start < span.end for other in others)


def blank(text: str, ranges: Sequence[Span | tuple[int, int]], fill: str = "\x00") -> str:
    """The text with the ranges overwritten (same length, so offsets still hold)."""
    chars = list(text)
    for r in ranges:
        start, end = (r.start, r.end) if isinstance(r, Span) else r
        chars[start:end] = fill * (end - start)
    return "".join(chars)


def replace(text: str, spans: list[Span]) -> str:
    out, pos = [], 0
    for span in spans:
        out += [text[pos : span.start], f"[{span.kind}]"]
        pos = span.end
    out.append(text[pos:])
    return "".join(out)
