"""A phone call as a deterministic state machine, independent of transport.

    step(state, event, ctx) -> (new state, actions)

No I/O here: the runner (`voice/call.py`) feeds events — the caller spoke,
pressed a key, was silent, playback ended, the core answered — and performs
the actions — say a prompt, stop playback (barge-in), ask the conversation
core, book a callback, hang up. Tested with plain tables.

Keys work at every step: 0 = operator, * = repeat, digits = the options of
the last prompt (or the main menu when it offered none), # ends a typed
phone number. A list longer than the keypad is read eight options at a time:
9 (or «ещё», «другие варианты», «дальше») turns the page, from the last one
back to the first (voice/render.py `page_of`). Two low-confidence recognitions in a row switch the call to
the keypad menu. Silence: a re-prompt, then an offer of the operator, then
a polite goodbye.

A callback stores the caller's phone number, so it first asks for consent
(R-7, 152-ФЗ): one sentence on what is kept and why, «1 / да» or «2 / нет».
The answer is recorded in the consent ledger (`RecordConsent`), and only
after the runner reports it saved (`ConsentRecorded`) is the callback booked.
A consent given before (in this call or, for a known number, earlier) is
not asked again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from enum import Enum

from bot.core import phones
from bot.core.engine import OPERATOR_PAYLOAD
from bot.core.messages import Reply
from bot.core.numbers import is_digits

from . import texts
from .render import PAGE_KEY, Prompt, menu, page_of, render, speakable


class Phase(str, Enum):
    speaking = "speaking"
    listening = "listening"
    thinking = "thinking"  # waiting for the core or a booking
    ended = "ended"


@dataclass(frozen=True)
class CallContext:
    """Facts a step may read (they may change during a call, e.g. hours)."""

    org_name: str
    assistant_name: str
    hours_text: str
    operator_open: bool
    min_confidence: float = 0.5
    speech: bool = True  # a recogniser listens; False: keypad only, from the greeting on


@dataclass(frozen=True)
class CallState:
    phase: Phase = Phase.listening
    prompt: Prompt = field(default_factory=lambda: Prompt(""))
    number: str | None = None  # the caller's phone number, when known
    low_confidence: int = 0
    keypad_only: bool = False
    silences: int = 0
    entry: str | None = None  # digits of a phone number being typed
    hang_up_after: bool = False
    consented: bool = False  # the caller agreed that their number is kept for a callback
    asking_consent: bool = False  # the consent question stands


# ------------------------------------------------------------------ events
@dataclass(frozen=True)
class Start:
    pass


@dataclass(frozen=True)
class Speech:
    """The caller started speaking (first partial result)."""


@dataclass(frozen=True)
class Heard:
    text: str
    confidence: float = 1.0


@dataclass(frozen=True)
class Key:
    digit: str


@dataclass(frozen=True)
class Silence:
    pass


@dataclass(frozen=True)
class PlaybackDone:
    pass


@dataclass(frozen=True)
class Answered:
    replies: tuple[Reply, ...]
    with_operator: bool = False
    intent: str | None = None


@dataclass(frozen=True)
class OperatorSaid:
    replies: tuple[Reply, ...]


@dataclass(frozen=True)
class Booked:
    text: str | None  # the confirmation to say; None = booking failed


@dataclass(frozen=True)
class ConsentRecorded:
    """The runner wrote the caller's consent answer to the ledger (ok=False: it could not)."""

    granted: bool
    ok: bool = True


@dataclass(frozen=True)
class Failed:
    """The conversation core could not answer this turn."""


@dataclass(frozen=True)
class HungUp:
    pass


Event = (
    Start
    | Speech
    | Heard
    | Key
    | Silence
    | PlaybackDone
    | Answered
    | OperatorSaid
    | Booked
    | ConsentRecorded
    | Failed
    | HungUp
)


# ----------------------------------------------------------------- actions
@dataclass(frozen=True)
class Say:
    prompt: Prompt


@dataclass(frozen=True)
class StopPlayback:
    pass


@dataclass(frozen=True)
class Ask:
    text: str | None = None
    payload: str | None = None


@dataclass(frozen=True)
class BookCallback:
    phone: str


@dataclass(frozen=True)
class RecordConsent:
    """Write the caller's answer on keeping their number for a callback to the consent ledger."""

    granted: bool


@dataclass(frozen=True)
class HangUp:
    pass


Action = Say | StopPlayback | Ask | BookCallback | RecordConsent | HangUp


