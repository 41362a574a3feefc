"""Mask personal data before anything is written to analytics (R-21).

Order matters: cards before phones, phones before СНИЛС (both can be 11
digits), plain ИНН/ОГРН digit runs before the spaced passport pattern.
"""

from __future__ import annotations

import re

_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"), "[email]"),
    (re.compile(r"(?<!\d)(?:\d[ -]?){15}\d{1,4}(?!\d)"), "[карта]"),  # 16–19 digit card numbers
    (re.compile(r"(?<!\d)(?:\+7|8)[\s(-]*\d{3}[\s)-]*\d{3}[\s-]*\d{2}[\s-]*\d{2}(?!\d)"), "[телефон]"),
    (re.compile(r"(?<!\d)\d{3}[- ]?\d{3}[- ]?\d{3}[- ]?\d{2}(?!\d)"), "[снилс]"),
    (re.compile(r"(?<!\d)(?:\d{15}|\d{13})(?!\d)"), "[огрн]"),
    (re.compile(r"(?<!\d)(?:\d{12}|\d{10})(?!\d)"), "[инн]"),
    (re.compile(r"(?<!\d)\d{2}\s?\d{2}\s?№?\s?\d{6}(?!\d)"), "[паспорт]"),
]


def mask_personal_data(text: str) -> str:
    for pattern, placeholder in _PATTERNS:
        text = pattern.sub(placeholder, text)
    return text
