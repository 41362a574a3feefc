"""Booking a callback (R-17) as a pure flow: consent → phone → slot.

Effects do the I/O: `handoff.consent` records the consent in the ledger (the
exact text shown travels in the effect), `handoff.offer_slots`
shows free slots as buttons, `handoff.book_callback` books the chosen one.
"""

from __future__ import annotations

from typing import Any

from bot.core.messages import ReplyKind
from bot.core.numbers import digits_of, parse_epoch
from bot.flows.base import FlowContext, FlowEvent, button, reply
from bot.flows.base import LegacyEffect as Effect
from bot.flows.base import LegacyStep as Step

from .callbacks import consent_question, consent_shown, has_consent, masked_phone, normalize_phone

NAME = "callback"
CANCEL_WORDS = {"отмена", "отменить", "отмени", "стоп", "не надо", "cancel"}

ASK_PHONE = "Напишите, пожалуйста, номер телефона, по которому вам перезвонить, например +7 914 123-45-67."
BAD_PHONE = ("Не получилось распознать номер. Напишите его, пожалуйста, полностью, например "
             "+7 914 123-45-67 или 8 914 123 45 67. Чтобы отказаться от звонка, напишите «отмена».")
NO_CONSENT = ("Понимаю. Без номера телефона перезвонить не получится. Я продолжу помогать здесь — "
              "задайте вопрос, а в рабочее время можно написать «оператор».")
CANCELLED = "Хорошо, звонок заказывать не будем. Чем ещё могу помочь?"
DEFAULT_ORG = "центр «Мой бизнес»"
CONFIRM_SAVED = "Перезвонить на номер {phone}?"
PICK_SLOT = "Выберите, пожалуйста, время звонка кнопкой ниже или напишите «отмена»."


def _cancel_button():
    return button(NAME, "Отмена", "cancel")


def _is_cancel(event: FlowEvent) -> bool:
    return event.payload == "cancel" or (event.text or "").strip().lower().strip(".!") in CANCEL_WORDS


def _ask_phone(state: dict[str, Any]) -> Step:
    return Step(state={**state, "step": "phone"}, replies=[reply(ASK_PHONE, _cancel_button())])


def _offer(state: dict[str, Any], phone: str) -> Step:
    return Step(state={**state, "step": "slot", "phone": phone}, effects=[Effect("handoff.offer_slots")])


class CallbackFlow:
    name = NAME

    def accepts_free_text(self, state: dict[str, Any]) -> bool:
        return state.get("step") == "phone"  # the phone number is free text
    start_intents = ("request_callback",)

    def __init__(self, org: str = DEFAULT_ORG):
        self.org = org

    def start(self, ctx: FlowContext, event: FlowEvent) -> Step:
        if not has_consent(ctx.profile):
            return self._ask_consent()
        if normalize_phone(ctx.profile.get("phone", "")):
            return Step(state={"step": "saved"}, replies=[reply(
                CONFIRM_SAVED.format(phone=masked_phone(ctx.profile["phone"])),
                button(NAME, "Да, на этот номер", "saved"), button(NAME, "Другой номер", "other"),
                _cancel_button())])
        return _ask_phone({})

    def step(self, state: dict[str, Any], event: FlowEvent, ctx: FlowContext) -> Step:
        if _is_cancel(event):
            return Step(state=None, replies=[reply(CANCELLED, kind=ReplyKind.info)])
        current = state.get("step")
        if current == "consent":
            if event.payload == "yes" or (event.text and event.intent in ("affirm", "thank")):
                step = _ask_phone(state)
                step.effects.append(Effect("handoff.consent", {"shown": consent_shown(self.org).ledger_fields()}))
                return step
            if event.payload == "no" or (event.text and event.intent == "deny"):
                return Step(state=None, replies=[reply(NO_CONSENT, kind=ReplyKind.info)])
            # A question instead of an answer goes to the bot; a stale button gets the question again.
            return Step(state=state, passthrough=True) if event.text else self._ask_consent()
        if current == "saved":
            if event.payload == "saved":
                return _offer(state, ctx.profile.get("phone", ""))
            if event.payload == "other":
                return _ask_phone(state)
            return self._maybe_phone(state, event)
        if current == "phone":
            return self._maybe_phone(state, event)
        if current == "slot":
            slot = parse_epoch(event.payload[1:]) if event.payload and event.payload.startswith("s") else None
            if slot is not None:
                return Step(state={**state, "step": "booking"}, effects=[
                    Effect("handoff.book_callback", {"slot": slot, "phone": state["phone"]})])
            return Step(state=state, replies=[reply(PICK_SLOT)], effects=[Effect("handoff.offer_slots")])
        return Step(state=None, replies=[reply(CANCELLED, kind=ReplyKind.info)])

    def _ask_consent(self) -> Step:
        return Step(state={"step": "consent"}, replies=[reply(
            consent_question(consent_shown(self.org)),
            button(NAME, "Согласен(а)", "yes"), button(NAME, "Не согласен(а)", "no"))])

    def cancel(self, state: dict[str, Any], ctx: FlowContext) -> Step:
        """«отмена» / do:cancel at any step (the engine asks): nothing is booked."""
        return Step(state=None, replies=[reply(CANCELLED, kind=ReplyKind.info)])

    def _maybe_phone(self, state: dict[str, Any], event: FlowEvent) -> Step:
        phone = normalize_phone(event.text or "")
        if phone:
            return _offer(state, phone)
        if event.text and len(digits_of(event.text)) < 5 and event.intent == "faq":
            return Step(state=state, passthrough=True)  # a question mid-flow: answer it, keep waiting for the phone
        return Step(state=state, replies=[reply(BAD_PHONE, _cancel_button())])