# ----------------------------------------------------------- spoken words
NUMBER_WORDS = {
    "1": "один одна первый первое первая первую единица",
    "2": "два две второй второе вторая вторую двойка",
    "3": "три третий третье третья третью тройка",
    "4": "четыре четвёртый четвертый четвёртое четвертое четвёртую четвертую",
    "5": "пять пятый пятое пятую",
    "6": "шесть шестой шестое",
    "7": "семь седьмой седьмое",
    "8": "восемь восьмой восьмое",
    "9": "девять девятый девятое",
    "0": "ноль нуль",
}
_WORD_DIGIT = {w: d for d, words in NUMBER_WORDS.items() for w in words.split()}
COMMANDS = [  # (action, phrase stems), checked in order on short utterances
    ("repeat", ("повтор", "ещё раз", "еще раз")),
    ("operator", ("оператор", "человек", "сотрудник", "специалист")),
    ("hours", ("часы работы", "во сколько", "когда работа", "режим работы", "график работы")),
    ("callback", ("перезвон", "обратный звонок", "обратного звонка")),
    ("more", ("ещё", "еще", "другие", "другое", "дальше", "следующ")),
]
SHORT_UTTERANCE = 6  # words; longer speech is a question for the core
CONSENT_YES, CONSENT_NO = "voice:consent_yes", "voice:consent_no"
YES_WORDS = {"да", "согласен", "согласна", "согласны", "конечно", "хорошо", "ага", "давайте", "можно"}
NO_WORDS = {"нет", "не", "несогласен", "против", "отказываюсь"}


def spoken_key(text: str, keys: dict[str, str]) -> str | None:
    """The key a short utterance stands for: «второй» → "2", «оператор» → "0"."""
    words = re.findall(r"[а-яёa-z0-9]+", text.lower())
    if not words or len(words) > SHORT_UTTERANCE:
        return None
    if len(words) <= 3:
        for word in words:
            digit = word if len(word) == 1 and is_digits(word) else _WORD_DIGIT.get(word)
            if digit is not None and (digit in keys or digit == "0"):
                return digit
    phrase = " ".join(words)
    for action, stems in COMMANDS:
        if action == "more" and not keys.get("9", "").startswith(PAGE_KEY):
            continue  # «другие» means another page only where there is one
        if any(stem in phrase for stem in stems):
            return {
                "repeat": "*",
                "operator": "0",
                "hours": "voice:hours",
                "callback": "voice:callback",
                "more": "9",
            }[action]
    return None


def consent_answer(text: str) -> bool | None:
    """«да» / «согласна» → True, «нет» / «не согласен» → False, anything else → None."""
    words = re.findall(r"[а-яё]+", text.lower())
    if not words or len(words) > SHORT_UTTERANCE:
        return None
    if NO_WORDS.intersection(words):
        return False
    return True if YES_WORDS.intersection(words) else None


# -------------------------------------------------------------- prompts
def main_menu(body: str, speech: bool = True) -> Prompt:
    return menu(body, texts.MENU_ITEMS, lead=texts.MENU_LEAD if speech else texts.MENU_LEAD_KEYPAD, speech=speech)


def greeting(ctx: CallContext) -> Prompt:
    if not ctx.speech:  # no recogniser: the whole call is by keypad, and the caller is told so at once
        prompt = main_menu(texts.greeting_keypad(ctx.org_name, ctx.assistant_name), speech=False)
    else:
        prompt = main_menu(texts.greeting(ctx.org_name, ctx.assistant_name))
    return replace(prompt, menu=f"{prompt.menu} {texts.REPEAT_KEY}")


def _main(state: CallState, body: str) -> Prompt:
    """The main menu, read for a keypad-only call when the call is one."""
    return main_menu(body, speech=not state.keypad_only)


def consent_prompt() -> Prompt:
    return Prompt(texts.CONSENT_ASK, keys={"1": CONSENT_YES, "2": CONSENT_NO}, menu=texts.CONSENT_NO_KEY)


def active_keys(prompt: Prompt) -> dict[str, str]:
    """The prompt's keys; when it offered no options, the main menu's."""
    if any(d in prompt.keys for d in "123456789"):
        return prompt.keys
    return {**main_menu("").keys, **prompt.keys}


