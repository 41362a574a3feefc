"""«Удалите мои данные» as a pure flow: one clear confirmation, then the erasure.

    ask (inventory) → confirm → «Да, удалить» / «да» → effect `EraseClientData`
                              → «Нет, оставить» / «нет» / «отмена» → nothing changes
                              → anything else → nothing changes; the text is a new request

The erasure cannot be undone, so only an answer to this very question counts:
any other message ends the flow (`passthrough` with no state), and a «да»
long after the question (a flow resumed after an operator) erases nothing.
The erasure itself runs once the turn is saved (it deletes the conversation
too); what it deleted and kept is said with `erased`.
Buttons: `flow:privacy:yes` / `flow:privacy:no`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, Literal

from bot.core.messages import Reply, ReplyKind
from bot.flows.base import Effect, FlowContext, FlowEvent, FlowState, Step, button, reply

from . import texts

NAME = "privacy"
MIN_SCORE = 0.5
CONFIRM_SECONDS = 15 * 60
YES_WORDS = {"да", "да удалить", "да удалите", "удалить", "удаляйте", "удалите", "подтверждаю", "да подтверждаю"}
NO_WORDS = {"нет", "нет оставить", "оставить", "оставьте", "не надо", "не удаляйте", "отмена"}


class ErasureState(FlowState):
    step: Literal["confirm"] = "confirm"
    asked_at: float  # when the client saw the question (a late «да» erases nothing)
    # what the question named as kept (asked again after a detour)
    applications: tuple[str, ...] = ()
    payments: int = 0
    with_operator: bool = False


@dataclass(frozen=True)
class EraseClientData(Effect):
    """Erase everything about the client (after the turn is saved), keeping what the law requires."""


def _words(text: str | None) -> str:
    return " ".join((text or "").lower().replace(",", " ").strip(" .!").split())


class ErasureFlow:
    name = NAME
    start_intents: tuple[str, ...] = ()  # started by the revoke_consent handler (bot/privacy/module.py)
    State: ClassVar[type[FlowState]] = ErasureState
    effects: ClassVar[tuple[type[Effect], ...]] = (EraseClientData,)

    def accepts_free_text(self, state: ErasureState) -> bool:
        """The confirmation takes every text: nothing may slip past it to another handler."""
        return state.step == "confirm"

    def start(self, ctx: FlowContext, event: FlowEvent, inventory: texts.Inventory | None = None) -> Step[ErasureState]:
        inv = inventory or texts.Inventory()
        return self._ask(
            ErasureState(
                asked_at=ctx.now.timestamp(),
                applications=tuple(inv.applications),
                payments=inv.payments,
                with_operator=inv.with_operator,
            )
        )

    def step(self, state: ErasureState, event: FlowEvent, ctx: FlowContext) -> Step[ErasureState]:
        words = _words(event.text)
        yes = event.payload == "yes" or (
            event.text is not None and (words in YES_WORDS or (event.intent == "affirm" and event.score >= MIN_SCORE))
        )
        no = event.payload == "no" or (
            event.text is not None and (words in NO_WORDS or (event.intent == "deny" and event.score >= MIN_SCORE))
        )
        if not (yes or no):
            if event.payload is None:
                return Step(state=None, passthrough=True)  # not an answer: handled as a new request
            return Step(state=None, replies=(reply(texts.NOT_CONFIRMED, kind=ReplyKind.info),))
        if no:
            return self.cancel(state, ctx)
        if ctx.now.timestamp() - state.asked_at > CONFIRM_SECONDS:
            return Step(state=None, replies=(reply(texts.EXPIRED, kind=ReplyKind.info),))
        return Step(state=None, effects=(EraseClientData(),))

    def cancel(self, state: ErasureState, ctx: FlowContext) -> Step[ErasureState]:
        return Step(state=None, replies=(reply(texts.KEPT, kind=ReplyKind.info),))

    def reprompt(self, state: ErasureState, ctx: FlowContext) -> Step[ErasureState]:
        """Back after a detour: the whole question again, to be answered from now on."""
        return self._ask(state.model_copy(update={"asked_at": ctx.now.timestamp()}))

    def erased(self, deleted: Sequence[str], kept: Sequence[str]) -> tuple[Reply, ...]:
        """What the erasure did, said once it is done (the flow is over by then)."""
        return (reply(texts.erased(list(deleted), list(kept)), kind=ReplyKind.info),)

    def _ask(self, state: ErasureState) -> Step[ErasureState]:
        inventory = texts.Inventory(
            applications=list(state.applications), payments=state.payments, with_operator=state.with_operator
        )
        return Step(
            state=state,
            replies=(
                reply(
                    texts.confirmation(inventory),
                    button(NAME, texts.YES_BUTTON, "yes"),
                    button(NAME, texts.NO_BUTTON, "no"),
                ),
            ),
        )
