"""E-mail addresses (also spelled out: «ivanov собака mail точка ru», «at», «dot») and
messenger handles (@name)."""

from __future__ import annotations

import re

from .spans import Span

_WORD = r"[A-Za-zА-Яа-яЁё0-9_][A-Za-zА-Яа-яЁё0-9_+\-]*"
_AT = r"(?:\s*@\s*|\s+(?:собака|собачка|at|эт)\s+|\s*[(\[{<]\s*(?:at|собака|собачка)\s*[)\]}>]\s*)"
_DOT = r"(?:\.|\s+(?:точка|dot)\s+|\s*[(\[{<]\s*(?:dot|точка)\s*[)\]}>]\s*)"
# A spelled-out domain ends in a known top-level domain (so «сдаю at home» is no address);
# «mail ru» without «точка» is how people dictate it, so a space may stand for the dot there.
_TLD = r"(?:ru|com|net|org|su|info|io|me|biz|pro|online|kz|by|ua|рф|ру|ком|нет|орг|рус)"
_EMAIL = re.compile(
    rf"(?<![\w@.]){_WORD}(?:{_DOT}{_WORD})*{_AT}{_WORD}(?:{_DOT}{_WORD})*(?:{_DOT}|\s+){_TLD}(?![\w])"
    rf"|(?<![\w@.]){_WORD}(?:\.{_WORD})*\s?@\s?[\w\-]+(?:\.[\w\-]+)+",
    re.IGNORECASE,
)
_HANDLE = re.compile(r"(?<![\w@.])@[A-Za-z][A-Za-z0-9_]{3,31}(?![\w@.])")


def find(text: str) -> list[Span]:
    spans = [Span(m.start(), m.end(), "email") for m in _EMAIL.finditer(text)]
    spans += [
        Span(m.start(), m.end(), "ник")
        for m in _HANDLE.finditer(text)
        if not any(s.start <= m.start() < s.end for s in spans)
    ]
    return spans
