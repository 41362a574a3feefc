"""How plausible a word is in Russian or English: the language model of the normaliser.

Word frequencies from `wordfreq` (Zipf scale: 0 unknown … 7 «и»), pymorphy3's
dictionary for inflected forms the frequency lists miss («самозанятый» is 0 in
wordfreq), and the domain vocabulary (knowledge base and NLU examples: «усн»,
«енп», «эцп») that must always count as good Russian.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from wordfreq import zipf_frequency

WORD = re.compile(r"[а-яё]+|[a-z]+", re.IGNORECASE)
KNOWN_FORM = 3.0  # a dictionary form the frequency list does not have
DOMAIN = 4.5  # a word of the organisation's own texts


@lru_cache(maxsize=1)
def _morph() -> Any:
    import pymorphy3

    return pymorphy3.MorphAnalyzer(lang="ru")


def words(text: str) -> list[str]:
    return [w.lower().replace("ё", "е") for w in WORD.findall(text)]


class Lexicon:
    def __init__(self, domain_texts: Iterable[str] = ()):
        self.domain: frozenset[str] = frozenset(w for t in domain_texts for w in words(t) if _is_cyrillic(w))

    @lru_cache(maxsize=65536)  # noqa: B019 — one lexicon per process, words repeat
    def russian(self, word: str) -> float:
        """Plausibility of a Cyrillic word (Zipf-like, 0 = not a word)."""
        word = word.lower().replace("ё", "е")
        if word in self.domain:
            return DOMAIN
        score = zipf_frequency(word, "ru")
        if len(word) >= 3 and score < KNOWN_FORM and _morph().word_is_known(word):
            return KNOWN_FORM
        # two-letter noise («шз» 2.1) is common in web text: short words need more
        return score if len(word) > 2 or score >= 4.0 else 0.0

    @staticmethod
    @lru_cache(maxsize=65536)
    def english(word: str) -> float:
        return zipf_frequency(word.lower(), "en")


def _is_cyrillic(word: str) -> bool:
    return (bool(word) and "а" <= word[0].lower() <= "я") or word[:1].lower() == "ё"