# ------------------------------------------------------------------ step
def step(state: CallState, event: Event, ctx: CallContext) -> tuple[CallState, list[Action]]:
    if state.phase is Phase.ended:
        return state, []
    if isinstance(event, HungUp):
        return replace(state, phase=Phase.ended), []
    if isinstance(event, Start):
        return _say(state, greeting(ctx))
    if isinstance(event, Speech):
        if state.phase is Phase.speaking:  # barge-in
            return replace(state, phase=Phase.listening, silences=0), [StopPlayback()]
        return replace(state, silences=0), []
    if isinstance(event, Heard):
        return _heard(state, event, ctx)
    if isinstance(event, Key):
        stop: list[Action] = [StopPlayback()] if state.phase is Phase.speaking else []
        new, actions = _key(replace(state, silences=0), event.digit, ctx)
        return new, stop + actions
    if isinstance(event, Silence):
        return _silence(state) if state.phase is Phase.listening else (state, [])
    if isinstance(event, PlaybackDone):
        if state.phase is not Phase.speaking:
            return state, []
        if state.hang_up_after:
            return replace(state, phase=Phase.ended), [HangUp()]
        return replace(state, phase=Phase.listening), []
    if isinstance(event, Answered):
        return _answered(state, event)
    if isinstance(event, OperatorSaid):
        prompt = render(list(event.replies), speech=not state.keypad_only)
        return _say(state, replace(prompt, body=f"{texts.FROM_OPERATOR} {prompt.body}"))
    if isinstance(event, Booked):
        if event.text is None:
            return _say(state, _main(state, texts.CALLBACK_FAILED))
        return _say(state, _main(state, f"{speakable(event.text)} {texts.HOURS_FOLLOW_UP}"))
    if isinstance(event, ConsentRecorded):
        if not event.granted:  # a refusal was already answered; the record is for the audit
            return state, []
        if not event.ok:
            return _say(state, _main(state, texts.CALLBACK_FAILED))
        return _callback(replace(state, consented=True))
    if isinstance(event, Failed):
        return _say(state, Prompt(texts.TURN_FAILED, keys={"0": OPERATOR_PAYLOAD}))
    return state, []


def _say(state: CallState, prompt: Prompt, *, hang_up: bool = False) -> tuple[CallState, list[Action]]:
    return replace(state, phase=Phase.speaking, prompt=prompt, hang_up_after=hang_up), [Say(prompt)]


def _heard(state: CallState, event: Heard, ctx: CallContext) -> tuple[CallState, list[Action]]:
    state = replace(state, silences=0)
    if not event.text.strip():
        return state, []
    if state.entry is not None:  # typing a number: speech does not count
        return state, []
    if event.confidence < ctx.min_confidence:
        low = state.low_confidence + 1
        state = replace(state, low_confidence=low)
        if low >= 2 and not state.keypad_only:
            return _say(replace(state, keypad_only=True), main_menu(texts.KEYPAD_FALLBACK, speech=False))
        hint = texts.NOT_HEARD_KEYPAD if state.keypad_only else texts.NOT_HEARD
        return _say(state, replace(state.prompt, body=hint))
    state = replace(state, low_confidence=0)
    if state.asking_consent and (answer := consent_answer(event.text)) is not None:
        return _consent(state, answer, ctx)
    key = spoken_key(event.text, active_keys(state.prompt))
    if key is not None:
        return _key(state, key, ctx) if len(key) == 1 else _target(state, key, ctx)
    if state.asking_consent:  # a question now would leave the consent hanging: ask again
        return _say(state, Prompt(texts.CONSENT_REASK, keys=consent_prompt().keys))
    return replace(state, phase=Phase.thinking), [Ask(text=event.text.strip())]


def _key(state: CallState, digit: str, ctx: CallContext) -> tuple[CallState, list[Action]]:
    if state.entry is not None:
        return _entry(state, digit)
    if digit == "*":
        return _say(state, state.prompt)
    if digit == "0":
        return _operator(replace(state, asking_consent=False), ctx)
    target = active_keys(state.prompt).get(digit)
    if target is None:
        if digit == "#":
            return state, []
        return _say(state, replace(state.prompt, body=texts.UNKNOWN_KEY))
    return _target(state, target, ctx)


