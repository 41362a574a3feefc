"""Replies of the conversation core, rendered for the ear (pure functions).

- Text: no emoji, no URLs (the source is named, its address is not read
  out), lists become short sentences, written-channel wording («напишите») becomes spoken,
  asides lose their parentheses, a masked phone number («+7 *** ***-45-67»)
  is said by its last digits. This is also what the /call page shows;
  numbers and abbreviations are put into words later, for the synthesizer
  alone (speech_text.py).
- Buttons become keypad digits 1…9 in order, read as «1 — тема. … Скажите
  номер или нажмите 1, 2 или 3.»; the operator button is always 0.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot.core.engine import OPERATOR_PAYLOAD
from bot.core.messages import Reply

from . import texts


@dataclass(frozen=True)
class Prompt:
    """One thing the assistant says, and what the keys mean while it stands."""

    body: str
    keys: dict[str, str] = field(default_factory=dict)  # digit → payload or voice:<action>
    menu: str = ""  # the keys, read out

    @property
    def speech(self) -> str:
        return " ".join(p for p in (self.body, self.menu) if p)


_URL = re.compile(r"(https?://|www\.)\S+")
_SOURCE = re.compile(r"Источник:\s*(.+?)\s*[—-]\s*(https?://|www\.)\S+")
_EMOJI = re.compile("[\U0001F000-\U0001FAFF\u2600-\u27BF\u2B00-\u2BFF\uFE0F\u200D]")
_THOUSANDS = re.compile(r"(?<=\d)[ \u00a0\u202f](?=\d{3}\b)")
_BULLET = re.compile(r"^\s*(?:[•·*▪–-]|\d+[.)])\s+")
_CYR = "А-Яа-яЁё"

# Written-channel wording → spoken wording.
EAR_WORDING = [
    (re.compile(r"\b([Нн])апишите нам здесь\b"), lambda m: "позвоните нам"),
    (re.compile(r"\b([Нн])апишите\b"), lambda m: "Скажите" if m.group(1) == "Н" else "скажите"),
    (re.compile(r"\bпишите\b"), lambda m: "звоните"),
    (re.compile(r"\s+ниже\b"), lambda m: ""),
    (re.compile(r"всю нашу переписку"), lambda m: "весь наш разговор"),
    (re.compile(r"Ответ придёт сюда же\."), lambda m: "Оставайтесь, пожалуйста, на линии."),
]
# Times and weekday ranges as people say them: «пн–чт с 9:00» → «с понедельника по четверг с 9».
_TIME = re.compile(r"\b(\d{1,2}):(\d{2})\b")
_DAYS = {"пн": ("понедельника", "понедельник"), "вт": ("вторника", "вторник"), "ср": ("среды", "среду"),
         "чт": ("четверга", "четверг"), "пт": ("пятницы", "пятницу"), "сб": ("субботы", "субботу"),
         "вс": ("воскресенья", "воскресенье")}
_DAY = "|".join(_DAYS)
_DAY_RANGE = re.compile(rf"(?<![{_CYR}])({_DAY})\s*[–-]\s*({_DAY})(?![{_CYR}])")
_ONE_DAY = re.compile(rf"(?<![{_CYR}])({_DAY})(?=\s+с\s+\d)")
_ASIDE = re.compile(r"\s+\(([^()]*)\)")  # «с 9 до 17 (по камчатскому времени)»; «Согласен(на)» stays
_MASKED_PHONE = re.compile(r"\+?7?\s*\*{3}\s*\*{3}-(\d{2})-(\d{2})")
SYMBOLS = {"₽": " рублей", "%": " процентов", "№": "номер ", "&": " и ", "≈": "около "}


def _masked_phone(m: re.Match) -> str:
    # a comma keeps the digits apart from a date that may follow («… 45 67, 30 ноября»)
    comma = "," if re.match(r"\s+\w", m.string[m.end():]) else ""
    return f"с окончанием {m.group(1)} {m.group(2)}{comma}"


def speakable(text: str) -> str:
    """Plain short spoken sentences from a written reply."""
    text = _SOURCE.sub(lambda m: f"Источник — {m.group(1)}.", text)
    text = _URL.sub("", text)
    text = _EMOJI.sub("", text)
    text = _ASIDE.sub(lambda m: f" {m.group(1)}", text)
    text = _MASKED_PHONE.sub(_masked_phone, text)
    text = _THOUSANDS.sub("", text)
    text = _TIME.sub(lambda m: m.group(1) if m.group(2) == "00" else f"{m.group(1)} {m.group(2)}", text)
    text = _DAY_RANGE.sub(lambda m: f"с {_DAYS[m.group(1)][0]} по {_DAYS[m.group(2)][1]}", text)
    text = _ONE_DAY.sub(lambda m: f"в {_DAYS[m.group(1)][1]}", text)
    for symbol, word in SYMBOLS.items():
        text = text.replace(symbol, word)
    for pattern, repl in EAR_WORDING:
        text = pattern.sub(repl, text)
    sentences = []
    for line in text.splitlines():
        line = _BULLET.sub("", line).strip().rstrip(";,").strip()
        line = re.sub(r"\s*[—-]\s*$", "", line)  # a dash left where a URL was
        if not line:
            continue
        if line[-1] not in ".!?:…»\"":
            line += "."
        sentences.append(line[0].upper() + line[1:])
    return re.sub(r"\s{2,}", " ", " ".join(sentences)).replace(" .", ".").strip()


def title_for_ear(title: str) -> str:
    return speakable(title).rstrip(".!?:")


def _digits(digits: list[str]) -> str:
    return digits[0] if len(digits) == 1 else f"{', '.join(digits[:-1])} или {digits[-1]}"


def keypad(options: list[tuple[str, str]], operator: bool, speech: bool = True) -> str:
    """Read the keys out: «1 — тема. 2 — … Скажите номер или нажмите 1 или 2.» (no «скажите» without speech)"""
    parts = [f"{digit} — {title}." for digit, title in options]
    if options:
        ask = texts.SAY_OR_PRESS if speech else texts.PRESS
        parts.append(ask.format(digits=_digits([d for d, _ in options])))
    if operator:
        parts.append(texts.OPERATOR_KEY)
    return " ".join(parts)


# Keypad-only calls: an invitation to speak becomes one to press («…или выберите тему» → «Выберите тему»).
_SPEAK_OR = re.compile(r"(?:Скажите|Задайте)[^.!?]*? или (в)(ыберите[^.!?]*[.!?])")
_SPEAK = re.compile(r"(?:^|(?<=[.!?] ))(?:Скажите|Задайте)[^.!?]*[.!?] ?")


def for_keypad(text: str) -> str:
    text = _SPEAK_OR.sub(lambda m: m.group(1).upper() + m.group(2), text)
    return _SPEAK.sub("", text).strip()


def render(replies: list[Reply], speech: bool = True) -> Prompt:
    body = " ".join(s for s in (speakable(r.text) for r in replies) if s)
    if not speech:
        body = for_keypad(body)
    keys: dict[str, str] = {}
    options: list[tuple[str, str]] = []
    for button in (b for r in replies for b in r.buttons):
        if button.payload == OPERATOR_PAYLOAD:
            keys["0"] = button.payload
        elif button.payload not in keys.values() and len(options) < 9:
            digit = str(len(options) + 1)
            keys[digit] = button.payload
            options.append((digit, title_for_ear(button.title)))
    return Prompt(body=body, keys=keys, menu=keypad(options, operator="0" in keys, speech=speech))


def menu(body: str, items: dict[str, tuple[str, str]], lead: str = "", operator: bool = True,
         speech: bool = True) -> Prompt:
    """A prompt of the voice line's own keypad menu (items: digit → (action, title))."""
    options = [(digit, title) for digit, (_, title) in items.items()]
    spoken = " ".join(p for p in (lead, keypad(options, operator=operator, speech=speech)) if p)
    keys = {digit: action for digit, (action, _) in items.items()}
    keys["0"] = OPERATOR_PAYLOAD
    return Prompt(body=body, keys=keys, menu=spoken)
