"""The payment conversation as a flow with pure steps (bot/flows/base.py).

    choose | propose → confirm → method → await → (confirmation, flow over)

Steps decide only from (state, event); creating the order, starting a
payment and checking it are effects the module's handlers perform. Buttons:
`flow:pay:f:<fee>`, `ok`, `other`, `x` (cancel), `m:<method>`, `check`,
`methods`.
"""

from __future__ import annotations

from typing import Any, Callable

from bot.core.messages import Button
from bot.core.numbers import digits_of
from bot.flows.base import FlowContext, FlowEvent, button, reply
from bot.flows.base import LegacyEffect as Effect
from bot.flows.base import LegacyStep as Step

from . import texts
from .catalogue import Catalogue, Fee

NAME = "pay"
START_INTENTS = ("pay_fee",)
CANCEL_WORDS = ("отмен", "стоп", "не надо", "передумал")
# Typed choice of a way to pay (stems, lower case).
METHOD_WORDS = {"card": ("карт", "онлайн"), "qr": ("qr", "кьюар", "куар", "реквизит", "квитанц"),
                "telegram": ("телеграм", "telegram")}
# Entities the start handler passes: the fee suggested by the conversation so far.
CONTEXT_FEE = "context_fee"

# Effects (kinds the module registers handlers for).
CREATE = "pay.create"
START = "pay.start"
CHECK = "pay.check"


def _b(title: str, value: str) -> Button:
    return button(NAME, title, value)


