"""Mask personal data before anything is written to analytics (R-21, 152-ФЗ).

`mask_personal_data` replaces each piece of personal data with its kind in
brackets — [имя], [адрес], [телефон], [инн], [огрн], [снилс], [карта], [счёт],
[паспорт], [дата], [email], [ник], [номер] — so analytics stays readable:
«меня зовут [имя], телефон [телефон], как перейти на УСН».

Finders, in this order (each later one skips what an earlier one took):
contacts (e-mails, also spelled out, and @handles), numbers (dates of birth and
issue, passport details, every run of 7+ digits; amounts, deadlines and public
codes survive), street addresses, and people's names (natasha NER + pymorphy
grammemes + cues). The policy, with the labelled corpus it is measured on, is
at the top of tests/data/personal_data_corpus.tsv.

`mask_payload` does the same to a button payload, keeping its shape:
flow:callback:+79141234567 → flow:callback:[телефон], slot and record ids → [id].
"""

from __future__ import annotations

import re

from . import addresses, contacts, names, numbers
from .models import models
from .spans import Span, merge, overlaps, replace

__all__ = ["Span", "find_personal_data", "load", "mask_payload", "mask_personal_data"]


def load() -> float:
    """Load the language models now (they load on first use otherwise); returns seconds taken."""
    return models().load_seconds


def find_personal_data(text: str, numeric_default: str | None = None) -> list[Span]:
    spans = contacts.find(text)
    spans += numbers.find(text, spans, numeric_default)
    spans += [s for s in addresses.find(text) if not overlaps(s, spans)]
    spans += names.find(text)
    return merge(text, spans)


def mask_personal_data(text: str) -> str:
    if not text or not re.search(r"[\wА-Яа-яЁё]", text):
        return text
    return replace(text, find_personal_data(text))


_GRAMMAR = re.compile(r"[a-z][a-z_]*\d{0,3}")  # flow, callback, close_ip, q5: the payload's own words
_ID = re.compile(r"(?=[0-9a-f]*\d)[0-9a-f]{6,}|\d{4,}")  # record ids and timestamps (slots)


def mask_payload(payload: str) -> str:
    """A button payload with its personal data and record ids masked, its shape kept."""
    return ":".join(_mask_segment(segment) for segment in payload.split(":"))


def _mask_segment(segment: str) -> str:
    if not segment or _GRAMMAR.fullmatch(segment):
        return segment
    masked = replace(segment, find_personal_data(segment, numeric_default="id"))
    return _ID.sub("[id]", masked)
