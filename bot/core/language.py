"""Is a message written in another language than Russian? (pure)

The assistant, its knowledge base and its NLU speak Russian only; a question in
English would otherwise get Russian options it cannot read. Only a clear case
counts: Latin letters and no Cyrillic, at least two words, and an English
function word among them — an e-mail, «ok», «John Smith», a company name or a
transliterated Russian phrase («kak otkryt ip») stays a Russian turn.
"""

from __future__ import annotations

import re

_LATIN_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")
_CYRILLIC = re.compile(r"[а-яё]", re.IGNORECASE)
_ENGLISH = frozenset(
    {
        "the",
        "is",
        "are",
        "how",
        "what",
        "where",
        "when",
        "why",
        "which",
        "who",
        "can",
        "could",
        "do",
        "does",
        "i",
        "i'm",
        "my",
        "you",
        "your",
        "to",
        "a",
        "an",
        "of",
        "for",
        "please",
        "hello",
        "hi",
        "help",
        "need",
        "want",
        "would",
        "like",
        "company",
        "register",
        "business",
        "speak",
        "english",
        "in",
        "with",
        "and",
        "it",
        "there",
        "have",
        "get",
    }
)


def foreign(text: str | None) -> bool:
    """True for a message clearly in English (the one other language recognised here)."""
    low = (text or "").lower()
    if not low or _CYRILLIC.search(low) or "@" in low:
        return False
    words = _LATIN_WORD.findall(low)
    return len(words) >= 2 and sum(w in _ENGLISH for w in words) >= 1
