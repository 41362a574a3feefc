"""«Удалите мои данные» as a pure flow: one clear confirmation, then the erasure.

    start (inventory) → confirm → «Да, удалить» / «да» → effect `privacy.erase`
                                → «Нет, оставить» / «нет» / «отмена» → nothing changes
                                → anything else → nothing changes; the text is a new request

The erasure cannot be undone, so only an answer to this very question counts:
any other message ends the flow (`passthrough` with no state), and a «да»
long after the question (a flow resumed after an operator) asks again.
Buttons: `flow:privacy:yes` / `flow:privacy:no`.
"""

from __future__ import annotations

from typing import Any

from bot.core.messages import ReplyKind
from bot.flows.base import FlowContext, FlowEvent, button, reply
from bot.flows.base import LegacyEffect as Effect
from bot.flows.base import LegacyStep as Step

from . import texts

NAME = "privacy"
ERASE = "privacy.erase"
MIN_SCORE = 0.5
CONFIRM_SECONDS = 15 * 60
YES_WORDS = {"да", "да удалить", "да удалите", "удалить", "удаляйте", "удалите", "подтверждаю", "да подтверждаю"}
NO_WORDS = {"нет", "нет оставить", "оставить", "оставьте", "не надо", "не удаляйте", "отмена"}


def _words(text: str | None) -> str:
    return " ".join((text or "").lower().replace(",", " ").strip(" .!").split())


class ErasureFlow:
    name = NAME
    start_intents: tuple[str, ...] = ()  # started by the revoke_consent handler (bot/privacy/module.py)

    def accepts_free_text(self, state: dict[str, Any]) -> bool:
        """The confirmation takes every text: nothing may slip past it to another handler."""
        return state.get("stage") == "confirm"

    def start(self, ctx: FlowContext, event: FlowEvent, inventory: texts.Inventory | None = None) -> Step:
        return Step(state={"stage": "confirm", "asked_at": ctx.now.timestamp()}, replies=[reply(
            texts.confirmation(inventory or texts.Inventory()),
            button(NAME, texts.YES_BUTTON, "yes"), button(NAME, texts.NO_BUTTON, "no"))])

    def step(self, state: dict[str, Any], event: FlowEvent, ctx: FlowContext) -> Step:
        words = _words(event.text)
        yes = event.payload == "yes" or (event.text is not None and (
            words in YES_WORDS or (event.intent == "affirm" and event.score >= MIN_SCORE)))
        no = event.payload == "no" or (event.text is not None and (
            words in NO_WORDS or (event.intent == "deny" and event.score >= MIN_SCORE)))
        if state.get("stage") != "confirm" or not (yes or no):
            if event.payload is None:
                return Step(state=None, passthrough=True)  # not an answer: handled as a new request
            return Step(state=None, replies=[reply(texts.NOT_CONFIRMED, kind=ReplyKind.info)])
        if no:
            return self.cancel(state, ctx)
        if ctx.now.timestamp() - float(state.get("asked_at") or 0) > CONFIRM_SECONDS:
            return Step(state=None, replies=[reply(texts.EXPIRED, kind=ReplyKind.info)])
        return Step(state=None, effects=[Effect(ERASE)])

    def cancel(self, state: dict[str, Any], ctx: FlowContext) -> Step:
        return Step(state=None, replies=[reply(texts.KEPT, kind=ReplyKind.info)])
