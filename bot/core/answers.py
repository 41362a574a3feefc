"""Typed answers to the assistant's own questions (pure, tested as tables).

A client answers «Согласны?» or «Отменить запись?» in their own words:
«согласна», «да, конечно», «ага», «нет, спасибо», «не надо». The NLU is
trained on requests, not on these short replies (it read «согласен» as a
request about notifications), so while a question stands the engine reads
the answer here first, by whole phrases, and only then asks the NLU what
else the message might be.

- `yes_or_no(text)`: True / False for a typed yes / no, None for anything else
  (a question, a value, a yes followed by a new request).
- `scale_value(text, scale)`: the number of a scale point typed in words
  («скорее сложно», «удовлетворена») or as its digit.
- `mentions_help(text)`: «помогло», «не помогло»: the words of the feedback on
  an answer, not of a form's field.
- `asks_something(text)`: a question («а сколько стоит госпошлина?», «как закрыть
  ип вообще»), never a value a step waits for, whatever words it shares with one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_WORD = re.compile(r"[a-zа-я0-9]+")

# The first words of a yes / no. Genders and politeness forms are listed, not guessed.
_YES_HEADS = frozenset(
    {
        "да",
        "даа",
        "ага",
        "угу",
        "ок",
        "окей",
        "ok",
        "okay",
        "yes",
        "конечно",
        "разумеется",
        "согласен",
        "согласна",
        "согласны",
        "согласный",
        "соглашаюсь",
        "подтверждаю",
        "подтверждаем",
        "верно",
        "правильно",
        "хорошо",
        "ладно",
        "давай",
        "давайте",
        "точно",
        "именно",
        "естественно",
        "good",
        "sure",
        "помогло",
        "помог",
        "помогли",
        "отменяйте",
        "отмените",
        "продолжаем",
        "продолжим",
        "продолжить",
    }
)
_NO_HEADS = frozenset(
    {
        "нет",
        "неа",
        "не",
        "no",
        "nope",
        "отказываюсь",
        "отказываемся",
        "несогласен",
        "несогласна",
        "никак",
        "ни",
    }
)
# Words that may follow a yes / no without making it something else.
_FILLERS = frozenset(
    {
        "да",
        "нет",
        "конечно",
        "спасибо",
        "пожалуйста",
        "согласен",
        "согласна",
        "согласны",
        "я",
        "мы",
        "все",
        "всё",
        "верно",
        "правильно",
        "хорошо",
        "отлично",
        "ок",
        "точно",
        "так",
        "именно",
        "можно",
        "надо",
        "нужно",
        "хочу",
        "хотим",
        "буду",
        "будем",
        "давайте",
        "помогло",
        "помог",
        "помогли",
        "ответ",
        "очень",
        "вполне",
        "уж",
        "ж",
        "же",
        "ну",
        "а",
        "и",
        "это",
        "с",
        "этим",
        "тем",
        "на",
        "обработку",
        "данных",
        "персональных",
        "подтверждаю",
        "отменяйте",
        "отмените",
        "отменить",
        "отменяй",
        "её",
        "ее",
        "его",
        "запись",
        "разумеется",
        "совсем",
        "не",
        "нужна",
        "нужен",
        "требуется",
        "thanks",
        "please",
        "sure",
        "согласие",
        "даю",
        "против",
        "продолжаем",
        "продолжим",
        "заявку",
        "заявкой",
    }
)
# Whole phrases whose first word is no clue.
_YES_PHRASES = frozenset(
    {"даю согласие", "я не против", "не возражаю", "можно", "не против", "я согласен", "я согласна"}
)
_NO_PHRASES = frozenset({"не надо", "не нужно", "не согласен", "не согласна", "не хочу", "я против", "против"})


def words(text: str | None) -> list[str]:
    return _WORD.findall((text or "").lower().replace("ё", "е"))


def yes_or_no(text: str | None) -> bool | None:
    """A typed yes (True) or no (False); None when the message says something else too."""
    raw = (text or "").strip()
    ws = words(raw)
    if not ws or len(ws) > 6 or raw.rstrip().endswith("?"):
        return None
    phrase = " ".join(ws)
    if phrase in _NO_PHRASES:
        return False
    if phrase in _YES_PHRASES:
        return True
    if any(w.isdigit() for w in ws) or not all(w in _FILLERS for w in ws[1:]):
        return None
    head = ws[0]
    if head in _NO_HEADS or (head == "не" and len(ws) > 1):
        return False
    # «не помогло», «да нет»: a no anywhere after the yes turns it around
    if head in _YES_HEADS:
        return not {"нет", "не"} & set(ws[1:])
    return None


def scale_value(text: str | None, scale: Mapping[int, str]) -> int | None:
    """The point of a scale typed as its title («скорее сложно») or number («3»)."""
    ws = words(text)
    if not ws or len(ws) > 4:
        return None
    if len(ws) == 1 and ws[0].isdigit():
        value = int(ws[0])
        return value if value in scale else None
    said = [_stem(w) for w in ws if w not in ("я", "мне", "было", "в", "целом", "вполне", "очень")]
    for value, title in sorted(scale.items(), key=lambda kv: -len(kv[1])):  # «скорее легко» before «легко»
        if said == [_stem(w) for w in words(title)]:
            return value
    return None


def _stem(word: str) -> str:
    """Gender and number endings off: «удовлетворена» ~ «удовлетворён»."""
    for ending in ("ена", "ены", "ен", "на", "ны", "ая", "ый", "ой", "а", "ы"):
        if len(word) > len(ending) + 3 and word.endswith(ending):
            return word[: -len(ending)]
    return word


_HELP = re.compile(r"\b(не\s+)?помог(ло|ли|ла|)\b|\bполезн", re.IGNORECASE)


def mentions_help(text: str | None) -> bool:
    return bool(_HELP.search((text or "").lower()))


# A message that starts like this (or has a «?») asks something: inside a flow it is
# answered, never read as the step's value by a keyword in it («а как закрыть ип вообще?»).
QUESTION_WORDS = frozenset(
    {
        "как",
        "что",
        "где",
        "когда",
        "сколько",
        "почему",
        "зачем",
        "можно",
        "нужно",
        "надо",
        "какой",
        "какая",
        "какие",
        "каким",
        "кто",
        "чем",
        "куда",
        "откуда",
        "ли",
    }
)
LEAD_WORDS = frozenset({"а", "и", "но", "вот", "так", "скажите", "подскажите"})


def asks_something(text: str | None) -> bool:
    """A question rather than a value: a «?», or a question word first."""
    low = (text or "").strip().lower()
    if "?" in low:
        return True
    ws = [w.strip(",.!:;") for w in low.split()]
    while ws and ws[0] in LEAD_WORDS:
        ws = ws[1:]
    return bool(ws) and ws[0] in QUESTION_WORDS
