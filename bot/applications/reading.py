"""How the form flow reads what a client typed or pressed at a question (pure)."""

from __future__ import annotations

from bot.flows.base import FlowEvent

from .forms import FieldType, FormField

BACK_WORDS = {"назад", "вернуться", "вернуться назад", "предыдущий вопрос", "back"}
SKIP_WORDS = {"пропустить", "пропусти", "пропуск", "дальше", "не знаю", "нет почты", "skip", "-"}
HELP_WORDS = {"помощь", "подсказка", "?", "зачем", "где взять", "где найти", "а где взять", "что писать"}
MIN_SCORE = 0.5  # an affirm / deny this sure is a «да» / «нет»
QUESTION_SCORE = 0.8  # a question this sure is answered by the bot, not taken as an answer
QUESTION_INTENTS = ("faq", "application_status", "pay_fee", "book_appointment")


def words(text: str | None) -> str:
    """Lower case, «ё» as «е», no end punctuation, single spaces."""
    return " ".join((text or "").lower().replace("ё", "е").strip(" .!").split())


_HELP_CUES = ("где взять", "где найти", "где посмотреть", "где узнать", "что это", "что такое", "зачем")


def asks_for_help(low: str) -> bool:
    """«подсказка», «а где взять ОГРНИП?»: the client asks about the question itself
    (`low`: the message through `words`); its help answers it."""
    return low in HELP_WORDS or (low.endswith("?") and any(cue in low for cue in _HELP_CUES))


def said(event: FlowEvent, intent: str, *more: str) -> bool:
    """The client said this (in words, not by a button) with some confidence."""
    return not event.payload and event.intent in (intent, *more) and event.score >= MIN_SCORE


def asks_a_question(event: FlowEvent) -> bool:
    """A confident FAQ question where a «да» / «нет» or a button was expected."""
    return not event.payload and event.intent == "faq" and event.score >= QUESTION_SCORE


def pressed(field: FormField, payload: str) -> str | None:
    """The value of an answer button (`c:<option>`, `y` / `n`), None if it is not this field's."""
    kind, _, value = payload.partition(":")
    if field.type is FieldType.choice and kind == "c" and field.option(value):
        return value
    if field.type is FieldType.yes_no and payload in ("y", "n"):
        return "yes" if payload == "y" else "no"
    return None


def is_question(event: FlowEvent, field: FormField) -> bool:
    """A confident question instead of an answer (a free-text field's must end with «?»)."""
    if event.intent not in QUESTION_INTENTS:
        return False
    typed = field.type not in (FieldType.text, FieldType.full_name)
    return event.score >= QUESTION_SCORE and (typed or (event.text or "").rstrip().endswith("?"))