def _target(state: CallState, target: str, ctx: CallContext) -> tuple[CallState, list[Action]]:
    if target in (CONSENT_YES, CONSENT_NO):
        return _consent(state, target == CONSENT_YES, ctx)
    state = replace(state, asking_consent=False)
    if target == OPERATOR_PAYLOAD:
        return _operator(state, ctx)
    if target == "voice:hours":
        return _say(state, _main(state, f"{ctx.hours_text} {texts.HOURS_FOLLOW_UP}"))
    if target == "voice:menu":
        return _say(state, _main(state, texts.HOURS_FOLLOW_UP))
    if target.startswith(PAGE_KEY) and state.prompt.choices:
        page = target.removeprefix(PAGE_KEY)
        return _say(state, page_of(state.prompt, int(page) if is_digits(page) else 0, speech=not state.keypad_only))
    if target == "voice:callback":
        if not state.consented:
            return _say(replace(state, asking_consent=True), consent_prompt())
        return _callback(state)
    return replace(state, phase=Phase.thinking), [Ask(payload=target)]


def _consent(state: CallState, granted: bool, ctx: CallContext) -> tuple[CallState, list[Action]]:
    state = replace(state, asking_consent=False)
    if granted:  # booked once the ledger has the consent (ConsentRecorded)
        return replace(state, phase=Phase.thinking), [RecordConsent(True)]
    new, actions = _say(state, _main(state, texts.CONSENT_REFUSED.format(hours=ctx.hours_text)))
    return new, [*actions, RecordConsent(False)]


def _callback(state: CallState) -> tuple[CallState, list[Action]]:
    """Book for the known number, or have it typed (consent is already given)."""
    if state.number and (number := normalize_phone(state.number)):
        return replace(state, phase=Phase.thinking), [BookCallback(number)]
    ask = texts.NOT_RUSSIAN_CALLER if state.number else texts.ENTER_NUMBER  # another country's caller id
    return _say(replace(state, entry=""), Prompt(ask))


def _operator(state: CallState, ctx: CallContext) -> tuple[CallState, list[Action]]:
    if ctx.operator_open:
        return replace(state, phase=Phase.thinking), [Ask(payload=OPERATOR_PAYLOAD)]
    body = texts.OPERATOR_CLOSED.format(hours=ctx.hours_text)
    return _say(
        state, menu(body, texts.CLOSED_ITEMS, operator=False, speech=not state.keypad_only)
    )  # operators are away: don't offer 0


MAX_TYPED_DIGITS = 16  # more than any number has: longer typing is cut here


def normalize_phone(digits: str) -> str | None:
    """The voice line keeps a number as its digits: a Russian number typed or shown as
    8XXXXXXXXXX or XXXXXXXXXX becomes 7XXXXXXXXXX (bot/core/phones); None if it is not one."""
    number = phones.e164(digits)
    return number.removeprefix("+") if number else None


def _entry(state: CallState, digit: str) -> tuple[CallState, list[Action]]:
    entry = state.entry or ""
    if digit == "*":
        return _say(replace(state, entry=None), _main(state, texts.HOURS_FOLLOW_UP))
    if digit != "#":
        return replace(state, entry=(entry + digit)[:MAX_TYPED_DIGITS]), []
    try:
        phone = phones.parse(entry).removeprefix("+")
    except phones.NotAPhone as refused:
        short = refused.problem is phones.Problem.length
        return _say(replace(state, entry=""), Prompt(texts.BAD_NUMBER if short else texts.NOT_RUSSIAN_NUMBER))
    return replace(state, entry=None, number=phone, phase=Phase.thinking), [BookCallback(phone)]


def _silence(state: CallState) -> tuple[CallState, list[Action]]:
    count = state.silences + 1
    state = replace(state, silences=count)
    if count == 1 and state.asking_consent:
        return _say(state, Prompt(texts.CONSENT_REASK, keys=consent_prompt().keys))
    if count == 1:
        return _say(state, replace(state.prompt, body=texts.REPROMPT_KEYPAD if state.keypad_only else texts.REPROMPT))
    if count == 2:
        offer = texts.OFFER_OPERATOR_KEYPAD if state.keypad_only else texts.OFFER_OPERATOR
        kept = state.prompt  # its keys still work, a long list's pages too
        return _say(state, Prompt(offer, keys=dict(kept.keys), choices=kept.choices, page=kept.page))
    return _say(state, Prompt(texts.GOODBYE_SILENCE), hang_up=True)


def _answered(state: CallState, event: Answered) -> tuple[CallState, list[Action]]:
    if not event.replies:
        if event.with_operator:
            return _say(state, Prompt(texts.WITH_OPERATOR))
        return replace(state, phase=Phase.listening), []
    prompt = render(list(event.replies), speech=not state.keypad_only)
    return _say(state, prompt, hang_up=event.intent == "goodbye")
