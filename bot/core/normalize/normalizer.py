"""Text as the client meant it: wrong keyboard layout and transliteration undone.

Every chunk of the message (between spaces) is read as typed, as the other
keyboard layout, and (in a message written mostly in Latin letters) as
transliterated Russian; the lexicon says which reading is a word. What is
fine stays untouched: e-mails, links, anything with a digit (ИНН, ОКВЭД
«47.91», phones), Latin words that are English words or brand names in a
Russian message. `Normalized.changes` says what was changed and why, for the
API's understanding and for tests.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from . import keyboard, translit
from .lexicon import Lexicon

ChangeKind = Literal["layout", "translit", "spelling"]


@dataclass(frozen=True)
class Change:
    kind: ChangeKind
    original: str
    normalized: str


@dataclass(frozen=True)
class Normalized:
    text: str
    changes: tuple[Change, ...] = field(default_factory=tuple)

    @property
    def changed(self) -> bool:
        return bool(self.changes)


# Never touched: e-mails, links, handles, anything with a digit (codes, numbers, phones).
_PROTECTED = re.compile(r"@|://|^www\.|\.(ru|com|рф|org|net)\b|\d|^#", re.IGNORECASE)
_LATIN_CHUNK = re.compile(r"^[A-Za-z\[\]{};:'\",.<>`~&?!()\-]+$")
_LATIN_LETTERS = re.compile(r"[A-Za-z]")
_CYRILLIC_CHUNK = re.compile(r"^([(«\"']*)([А-Яа-яЁё]+(?:-[А-Яа-яЁё]+)?)([?!.,:;)»\"']*)$")
_TAIL = re.compile(r"[?!.,:;)\"']+$")
_EDGE = '?!.,:;()"«»'

GOOD_WORD = 3.0  # a reading at least this plausible is a word
LAYOUT_LEAD = 1.5  # a layout reading must beat the text as typed by this much
ENGLISH_KEEPS = 3.0  # a Latin word this common in English stays in a Russian message


@dataclass
class _Chunk:
    lead: str
    core: str
    tail: str
    script: str  # latin | cyrillic | other


def _split(token: str) -> _Chunk:
    if _PROTECTED.search(token):
        return _Chunk("", token, "", "other")
    if _LATIN_CHUNK.match(token) and _LATIN_LETTERS.search(token):
        return _Chunk("", token, "", "latin")  # its punctuation may be letters' keys: read per reading
    cyr = _CYRILLIC_CHUNK.match(token)
    if cyr:
        return _Chunk(cyr.group(1), cyr.group(2), cyr.group(3), "cyrillic")
    return _Chunk("", token, "", "other")


def _keep_case(original: str, converted: str) -> str:
    if original.isupper() and len(original) > 1:
        return converted.upper()
    if original[:1].isupper():
        return converted[:1].upper() + converted[1:]
    return converted


class Normalizer:
    def __init__(self, lexicon: Lexicon):
        self.lex = lexicon

    def _layout_russian(self, token: str) -> tuple[str, float]:
        """The token's keys in the Russian layout: every key («,snm» is «быть», «&» is «?»),
        or the letters with the trailing punctuation kept («ghbdtn,» is «привет,»)."""
        whole = keyboard.to_russian(token)
        tail = _TAIL.search(token)
        kept = keyboard.to_russian(token[: tail.start()]) + tail.group(0) if tail else whole
        best = max((kept, whole), key=self._phrase_score)  # ties keep the punctuation
        return best, self._phrase_score(best)

    def _phrase_score(self, text: str) -> float:
        low = text.lower()
        parts = [p for p in re.split(r"[^а-яё]+", low) if p]
        if not parts or re.search(r"[^а-яё?!.,:;()\-\" ]", low):
            return 0.0
        return min(self.lex.russian(p) for p in parts)

    def _translit(self, token: str) -> tuple[str, float]:
        """The likeliest Cyrillic reading of a transliterated token, punctuation kept
        (a final «'» is the soft sign)."""
        core = token.strip(_EDGE)
        if not core:
            return "", 0.0
        start = token.index(core)
        options = translit.readings(core)
        best, best_score = (options[0] if options else ""), 0.0  # no word known: the usual reading
        for reading in options:
            score = self.lex.russian(reading)
            if score > best_score:
                best, best_score = reading, score
        return (token[:start] + best + token[start + len(core) :], best_score) if best else ("", 0.0)

    def normalize(self, text: str) -> Normalized:
        tokens = re.split(r"(\s+)", text)
        chunks = {i: _split(t) for i, t in enumerate(tokens) if t and not t.isspace()}
        latin = [i for i, c in chunks.items() if c.script == "latin"]
        cyrillic = [i for i, c in chunks.items() if c.script == "cyrillic"]
        if not latin and not cyrillic:
            return Normalized(text)
        mostly_latin = len(latin) > len(cyrillic)
        # Message-level reading of its Latin chunks: typed in the wrong layout, or
        # transliterated? The mean plausibility of each reading decides.
        layout = {i: self._layout_russian(chunks[i].core) for i in latin}
        trans = {i: self._translit(chunks[i].core) for i in latin} if mostly_latin else {}
        english = {i: self.lex.english(chunks[i].core.strip(_EDGE)) for i in latin}

        def mean(scores: dict[int, tuple[str, float]]) -> float:
            return sum(s for _, s in scores.values()) / len(scores) if scores else 0.0

        mode = None
        if mostly_latin:
            en = sum(english.values()) / len(english)
            best = max(("layout", mean(layout)), ("translit", mean(trans)), key=lambda m: m[1])
            if best[1] >= GOOD_WORD - 0.5 and best[1] > en:
                mode = best[0]
        changes: list[Change] = []
        for i in latin:
            chunk = chunks[i]
            reading: str | None = None
            kind: ChangeKind = "layout"
            if mode == "layout":
                # in a message typed in the wrong layout, every chunk is, but an English word
                # that reads as nothing in Russian («iPhone») stays
                if layout[i][1] > 0 or english[i] < ENGLISH_KEEPS:
                    reading = layout[i][0]
            elif mode == "translit":
                word, score = trans[i]
                if word and (score > 0 or english[i] < ENGLISH_KEEPS):
                    reading, kind = word, "translit"
            elif layout[i][1] >= GOOD_WORD and layout[i][1] > english[i] + LAYOUT_LEAD:
                reading = layout[i][0]  # one word typed in the wrong layout in a Russian message
            if reading:
                tokens[i] = chunk.lead + _keep_case(chunk.core, reading) + chunk.tail
                changes.append(Change(kind, chunk.core, reading))
        for i in cyrillic:
            chunk = chunks[i]
            # Latin typed in the Russian layout («пщщпду» = google): only when the Cyrillic
            # is no word at all and the Latin one is a common English word.
            if self.lex.russian(chunk.core) > 0:
                continue
            latin_word = keyboard.to_latin(chunk.core)
            if _LATIN_LETTERS.search(latin_word) and self.lex.english(latin_word) >= GOOD_WORD + 0.5:
                tokens[i] = chunk.lead + latin_word + chunk.tail
                changes.append(Change("layout", chunk.core, latin_word))
        return Normalized("".join(tokens), tuple(changes))
