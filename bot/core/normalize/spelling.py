"""Spelling correction of rare and domain words (SymSpell over the lexicon).

The encoders already forgive common typos; this is for words they have never
seen spelled wrong: domain terms («патеннт», «самозанятость» mistyped) and rare
words. Only words that are no word at all are touched, and only into a word the
lexicon knows; the domain vocabulary is a whitelist (its words are never
"corrected") and is preferred as a target. A non-word with no near word may be
two words run together (speech recognisers and hurried thumbs both do it:
«мергосподдержки»): it is split when every part is a known word. The
understander keeps a correction only when the NLU is more confident about the
corrected text.
"""

from __future__ import annotations

import re

from symspellpy import SymSpell, Verbosity
from wordfreq import top_n_list, zipf_frequency

from .lexicon import DOMAIN, KNOWN_FORM, Lexicon
from .normalizer import Change

COMMON_WORDS = 20000
MIN_LENGTH = 5  # shorter words have too many neighbours to guess
MIN_PART = 2  # a split into one-letter «words» is noise, not a reading
_CYRILLIC_WORD = re.compile(r"[А-Яа-яЁё]+")


class Speller:
    def __init__(self, lexicon: Lexicon):
        self.lex = lexicon
        self.sym = SymSpell(max_dictionary_edit_distance=2, prefix_length=7)
        for word in top_n_list("ru", COMMON_WORDS):
            if _CYRILLIC_WORD.fullmatch(word) and len(word) >= 3:
                self.sym.create_dictionary_entry(word, int(10 ** zipf_frequency(word, "ru")))
        for word in lexicon.domain:
            if len(word) >= 3:
                self.sym.create_dictionary_entry(word, int(10**DOMAIN) * 10)

    def correct(self, text: str) -> tuple[str, list[Change]]:
        changes: list[Change] = []

        def fix(match: re.Match[str]) -> str:
            word = match.group(0)
            low = word.lower()
            if len(low) < MIN_LENGTH or self.lex.russian(low) > 0:
                return word
            found = self.sym.lookup(low, Verbosity.TOP, max_edit_distance=1 if len(low) < 8 else 2)
            fixed = str(found[0].term) if found else self._split(low)
            if not fixed or fixed == low:
                return word
            changes.append(Change("spelling", word, fixed))
            return fixed.capitalize() if word[:1].isupper() else fixed

        return _CYRILLIC_WORD.sub(fix, text), changes

    def _split(self, word: str) -> str | None:
        """`word` as two words run together, each within one edit of a common or domain word."""
        split = self.sym.word_segmentation(word, max_edit_distance=1)
        parts = split.corrected_string.split()
        if len(parts) != 2 or not all(len(p) >= MIN_PART and self.lex.russian(p) >= KNOWN_FORM for p in parts):
            return None
        return " ".join(parts)