class PayFlow:
    name = NAME
    start_intents = START_INTENTS

    def __init__(self, catalogue: Catalogue, methods: Callable[[str], list[str]]):
        self.catalogue = catalogue
        self.methods = methods  # channel → ways to pay offered there

    # ------------------------------------------------------------------ start
    def start(self, ctx: FlowContext, event: FlowEvent) -> Step:
        candidates = self._candidates(event)
        # `run` makes order keys unique per flow run; `attempt` per confirmed fee.
        state = {"run": int(ctx.now.timestamp() * 1000), "attempt": 0}
        if len(candidates) == 1:
            return self._propose(candidates[0], state)
        return self._choose(state, first=candidates)

    def _candidates(self, event: FlowEvent) -> list[Fee]:
        amount = event.entities.get("amount", "")
        digits = digits_of(amount)[:12]
        if digits and (by_amount := self.catalogue.for_amount(int(digits) * 100)):
            return by_amount
        if by_text := self.catalogue.match_text(event.text):
            return by_text
        fee = self.catalogue.get(event.entities.get(CONTEXT_FEE))
        return [fee] if fee else []

    def cancel(self, state: dict[str, Any], ctx: FlowContext) -> Step:
        """«отмена» / do:cancel (the engine asks): the same words as the «Отмена» button."""
        return Step(None, [reply(texts.CANCELLED)])

    # ------------------------------------------------------------------- step
    def step(self, state: dict[str, Any], event: FlowEvent, ctx: FlowContext) -> Step:
        stage = state.get("stage")
        if event.payload == "x" or self._cancel_text(event):
            return Step(None, [reply(texts.CANCELLED)])
        if stage in ("choose", "propose"):
            return self._on_choose(state, event)
        if stage == "confirm":
            return self._on_confirm(state, event, ctx)
        if stage in ("method", "await"):
            return self._on_pay(state, event, ctx)
        return self._choose(state)

    def _on_choose(self, state: dict, event: FlowEvent) -> Step:
        if event.payload:
            kind, _, value = event.payload.partition(":")
            if kind == "f" and (fee := self.catalogue.get(value)):
                return self._confirm(fee, state)
            if kind == "other":
                return self._choose(state)
            return self._choose(state, lead=texts.NOT_UNDERSTOOD_FEE)
        if state.get("stage") == "propose" and event.intent == "affirm" and (fee := self.catalogue.get(state.get("fee"))):
            return self._confirm(fee, state)
        if state.get("stage") == "propose" and event.intent == "deny":
            return self._choose(state)
        matched = self.catalogue.match_text(event.text)
        if len(matched) == 1:
            return self._confirm(matched[0], state)
        if matched:
            return self._choose(state, first=matched)
        return Step(state, passthrough=True)

    def _on_confirm(self, state: dict, event: FlowEvent, ctx: FlowContext) -> Step:
        fee = self.catalogue.get(state.get("fee"))
        if fee is None:
            return self._choose(state)
        if event.payload == "ok" or (not event.payload and event.intent == "affirm"):
            attempt = int(state.get("attempt", 0)) + 1
            new = {**state, "stage": "method", "attempt": attempt}
            key = f"{ctx.conversation_id}:{state.get('run', 0)}:{attempt}"
            return Step(new, [self._methods_reply(ctx)], [Effect(CREATE, {"fee": fee.id, "key": key})])
        if event.payload == "other" or (not event.payload and event.intent == "deny"):
            return self._choose(state)
        if event.payload:
            return Step(state, [reply(texts.NOT_UNDERSTOOD_STEP, *self._confirm_buttons())])
        return Step(state, passthrough=True)

    def _on_pay(self, state: dict, event: FlowEvent, ctx: FlowContext) -> Step:
        payload = event.payload or ""
        if not payload and event.intent != "payment_status":
            payload = self._typed_method(event.text, ctx.channel)
        if payload.startswith("m:") and payload[2:] in self.methods(ctx.channel):
            return Step({**state, "stage": "await"}, [], [Effect(START, {"method": payload[2:]})])
        if payload == "check" or (not payload and event.intent == "payment_status"):
            return Step(state, [], [Effect(CHECK, {})])
        if payload == "methods":
            return Step({**state, "stage": "method"}, [self._methods_reply(ctx)])
        if payload:
            return Step(state, [reply(texts.NOT_UNDERSTOOD_STEP, *self.await_buttons())])
        return Step(state, passthrough=True)

    # -------------------------------------------------------------- replies
    def _choose(self, state: dict, first: list[Fee] | None = None, lead: str = texts.CHOOSE_FEE) -> Step:
        fees = list({f.id: f for f in [*(first or []), *self.catalogue.fees]}.values())
        buttons = [_b(f"{f.name} — {f.rubles}", f"f:{f.id}") for f in fees]
        return Step({**state, "stage": "choose", "fee": None}, [reply(lead, *buttons, _b(texts.CANCEL, "x"))])

    def _propose(self, fee: Fee, state: dict) -> Step:
        text = texts.PROPOSE_FEE.format(name=fee.name, amount=fee.rubles)
        return Step({**state, "stage": "propose", "fee": fee.id}, [reply(
            text, _b(texts.PROPOSE_YES, f"f:{fee.id}"), _b(texts.OTHER_FEE, "other"), _b(texts.CANCEL, "x"))])

    def _confirm(self, fee: Fee, state: dict) -> Step:
        text = texts.CONFIRM.format(name=fee.name, amount=fee.rubles, legal_basis=fee.legal_basis,
                                    recipient=fee.payee.recipient, purpose=fee.purpose)
        if fee.note:
            text += "\n\n" + texts.FREE_NOTE.format(note=fee.note)
        if self.catalogue.requisites_are_sample:
            text += "\n\n" + texts.SAMPLE_WARNING
        return Step({**state, "stage": "confirm", "fee": fee.id}, [reply(text, *self._confirm_buttons())])

    def _confirm_buttons(self) -> list[Button]:
        return [_b(texts.CONFIRM_OK, "ok"), _b(texts.OTHER_FEE, "other"), _b(texts.CANCEL, "x")]

    def _methods_reply(self, ctx: FlowContext):
        buttons = [_b(texts.METHOD_TITLES[m], f"m:{m}") for m in self.methods(ctx.channel)]
        return reply(texts.CHOOSE_METHOD, *buttons, _b(texts.CANCEL, "x"))

    def methods_buttons(self, channel: str) -> list[Button]:
        return [_b(texts.METHOD_TITLES[m], f"m:{m}") for m in self.methods(channel)]

    def await_buttons(self) -> list[Button]:
        return [_b(texts.CHECK, "check"), _b(texts.OTHER_METHOD, "methods"), _b(texts.CANCEL, "x")]

    def _typed_method(self, text: str | None, channel: str) -> str:
        low = (text or "").lower()
        chosen = [m for m in self.methods(channel) if any(w in low for w in METHOD_WORDS.get(m, ()))]
        return f"m:{chosen[0]}" if len(chosen) == 1 else ""

    @staticmethod
    def _cancel_text(event: FlowEvent) -> bool:
        low = (event.text or "").lower()
        return bool(low) and any(w in low for w in CANCEL_WORDS)
