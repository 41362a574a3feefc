"""Replies of the conversation core, rendered for the ear (pure functions).

- Text: no emoji, no URLs (the source is named, its address is not read
  out), lists become short sentences, written-channel wording («напишите») becomes spoken,
  asides lose their parentheses, a masked phone number («+7 *** ***-45-67»)
  is said by its last digits. This is also what the /call page shows;
  numbers and abbreviations are put into words later, for the synthesizer
  alone (speech_text.py).
- Buttons become keypad digits 1…9 in order, read as «1 — тема. … Скажите
  номер или нажмите 1, 2 или 3.»; the operator button is always 0. More than
  nine options (a booking's free times) are read eight at a time, with 9 for
  «другие варианты» (on the last page: «к началу списка»); * repeats the page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from bot.core.engine import OPERATOR_PAYLOAD
from bot.core.messages import Reply

from . import texts


@dataclass(frozen=True)
class Prompt:
    """One thing the assistant says, and what the keys mean while it stands."""

    body: str
    keys: dict[str, str] = field(default_factory=dict)  # digit → payload or voice:<action>
    menu: str = ""  # the keys, read out
    # All the options of a list longer than the keypad, (payload, title for the ear), and the page
    # read now: 9 turns the page (`PAGE_KEY`); () when every option has its own digit.
    choices: tuple[tuple[str, str], ...] = ()
    page: int = 0

    @property
    def speech(self) -> str:
        return " ".join(p for p in (self.body, self.menu) if p)


_URL = re.compile(r"(https?://|www\.)\S+")
_SOURCE = re.compile(r"Источник:\s*(.+?)\s*[—-]\s*(https?://|www\.)\S+")
_EMOJI = re.compile("[\U0001f000-\U0001faff\u2600-\u27bf\u2b00-\u2bff\ufe0f\u200d]")
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
_DAYS = {
    "пн": ("понедельника", "понедельник"),
    "вт": ("вторника", "вторник"),
    "ср": ("среды", "среду"),
    "чт": ("четверга", "четверг"),
    "пт": ("пятницы", "пятницу"),
    "сб": ("субботы", "субботу"),
    "вс": ("воскресенья", "воскресенье"),
}
_DAY = "|".join(_DAYS)
_DAY_RANGE = re.compile(rf"(?<![{_CYR}])({_DAY})\s*[–-]\s*({_DAY})(?![{_CYR}])")
_ONE_DAY = re.compile(rf"(?<![{_CYR}])({_DAY})(?=\s+с\s+\d)")
_ASIDE = re.compile(r"\s+\(([^()]*)\)")  # «с 9 до 17 (по камчатскому времени)»; «Согласен(на)» stays
_MASKED_PHONE = re.compile(r"\+?7?\s*\*{3}\s*\*{3}-(\d{2})-(\d{2})")
SYMBOLS = {"₽": " рублей", "%": " процентов", "№": "номер ", "&": " и ", "≈": "около "}


def _masked_phone(m: re.Match) -> str:
    # a comma keeps the digits apart from a date that may follow («… 45 67, 30 ноября»)
    comma = "," if re.match(r"\s+\w", m.string[m.end() :]) else ""
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
        if line[-1] not in '.!?:…»"':
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


KEYPAD_OPTIONS = 9  # digits 1…9
PER_PAGE = KEYPAD_OPTIONS - 1  # a longer list: 8 options a page, 9 turns the page
PAGE_KEY = "voice:page:"  # + the page 9 leads to


def render(replies: list[Reply], speech: bool = True) -> Prompt:
    body = " ".join(s for s in (speakable(r.text) for r in replies) if s)
    if not speech:
        body = for_keypad(body)
    operator = False
    choices: dict[str, str] = {}  # payload → title, in order
    for button in (
        b for r in replies for b in r.buttons if b.payload
    ):  # a link (a web page) cannot be pressed by phone
        if button.payload == OPERATOR_PAYLOAD:
            operator = True
        else:
            choices.setdefault(button.payload, title_for_ear(button.title))
    listed = tuple(choices.items())
    if len(listed) > KEYPAD_OPTIONS:
        return page_of(Prompt(body=body, choices=listed, keys={"0": OPERATOR_PAYLOAD} if operator else {}), 0, speech)
    keys = {str(n): payload for n, (payload, _) in enumerate(listed, 1)}
    options = [(str(n), title) for n, (_, title) in enumerate(listed, 1)]
    if operator:
        keys["0"] = OPERATOR_PAYLOAD
    return Prompt(body=body, keys=keys, menu=keypad(options, operator=operator, speech=speech))


def page_of(prompt: Prompt, page: int, speech: bool = True) -> Prompt:
    """`prompt`'s long list at `page` (eight options; 9 for the next page, or back to the first
    from the last). Another page than the first is led by its own words, not the whole text again."""
    pages = -(-len(prompt.choices) // PER_PAGE)
    page = page % pages if pages else 0
    shown = prompt.choices[page * PER_PAGE : (page + 1) * PER_PAGE]
    last = page == pages - 1
    options = [(str(n), title) for n, (_, title) in enumerate(shown, 1)]
    options.append(("9", texts.FIRST_PAGE_KEY if last else texts.NEXT_PAGE_KEY))
    keys = {str(n): payload for n, (payload, _) in enumerate(shown, 1)}
    keys["9"] = f"{PAGE_KEY}{0 if last else page + 1}"
    operator = prompt.keys.get("0") == OPERATOR_PAYLOAD
    if operator:
        keys["0"] = OPERATOR_PAYLOAD
    if page == 0:
        body = prompt.body if prompt.page == 0 or not prompt.choices else texts.FIRST_PAGE
    else:
        body = texts.NEXT_PAGE
    return replace(prompt, body=body, keys=keys, menu=keypad(options, operator=operator, speech=speech), page=page)


def menu(
    body: str, items: dict[str, tuple[str, str]], lead: str = "", operator: bool = True, speech: bool = True
) -> Prompt:
    """A prompt of the voice line's own keypad menu (items: digit → (action, title))."""
    options = [(digit, title) for digit, (_, title) in items.items()]
    spoken = " ".join(p for p in (lead, keypad(options, operator=operator, speech=speech)) if p)
    keys = {digit: action for digit, (action, _) in items.items()}
    keys["0"] = OPERATOR_PAYLOAD
    return Prompt(body=body, keys=keys, menu=spoken)
