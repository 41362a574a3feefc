"""Text as it is said aloud: the last step before a synthesizer (pure functions).

`render.speakable` makes a written reply fit for a call (no links, no emoji,
short sentences) and is also what the /call page shows; `for_speech` then
spells out what a synthesizer would read wrongly:

- abbreviations the way people say them: «ИП» → «и-пэ», «УСН» → «у-эс-эн»;
- phone numbers in the groups they are written in: «+7 914 123-45-67» →
  «плюс семь, девятьсот четырнадцать, сто двадцать три, сорок пять,
  шестьдесят семь»;
- long codes (УИН, ИНН, ОГРН, account numbers) in groups of three digits,
  zeros read as «ноль»;
- keypad digits («нажмите 1», «1 — тема») as plain numbers;
- then sums, dates, times and other numbers in words, agreed with the words
  around them (ru-normalizr): «800 ₽» → «восемьсот рублей», «31.12.2026» →
  «тридцать первого декабря две тысячи двадцать шестого года».

`heard_text` does the opposite for a recogniser's output: spoken
abbreviations («и пэ», «у эс эн») become the written ones the NLU knows.
"""

from __future__ import annotations

import re
from functools import lru_cache

_CYR = "А-Яа-яЁё"

# How abbreviations are said (syllables joined by hyphens: every synthesizer pauses less than at a space).
ABBREVIATIONS = {
    "ИП": "и-пэ",
    "ООО": "о-о-о",
    "ИНН": "и-эн-эн",
    "УСН": "у-эс-эн",
    "ЕНП": "е-эн-пэ",
    "ЕНС": "е-эн-эс",
    "ПСН": "пэ-эс-эн",
    "НПД": "эн-пэ-дэ",
    "АО": "а-о",
    "МФЦ": "эм-эф-цэ",
    "ФНС": "эф-эн-эс",
    "ОГРН": "о-гэ-эр-эн",
    "ОГРНИП": "о-гэ-эр-эн-и-пэ",
    "ЕГРЮЛ": "е-гэ-рюл",
    "ЕГРИП": "е-гэ-рип",
    "ККТ": "ка-ка-тэ",
    "УИН": "у-и-эн",
    "РФ": "эр-эф",
    "КЭП": "кэп",
    "ЭЦП": "э-цэ-пэ",
    "МСП": "эм-эс-пэ",
    "НДС": "эн-дэ-эс",
    "НДФЛ": "эн-дэ-эф-эл",
    "СНИЛС": "снилс",
    "ПФР": "пэ-эф-эр",
    "СФР": "эс-эф-эр",
    "ОКВЭД": "оквэд",
}
_ABBR = re.compile(rf"(?<![{_CYR}])({'|'.join(sorted(ABBREVIATIONS, key=len, reverse=True))})(?![{_CYR}])")

# «+7 (914) 123-45-67», «8 800 100-00-00», «+7 4152 20-30-40»: a number written with separators
_PHONE = re.compile(r"(?<![\d+])(\+7|8)[\s\u00a0-]*\(?\d{3,5}\)?[\s\u00a0-]*\d{1,3}(?:[\s\u00a0-]*\d{2}){2}(?!\d)")
_LONG_DIGITS = re.compile(r"(?<!\d)\d{9,}(?!\d)")  # УИН (20/25), ИНН (10/12), ОГРН (13/15), accounts (20)
_MASKED_TAIL = re.compile(r"(с окончанием) (\d{2}) (\d{2})")  # render.py's «с окончанием 45 67»
_KEY_LIST = re.compile(r"(?:(?<=^)|(?<=[.!?:]\s))(\d) —")  # «1 — Да, помогло.»
_KEY_PRESS = re.compile(r"\b([Нн]ажмите|или|,)\s+(\d)(?=[\s.,;!?]|$)")  # «нажмите 1, 2 или 3», «нажмите 0»


@lru_cache(maxsize=1)
def _normalizer():
    from ru_normalizr import normalize  # ~0.5 s to import: loaded on first use

    return normalize


def number_words(digits: str) -> str:
    """A group of digits as said in a phone number or a code: «05» → «ноль пять», «123» → «сто двадцать три»."""
    from num2words import num2words

    words = []
    while digits.startswith("0") and len(digits) > 1:
        words.append("ноль")
        digits = digits[1:]
    words.append(num2words(int(digits), lang="ru"))
    return " ".join(words)


def digit_groups(digits: str) -> list[str]:
    """Groups of three, the last ones two and two rather than leaving a single digit."""
    groups = [digits[i : i + 3] for i in range(0, len(digits), 3)]
    if len(groups) > 1 and len(groups[-1]) == 1:
        tail = groups[-2] + groups[-1]
        groups[-2:] = [tail[:2], tail[2:]]
    return groups


def _phone(m: re.Match) -> str:
    lead = "плюс семь" if m.group(1) == "+7" else "восемь"
    groups = re.findall(r"\d+", m.group(0)[len(m.group(1)) :])
    return ", ".join([lead] + [number_words(g) for g in groups])


def _code(m: re.Match) -> str:
    return ", ".join(number_words(g) for g in digit_groups(m.group(0)))


def for_speech(text: str) -> str:
    """What a synthesizer should read for `text` (see the module doc)."""
    text = _PHONE.sub(_phone, text)
    text = _LONG_DIGITS.sub(_code, text)
    text = _MASKED_TAIL.sub(lambda m: f"{m.group(1)} {number_words(m.group(2))}, {number_words(m.group(3))}", text)
    text = _KEY_LIST.sub(lambda m: f"{number_words(m.group(1))} —", text)
    for _ in range(2):  # «1, 2 или 3»: each match consumes the separator before the next digit
        text = _KEY_PRESS.sub(lambda m: f"{m.group(1)} {number_words(m.group(2))}", text)
    text = _ABBR.sub(lambda m: ABBREVIATIONS[m.group(1)], text)
    return _normalizer()(text)


# ------------------------------------------------------- recognised speech
def _spoken_pattern(spoken: str) -> str:
    """«и-пэ» → a pattern for «и пэ», «и-пэ», «ипэ» (how a recogniser may write it)."""
    return r"[\s-]*".join(re.escape(part) for part in spoken.split("-"))


_HEARD_ABBR = [
    (re.compile(rf"(?<![{_CYR}]){_spoken_pattern(spoken)}(?![{_CYR}])", re.IGNORECASE), written.lower())
    for written, spoken in sorted(ABBREVIATIONS.items(), key=lambda kv: -len(kv[1]))
    if "-" in spoken and written != "АО"
]  # «а о чём» is no company


def heard_text(text: str) -> str:
    """A recogniser's text with spoken abbreviations written the usual way: «открыть и пэ» → «открыть ип»."""
    for pattern, written in _HEARD_ABBR:
        text = pattern.sub(written, text)
    return text
