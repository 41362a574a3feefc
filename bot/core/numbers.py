"""Strict reading of numbers that come from clients: typed text and button payloads.

`str.isdigit()` is true for «²», «①» and Arabic-Indic digits; `int()` then
fails on some of them (a 5xx) or reads others silently. A button payload is
anyone's text, too. Here a number is ASCII 0-9 only, of bounded length and
range, and anything else is simply "not a number" (None / False).
"""

from __future__ import annotations

import re

_NOT_DIGIT = re.compile(r"[^0-9]")
# Seconds since 1970 for moments a client may pick (slots): up to 2100-01-01 UTC.
MAX_EPOCH = 4_102_444_800


def is_digits(text: str) -> bool:
    """Non-empty and ASCII digits only."""
    return bool(text) and text.isascii() and text.isdigit()


def digits_of(text: str) -> str:
    """The ASCII digits of `text`, in order (spaces, dashes, anything else dropped)."""
    return _NOT_DIGIT.sub("", text or "")


def parse_int(text: str, *, max_digits: int = 12, minimum: int = 0, maximum: int | None = None) -> int | None:
    """`text` as a non-negative integer of 1..max_digits ASCII digits within
    [minimum, maximum], else None."""
    if not (text and len(text) <= max_digits and is_digits(text)):
        return None
    value = int(text)
    if value < minimum or (maximum is not None and value > maximum):
        return None
    return value


def parse_epoch(text: str) -> int | None:
    """A slot's start (unix seconds) from a button payload, or None if it cannot be one."""
    return parse_int(text, max_digits=10, minimum=1, maximum=MAX_EPOCH)
