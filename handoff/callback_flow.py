"""Booking a callback (R-17) as a pure flow: consent → phone → slot.

Effects do the I/O and report back: `RecordCallbackConsent` writes the answer
to the consent ledger (the exact text shown travels in the effect),
`OfferSlots` looks up free slots (→ `SlotsFound`), `BookCallback` books the
chosen one (→ `CallbackBooked`, or `SlotsFound` again when it was taken a
moment ago).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from bot.core import phones
from bot.core.messages import Button, ReplyKind
from bot.core.numbers import digits_of, parse_epoch
from bot.flows.base import Effect, FlowContext, FlowEvent, FlowState, Outcome, Step, button, reply
from bot.privacy.profile import remembered

from . import texts
from .callbacks import CALLBACK_PURPOSE, consent_question, consent_shown, has_consent

NAME = "callback"
CANCEL_WORDS = {"отмена", "отменить", "отмени", "стоп", "не надо", "cancel"}

ASK_PHONE = "Напишите, пожалуйста, номер телефона, по которому вам перезвонить, например +7 914 123-45-67."
BAD_PHONE = (
    "Не получилось распознать номер. Напишите его, пожалуйста, полностью, например "
    "+7 914 123-45-67 или 8 914 123 45 67. Чтобы отказаться от звонка, напишите «отмена»."
)
NO_CONSENT = (
    "Понимаю. Без номера телефона перезвонить не получится. Я продолжу помогать здесь — "
    "задайте вопрос, а в рабочее время можно написать «оператор»."
)
CANCELLED = "Хорошо, звонок заказывать не будем. Чем ещё могу помочь?"
DEFAULT_ORG = "центр «Мой бизнес»"
CONFIRM_SAVED = "Перезвонить на номер {phone}?"
PICK_SLOT = (
    "Выберите, пожалуйста, время звонка кнопкой ниже или напишите его, например «завтра в 10:00». "
    "Чтобы отказаться от звонка, напишите «отмена»."
)
PHONE_DIGITS_MIN = 5  # fewer digits: not an attempt at a number
# A time typed at the callback's times: «14:30», «в 9», «к 10 часам».
TIME_TYPED = re.compile(r"(?<![\d.:])(\d{1,2}):(\d{2})(?![\d.:])|\b(?:в|на|к)\s+(\d{1,2})(?![\d.:])")
DAY_TYPED = re.compile(r"\b(сегодня|послезавтра|завтра)\b")


class CallbackState(FlowState):
    step: Literal["consent", "saved", "phone", "slot", "booking"]
    phone: str = ""
    offered: tuple[tuple[int, str], ...] = ()  # the slots offered last, as said («завтра в 9:00»)


@dataclass(frozen=True)
class RecordCallbackConsent(Effect):
    shown: Mapping[str, str]  # the ledger fields of the text the client agreed to


@dataclass(frozen=True)
class OfferSlots(Effect):
    pass


@dataclass(frozen=True)
class BookCallback(Effect):
    slot: int
    phone: str


@dataclass(frozen=True)
class SlotsFound(Outcome):
    slots: tuple[tuple[int, str], ...]  # (slot start, how to say it), nearest first; () = none free
    hours: str  # the operators' working hours, in words
    taken: bool = False  # the slot the client chose was taken a moment ago


@dataclass(frozen=True)
class CallbackBooked(Outcome):
    phone: str
    when: str
    zone: str


def _cancel_button() -> Button:
    return button(NAME, "Отмена", "cancel")


def _is_cancel(event: FlowEvent) -> bool:
    return event.payload == "cancel" or (event.text or "").strip().lower().strip(".!") in CANCEL_WORDS


def _cancelled() -> Step[CallbackState]:
    return Step(state=None, replies=(reply(CANCELLED, kind=ReplyKind.info),))


def _ask_phone() -> Step[CallbackState]:
    return Step(state=CallbackState(step="phone"), replies=(reply(ASK_PHONE, _cancel_button()),))


def _offer(phone: str) -> Step[CallbackState]:
    return Step(state=CallbackState(step="slot", phone=phone), effects=(OfferSlots(),))


class CallbackFlow:
    name = NAME
    what = "заказ звонка"  # «Продолжим заказ звонка или …?»
    start_intents = ("request_callback",)
    State = CallbackState
    effects = (RecordCallbackConsent, OfferSlots, BookCallback)

    def __init__(self, org: str = DEFAULT_ORG):
        self.org = org

    def accepts_free_text(self, state: CallbackState) -> bool:
        return state.step == "phone"  # the phone number is free text

    def fits(self, state: CallbackState, text: str, ctx: FlowContext) -> bool | None:
        """Is `text` what the step asks for (the engine's interruption policy)? A phone
        number (or one mistyped: the step says what is wrong with it) at the number, a time
        at the times; anything else is not (a question is answered, then the step asked
        again). None at the consent question (a «да» / «нет» or the NLU's reading)."""
        if state.step in ("phone", "saved"):
            if len(digits_of(text)) >= PHONE_DIGITS_MIN:
                return True
            return False if state.step == "phone" else None
        if state.step == "slot":
            return bool(_times(text))
        return None

    def start(self, ctx: FlowContext, event: FlowEvent) -> Step[CallbackState]:
        if not has_consent(dict(ctx.profile)):
            return self._ask_consent()
        saved = ctx.profile.get("phone", "")
        if phones.e164(saved):
            return Step(
                state=CallbackState(step="saved"),
                replies=(
                    reply(
                        CONFIRM_SAVED.format(phone=phones.masked(saved)),
                        button(NAME, "Да, на этот номер", "saved"),
                        button(NAME, "Другой номер", "other"),
                        _cancel_button(),
                    ),
                ),
            )
        return _ask_phone()

    def step(self, state: CallbackState, event: FlowEvent, ctx: FlowContext) -> Step[CallbackState]:
        if isinstance(event.outcome, SlotsFound):
            return self._slots(state, event.outcome)
        if isinstance(event.outcome, CallbackBooked):
            booked = texts.BOOKED.format(
                phone=phones.masked(event.outcome.phone), when=event.outcome.when, zone=event.outcome.zone
            )
            # kept with its purpose: withdrawing the callback consent deletes it (bot/privacy)
            return Step(
                state=None,
                replies=(reply(booked),),
                profile=remembered(ctx.profile, CALLBACK_PURPOSE, {"phone": event.outcome.phone}),
            )
        if _is_cancel(event):
            return _cancelled()
        if state.step == "consent":
            if event.payload == "yes" or (event.text and event.intent in ("affirm", "thank")):
                shown = consent_shown(self.org).ledger_fields()
                return _ask_phone().after(RecordCallbackConsent(shown))
            if event.payload == "no" or (event.text and event.intent == "deny"):
                return Step(state=None, replies=(reply(NO_CONSENT, kind=ReplyKind.info),))
            # A question instead of an answer goes to the bot; a stale button gets the question again.
            return Step(state=state, passthrough=True) if event.text else self._ask_consent()
        if state.step == "saved":
            if event.payload == "saved":
                return _offer(ctx.profile.get("phone", ""))
            if event.payload == "other":
                return _ask_phone()
            return self._maybe_phone(state, event)
        if state.step == "phone":
            return self._maybe_phone(state, event)
        if state.step == "slot":
            slot = parse_epoch(event.payload[1:]) if event.payload and event.payload.startswith("s") else None
            if slot is None and event.text:  # «завтра в 10», «14:30»: one of the times offered
                slot = _typed_slot(event.text, state.offered)
            if slot is not None:
                return Step(
                    state=state.model_copy(update={"step": "booking"}),
                    effects=(BookCallback(slot=slot, phone=state.phone),),
                )
            return Step(state=state, replies=(reply(PICK_SLOT),), effects=(OfferSlots(),))
        return _cancelled()

    def reprompt(self, state: CallbackState, ctx: FlowContext) -> Step[CallbackState]:
        """Back after a detour: the question of the current step again."""
        if state.step == "consent":
            return self._ask_consent()
        if state.step == "saved":
            return self.start(ctx, FlowEvent())
        if state.step in ("slot", "booking"):
            return Step(state=state.model_copy(update={"step": "slot"}), effects=(OfferSlots(),))
        return Step(state=state, replies=(reply(ASK_PHONE, _cancel_button()),))

    def cancel(self, state: CallbackState, ctx: FlowContext) -> Step[CallbackState]:
        """«отмена» / do:cancel at any step (the engine asks): nothing is booked."""
        return _cancelled()

    def _ask_consent(self) -> Step[CallbackState]:
        return Step(
            state=CallbackState(step="consent"),
            replies=(
                reply(
                    consent_question(consent_shown(self.org)),
                    button(NAME, "Согласен(а)", "yes"),
                    button(NAME, "Не согласен(а)", "no"),
                ),
            ),
        )

    def _slots(self, state: CallbackState, found: SlotsFound) -> Step[CallbackState]:
        if not found.slots:
            return Step(state=None, replies=(reply(texts.NO_SLOTS.format(hours=found.hours), kind=ReplyKind.info),))
        buttons = [button(NAME, when, f"s{slot}") for slot, when in found.slots]
        buttons.append(button(NAME, "Отмена", "cancel"))
        lead = (reply(texts.SLOT_TAKEN),) if found.taken else ()
        return Step(
            state=state.model_copy(update={"step": "slot", "offered": found.slots}),
            replies=(*lead, reply(texts.PICK_SLOT.format(hours=found.hours), *buttons)),
        )

    def _maybe_phone(self, state: CallbackState, event: FlowEvent) -> Step[CallbackState]:
        try:
            return _offer(phones.parse(event.text or "", whole=False))  # a number inside a sentence will do
        except phones.NotAPhone as refused:
            digits = len(digits_of(event.text or ""))
            if event.text and digits < PHONE_DIGITS_MIN and event.intent == "faq":
                return Step(state=state, passthrough=True)  # a question mid-flow: answer it, keep waiting for the phone
            # a number that is not one (a digit short, another country's) is told why; anything else, how to write it
            return Step(state=state, replies=(reply(refused.reason if digits else BAD_PHONE, _cancel_button()),))


def _times(text: str) -> list[str]:
    """The clock times typed, as the offers say them («9:00», «14:30»)."""
    out = []
    for hours, minutes, alone in TIME_TYPED.findall(text.lower()):
        h, m = int(hours or alone), int(minutes or 0)
        if h < 24 and m < 60:
            out.append(f"{h}:{m:02d}")
    return out


def _typed_slot(text: str, offered: tuple[tuple[int, str], ...]) -> int | None:
    """The offered slot the typed time (and day, if said) names; None unless exactly one."""
    times = _times(text)
    day = DAY_TYPED.search(text.lower().replace("ё", "е"))
    named = [
        slot
        for slot, when in offered
        if any(when.endswith(f"в {t}") for t in times) and (day is None or when.startswith(day.group(1)))
    ]
    return named[0] if len(named) == 1 else None
