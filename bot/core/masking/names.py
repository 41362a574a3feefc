"""People's names: natasha's NER (PER) for names written with capitals, pymorphy's
Name/Surn/Patr grammemes for names typed in lower case («меня зовут иван петров»), and
the cues that introduce a name («меня зовут», «я», «ФИО», «ИП», …).

A word that is also an ordinary word (Вера, Надежда, Любовь, Роза, Лев, Зима) counts as
a name only with support: a cue before it, a patronymic or a name next to it, or the NER
model seeing a person in a word capitalised mid-sentence (a capital at the start of a
sentence proves nothing: «Вера в успех есть»). Names inside quotes are company or brand
names («ООО «Надежда»»), not people. pymorphy guesses words it does not know as names
(«ЕГАИС», «ипшник»), so guesses count only where a capital supports them.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from typing import Any

from .models import ner_spans, word_info
from .spans import Span

_TOKEN = re.compile(r"[А-ЯЁа-яё]+(?:-[А-ЯЁа-яё]+)*")
_QUOTED = re.compile(r"«[^»]*»|\"[^\"]*\"|“[^”]*”|„[^“”]*[“”]")
_INITIALS_AFTER = re.compile(r"\s*[А-ЯЁ]\.(?:\s?[А-ЯЁ]\.)?")
_INITIALS_BEFORE = re.compile(r"[А-ЯЁ]\.\s?(?:[А-ЯЁ]\.\s?)?$")
# Phrases after which a name follows.
_CUE = (
    r"\bменя\s+зовут\b|\bзовут\s+меня\b|\bмо[её]\s+имя\b|\bмоя\s+фамилия\b"
    r"|\bфио(?:\s+(?:заявителя|клиента|директора|руководителя|полностью))?\s*:?|\bфамилия\s*:?|\bимя\s*:?"
    r"|\bотчество\s*:?|\bзаявитель\s*:?|\bконтактное\s+лицо\s*:?|\bподпись\s*:?|\bс\s+уважением\s*,?"
    r"|\bя\b\s*[—–-]?|\bэто\b(?:\s+(?:снова|опять|ещё\s+раз|еще\s+раз))?|\bпишет\b|\bна\s+связи\b"
)
_CUES = re.compile(_CUE, re.IGNORECASE)
_CUE_BEFORE = re.compile(rf"(?:{_CUE})\s*$", re.IGNORECASE)
# Verbs that address a third person: the name after them is in the dative or genitive.
_ADDRESSING = re.compile(
    r"(?:\b(?:пере)?звоните|\bпозвоните|\bпередайте|\bответьте|\bнапишите|\bспросите(?:\s+у)?"
    r"|\bпопросите|\bпоблагодарите)(?:\s*,?\s*пожалуйста\s*,?)?",
    re.IGNORECASE,
)
ADDRESSED_NAME = 0.3
_LEGAL_FORM = re.compile(
    r"(?<![А-ЯЁа-яё])(?:ИП|ип|КФХ|кфх|индивидуальный\s+предприниматель"
    r"|глава\s+(?:КФХ|кфх))(?=\s+[А-ЯЁа-яё])"
)
_NOT_NAMES = frozenset(
    [
        "ип",
        "ооо",
        "оао",
        "зао",
        "пао",
        "ао",
        "кфх",
        "нко",
        "усн",
        "псн",
        "нпд",
        "есхн",
        "осно",
        "ндс",
        "ндфл",
        "енп",
        "енс",
        "фнс",
        "мсп",
        "мфц",
        "фио",
        "инн",
        "огрн",
        "огрнип",
        "снилс",
        "кпп",
        "бик",
        "оквэд",
        "рф",
    ]
)
SINGLE_FIRST_NAME = 0.9  # a lone lower-case first name is masked when this sure it is one


@dataclass(frozen=True)
class _Tok:
    start: int
    end: int
    text: str


def find(text: str) -> list[Span]:
    tokens = [_Tok(m.start(), m.end(), m.group()) for m in _TOKEN.finditer(text)]
    quoted = [m.span() for m in _QUOTED.finditer(text)]
    ner = ner_spans(text)
    places = [(s.start, s.stop) for s in ner if s.type in ("LOC", "ORG")]
    found: list[tuple[int, int]] = []
    found += _from_ner(text, tokens, [s for s in ner if s.type == "PER"])
    found += _from_cues(text, tokens, places)
    # natasha reads «ИП Зима Андрей» as one ORG: only places matter after a legal form
    found += _from_legal_forms(text, tokens, [(s.start, s.stop) for s in ner if s.type == "LOC"])
    found += _from_sequences(text, tokens)
    found += _from_addressing(text, tokens)
    found += _before_patronymics(text, tokens, places)
    spans = []
    for start, end in found:
        if any(start < q_end and q_start < end for q_start, q_end in quoted):
            continue
        start, end = _with_initials(text, start, end)
        spans.append(Span(start, end, "имя"))
    return spans


def _is_word(tok: _Tok) -> bool:
    """Not a name: an abbreviation (ИП, УСН) or a business term."""
    return tok.text.lower() in _NOT_NAMES or (
        tok.text.isupper() and len(tok.text) <= 5 and not word_info(tok.text).known
    )


def _cued(text: str, tok: _Tok) -> bool:
    return _CUE_BEFORE.search(text[max(0, tok.start - 30) : tok.start]) is not None


def _title(tok: _Tok) -> bool:
    return tok.text[0].isupper() and tok.text[1:].islower()


def _inside(tok: _Tok, ranges: list[tuple[int, int]]) -> bool:
    return any(start <= tok.start < end for start, end in ranges)


def _from_ner(text: str, tokens: list[_Tok], persons: list[Any]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for span in persons:
        inner = [t for t in tokens if span.start <= t.start and t.end <= span.stop and not _is_word(t)]
        while inner and _not_a_name_word(inner[0]):  # «Передайте Розе»: the verb is not a name
            inner = inner[1:]
        while inner and _not_a_name_word(inner[-1]):
            inner = inner[:-1]
        if not inner:
            continue
        if len(inner) == 1:
            # «Вера в успех»: a capital at the start of a sentence fools the NER model; a lone
            # word that is more often a common noun is a name only after a cue or mid-sentence.
            info = word_info(inner[0].text)
            if (
                info.name < 0.5
                and not _cued(text, inner[0])
                and (_sentence_start(text, inner[0]) or (info.known and info.name < 0.05))
            ):
                continue
        out.append((inner[0].start, inner[-1].end))
    return out


def _not_a_name_word(tok: _Tok) -> bool:
    info = word_info(tok.text)
    return info.name < 0.05 and info.top not in ("NOUN", "ADJF", "None", "")


def _sentence_start(text: str, tok: _Tok) -> bool:
    before = text[: tok.start].rstrip(' \t«"(—–-')
    return not before or before[-1] in ".!?…\n:"


def _name_like(tok: _Tok, places: list[tuple[int, int]]) -> bool:
    """A word that can be (part of) a name right after a cue."""
    if _is_word(tok):
        return False
    info = word_info(tok.text)
    if info.name >= 0.05 and info.nominative_name and (info.known or _title(tok)):
        return True
    # a capital after a cue is a name the dictionary does not know as one («Я Слава»)
    return _title(tok) and not _inside(tok, places) and info.top in ("NOUN", "None", "")


def _from_cues(text: str, tokens: list[_Tok], places: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out = []
    for cue in _CUES.finditer(text):
        taken = _take(text, cue.end(), [t for t in tokens if t.start >= cue.end()], places)
        if taken:
            out.append(taken)
        if re.fullmatch(r"меня\s+зовут", cue.group(), re.IGNORECASE):  # «алексей меня зовут»
            before = [t for t in tokens if t.end <= cue.start()][-3:]
            if (
                before
                and _gap_ok(text, before[-1].end, cue.start())
                and not text[: before[0].start].strip()
                and all(_name_like(t, places) for t in before)
            ):
                out.append((before[0].start, before[-1].end))
    return out


def _gap_ok(text: str, start: int, end: int) -> bool:
    return re.fullmatch(r"\s+", text[start:end]) is not None


def _take(text: str, pos: int, after: list[_Tok], places: list[tuple[int, int]]) -> tuple[int, int] | None:
    """Up to three name words right after a cue."""
    if not after or not re.fullmatch(r"[\s:,—–-]*", text[pos : after[0].start]):
        return None
    picked: list[_Tok] = []
    for n, tok in enumerate(after[:3]):
        if picked and not _gap_ok(text, picked[-1].end, tok.start):
            break
        following = after[n + 1] if n + 1 < len(after) and _gap_ok(text, tok.end, after[n + 1].start) else None
        if _name_like(tok, places):
            picked.append(tok)
        elif _nominative_noun(tok) and following and _name_like(following, places):
            picked.append(tok)  # «фио орёл лев борисович»: a surname that is also a common noun
        elif picked and _surname_like_noun(text, tok):
            picked.append(tok)  # «меня зовут андрей зима,»: a noun that ends the name
            break
        else:
            break
    return (picked[0].start, picked[-1].end) if picked else None


def _nominative_noun(tok: _Tok) -> bool:
    info = word_info(tok.text)
    return info.top == "NOUN" and "nomn" in info.top_tag and not _is_word(tok)


def _surname_like_noun(text: str, tok: _Tok) -> bool:
    ends = re.match(r"\s*(?:[,.;!?)]|$)", text[tok.end :]) is not None
    return ends and _nominative_noun(tok)


def _from_legal_forms(text: str, tokens: list[_Tok], places: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """«ИП Иванов», «КФХ Ткаченко»: an ИП's or a farm's name is its owner's name. A
    capitalised common noun after «ИП» is a nickname for the business («ИП Ромашка»)
    unless a name follows it («ИП Зима Андрей»)."""
    out = []
    for form in _LEGAL_FORM.finditer(text):
        after = [t for t in tokens if t.start >= form.end()][:4]
        picked: list[_Tok] = []
        for n, tok in enumerate(after[:3]):
            if not _gap_ok(text, picked[-1].end if picked else form.end(), tok.start) or _is_word(tok):
                break
            info = word_info(tok.text)
            capital = _title(tok) and not _inside(tok, places)
            following = after[n + 1] if n + 1 < len(after) and _gap_ok(text, tok.end, after[n + 1].start) else None
            if (
                info.name >= 0.3
                or (capital and not info.known)
                or (capital and following and word_info(following.text).name >= 0.3)
            ):
                picked.append(tok)
            else:
                break
        if picked:
            out.append((picked[0].start, picked[-1].end))
    return out


def _from_sequences(text: str, tokens: list[_Tok]) -> list[tuple[int, int]]:
    """Names without a cue, in any case: two or three name words in a row with at least
    one clear first name or patronymic («сидоров михаил», «любовь сергеевна»), or one
    word that can only be a first name («павлу»)."""
    out: list[tuple[int, int]] = []
    run: list[_Tok] = []

    def flush() -> None:
        if len(run) >= 2 and any(word_info(t.text).first_name >= 0.8 and word_info(t.text).known for t in run):
            out.append((run[0].start, run[-1].end))
        elif len(run) == 1 and run[0].text.islower():
            info = word_info(run[0].text)
            if info.known and info.first_name >= SINGLE_FIRST_NAME and info.name >= SINGLE_FIRST_NAME:
                out.append((run[0].start, run[0].end))

    for tok in tokens:
        if (
            not _is_word(tok)
            and word_info(tok.text).name >= 0.05
            and (not run or _gap_ok(text, run[-1].end, tok.start))
            and len(run) < 4
        ):
            run.append(tok)
            continue
        flush()
        run = [tok] if not _is_word(tok) and word_info(tok.text).name >= 0.05 else []
    flush()
    return out


def _from_addressing(text: str, tokens: list[_Tok]) -> list[tuple[int, int]]:
    """«ответьте пожалуйста виктории», «передайте Розе»: the person a verb addresses."""
    out = []
    for verb in _ADDRESSING.finditer(text):
        nxt = next((t for t in tokens if t.start >= verb.end()), None)
        if nxt and re.fullmatch(r"[\s,]*", text[verb.end() : nxt.start]) and not _is_word(nxt):
            info = word_info(nxt.text)
            if info.known and info.name >= ADDRESSED_NAME:
                out.append((nxt.start, nxt.end))
    return out


def _before_patronymics(text: str, tokens: list[_Tok], places: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """«Мира Александровна»: the word before a patronymic is a first name, even one the
    dictionary knows only as a common noun, when it is capitalised."""
    out = []
    for prev, tok in itertools.pairwise(tokens):
        info = word_info(tok.text)
        if (
            "Patr" in info.top_tag
            and info.known
            and _gap_ok(text, prev.end, tok.start)
            and not _is_word(prev)
            and prev.text[0].isupper()
            and not _inside(prev, places)
        ):
            out.append((prev.start, tok.end))
    return out


def _with_initials(text: str, start: int, end: int) -> tuple[int, int]:
    if m := _INITIALS_AFTER.match(text, end):
        end = m.end()
    if m := _INITIALS_BEFORE.search(text[max(0, start - 8) : start]):
        start -= len(m.group())
    return start, end
