"""The payment conversation as a pure flow (bot/flows/base.py).

    choose | propose → confirm → method → await → (confirmation, flow over)

Steps decide only from (state, event). The I/O is in effects whose handlers
(effects.py) report back: `CreateOrder` → `OrderCreated`; `StartPayment` →
`QrIssued`, `CardPageIssued`, `InvoiceSent`, `InvoiceNotDelivered`,
`ProviderDown`, or `OrderChecked` when the order was closed meanwhile;
`CheckPayment` → `OrderChecked`. The flow words every reply from them.
Buttons: `flow:pay:f:<fee>`, `ok`, `other`, `x` (cancel), `m:<method>`,
`check`, `methods`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar, Literal

from bot.core.answers import asks_something
from bot.core.messages import Button, Reply, ReplyKind
from bot.core.numbers import digits_of
from bot.flows.base import Effect, FlowContext, FlowEvent, FlowState, Outcome, Step, button, reply

from . import texts
from .catalogue import Catalogue, Fee
from .receipts import OrderFacts, status_reply
from .status import OPEN, PaymentMethod, PaymentStatus

NAME = "pay"
START_INTENTS = ("pay_fee",)
CANCEL_WORDS = ("отмен", "стоп", "не надо", "передумал")
# Typed choice of a way to pay (stems, lower case).
METHOD_WORDS = {
    PaymentMethod.card: ("карт", "онлайн"),
    PaymentMethod.qr: ("qr", "кьюар", "куар", "реквизит", "квитанц"),
    PaymentMethod.telegram: ("телеграм", "telegram"),
}
# Entities the start handler passes: the fee suggested by the conversation so far.
CONTEXT_FEE = "context_fee"


class PayState(FlowState):
    step: Literal["choose", "propose", "confirm", "method", "await"]
    run: int  # this flow run (its start, ms): order keys are unique per run …
    attempt: int = 0  # … and per confirmed fee within it
    fee: str | None = None  # the fee proposed or chosen
    order: str | None = None  # the order created for it


# ------------------------------------------------------------------ effects
@dataclass(frozen=True)
class CreateOrder(Effect):
    fee: str
    key: str  # idempotency key: a repeated confirmation makes no second order


@dataclass(frozen=True)
class StartPayment(Effect):
    order: str
    method: PaymentMethod


@dataclass(frozen=True)
class CheckPayment(Effect):
    order: str


# ----------------------------------------------------------------- outcomes
@dataclass(frozen=True)
class OrderCreated(Outcome):
    order: str


@dataclass(frozen=True)
class QrIssued(Outcome):
    uin: str
    requisites: str  # the same requisites as text
    image_url: str | None  # None: no QR code fits this payment; the requisites only


@dataclass(frozen=True)
class CardPageIssued(Outcome):
    amount: str
    url: str  # the gateway's payment page


@dataclass(frozen=True)
class InvoiceSent(Outcome):
    amount: str  # a Telegram invoice is in the chat


@dataclass(frozen=True)
class InvoiceNotDelivered(Outcome):
    pass


@dataclass(frozen=True)
class ProviderDown(Outcome):
    method: PaymentMethod  # nothing was charged; another way or a later try


@dataclass(frozen=True)
class OrderChecked(Outcome):
    order: OrderFacts  # how the order stands now (open, or paid / failed / expired / refunded)

    @property
    def completes_service(self) -> bool:
        return self.order.status is PaymentStatus.paid


def _b(title: str, value: str) -> Button:
    return button(NAME, title, value)


class PayFlow:
    name: str = NAME
    what = texts.FLOW_WHAT  # «Продолжим оплату или …?»
    start_intents: tuple[str, ...] = START_INTENTS
    State: ClassVar[type[FlowState]] = PayState
    effects: ClassVar[tuple[type[Effect], ...]] = (CreateOrder, StartPayment, CheckPayment)

    def __init__(self, catalogue: Catalogue, methods: Callable[[str], Sequence[PaymentMethod]]) -> None:
        self.catalogue = catalogue
        self.methods = methods  # channel → ways to pay offered there, preferred first

    # ------------------------------------------------------------------ start
    def start(self, ctx: FlowContext, event: FlowEvent) -> Step[PayState]:
        candidates = self._candidates(event)
        state = PayState(step="choose", run=int(ctx.now.timestamp() * 1000))
        if len(candidates) == 1:
            return self._propose(candidates[0], state)
        return self._choose(state, first=candidates)

    def _candidates(self, event: FlowEvent) -> list[Fee]:
        digits = digits_of(event.entities.get("amount", ""))[:12]
        if digits and (by_amount := self.catalogue.for_amount(int(digits) * 100)):
            return by_amount
        if by_text := self.catalogue.match_text(event.text):
            return by_text
        fee = self.catalogue.get(event.entities.get(CONTEXT_FEE))
        return [fee] if fee else []

    def cancel(self, state: PayState, ctx: FlowContext) -> Step[PayState]:
        """«отмена» / do:cancel (the engine asks): the same words as the «Отмена» button."""
        return Step(state=None, replies=(reply(texts.CANCELLED),))

    def reprompt(self, state: PayState, ctx: FlowContext) -> Step[PayState]:
        """Back after a detour: the question of the current step again."""
        fee = self.catalogue.get(state.fee)
        if state.step == "propose" and fee:
            return self._propose(fee, state)
        if state.step == "confirm" and fee:
            return self._confirm(fee, state)
        if state.step == "method":
            return Step(state=state, replies=(self._methods_reply(ctx),))
        if state.step == "await" and fee:
            return Step(
                state=state, replies=(reply(texts.BACK_TO_PAYMENT.format(name=fee.name), *self.await_buttons()),)
            )
        return self._choose(state)

    def fits(self, state: PayState, text: str, ctx: FlowContext) -> bool | None:
        """Is `text` what the current step asks for (the engine's interruption policy)? A fee
        named at the fee's choice, a way to pay at the ways'; a question never is (it is
        answered, then the step asked again); None where a «да» / «нет» or any words may answer."""
        if self._cancel_text(FlowEvent(text=text)):
            return True  # «передумал»: the flow's own way out
        if state.step in ("choose", "propose"):
            if asks_something(text):
                return False
            return True if self.catalogue.match_text(text) else None
        if state.step in ("method", "await"):
            if self._typed_method(text, ctx.channel):
                return True
            return False if asks_something(text) else None
        return None

    def status_told(self, state: PayState, orders: Sequence[OrderFacts]) -> Step[PayState]:
        """The client asked how their payments stand and was told (outside the flow): once
        this flow's order is among them and closed, there is nothing left to do here."""
        mine = next((o for o in orders if o.id == state.order), None)
        return Step(state=None) if mine and mine.status not in OPEN else Step(state=state)

    # ------------------------------------------------------------------- step
    def step(self, state: PayState, event: FlowEvent, ctx: FlowContext) -> Step[PayState]:
        if event.outcome is not None:
            return self._on_outcome(state, event.outcome, ctx)
        if event.payload == "x" or self._cancel_text(event):
            return self.cancel(state, ctx)
        if state.step in ("choose", "propose"):
            return self._on_choose(state, event)
        if state.step == "confirm":
            return self._on_confirm(state, event, ctx)
        return self._on_pay(state, event, ctx)

    def _on_choose(self, state: PayState, event: FlowEvent) -> Step[PayState]:
        if event.payload:
            kind, _, value = event.payload.partition(":")
            if kind == "f" and (fee := self.catalogue.get(value)):
                return self._confirm(fee, state)
            if kind == "other":
                return self._choose(state)
            return self._choose(state, lead=texts.NOT_UNDERSTOOD_FEE)
        if state.step == "propose" and event.intent == "affirm" and (fee := self.catalogue.get(state.fee)):
            return self._confirm(fee, state)
        if state.step == "propose" and event.intent == "deny":
            return self._choose(state)
        if event.intent != "pay_fee" and asks_something(event.text):
            return Step(state=state, passthrough=True)  # a question: the engine answers it, the step stays
        matched = self.catalogue.match_text(event.text)
        if len(matched) == 1:
            return self._confirm(matched[0], state)
        if matched:
            return self._choose(state, first=matched)
        return Step(state=state, passthrough=True)

    def _on_confirm(self, state: PayState, event: FlowEvent, ctx: FlowContext) -> Step[PayState]:
        fee = self.catalogue.get(state.fee)
        if fee is None:
            return self._choose(state)
        if event.payload == "ok" or (not event.payload and event.intent == "affirm"):
            attempt = state.attempt + 1
            key = f"{ctx.conversation_id}:{state.run}:{attempt}"
            return Step(
                state=state.model_copy(update={"step": "method", "attempt": attempt, "order": None}),
                effects=(CreateOrder(fee=fee.id, key=key),),
            )
        if event.payload == "other" or (not event.payload and event.intent == "deny"):
            return self._choose(state)
        if event.payload:
            return Step(state=state, replies=(reply(texts.NOT_UNDERSTOOD_STEP, *self._confirm_buttons()),))
        return Step(state=state, passthrough=True)

    def _on_pay(self, state: PayState, event: FlowEvent, ctx: FlowContext) -> Step[PayState]:
        """method / await: a way to pay chosen, a check asked for, or back to the ways."""
        payload = event.payload or ""
        if not payload and event.intent != "payment_status":
            payload = self._typed_method(event.text, ctx.channel)
        method = self._offered(payload.removeprefix("m:"), ctx.channel) if payload.startswith("m:") else None
        wants_check = payload == "check" or (not payload and event.intent == "payment_status")
        if state.order is None and (method or wants_check):  # no order to pay (its creation failed)
            return Step(state=state, replies=(reply(texts.NOT_UNDERSTOOD_STEP, *self.methods_buttons(ctx.channel)),))
        if method and state.order:
            return Step(
                state=state.model_copy(update={"step": "await"}),
                effects=(StartPayment(order=state.order, method=method),),
            )
        if wants_check and state.order:
            return Step(state=state, effects=(CheckPayment(order=state.order),))
        if payload == "methods":
            return Step(state=state.model_copy(update={"step": "method"}), replies=(self._methods_reply(ctx),))
        if payload:
            return Step(state=state, replies=(reply(texts.NOT_UNDERSTOOD_STEP, *self.await_buttons()),))
        return Step(state=state, passthrough=True)

    def _on_outcome(self, state: PayState, outcome: Outcome, ctx: FlowContext) -> Step[PayState]:
        if isinstance(outcome, OrderCreated):
            return Step(state=state.model_copy(update={"order": outcome.order}), replies=(self._methods_reply(ctx),))
        if isinstance(outcome, QrIssued):
            return Step(
                state=state,
                replies=(self._qr_reply(outcome), reply(texts.QR_AFTER.format(uin=outcome.uin), *self.await_buttons())),
            )
        if isinstance(outcome, CardPageIssued):
            return Step(
                state=state,
                replies=(
                    reply(texts.CARD_READY.format(amount=outcome.amount, url=outcome.url), *self.await_buttons()),
                ),
            )
        if isinstance(outcome, InvoiceSent):
            return Step(
                state=state, replies=(reply(texts.TELEGRAM_READY.format(amount=outcome.amount), *self.await_buttons()),)
            )
        if isinstance(outcome, (InvoiceNotDelivered, ProviderDown)):
            text = texts.TELEGRAM_UNAVAILABLE if isinstance(outcome, InvoiceNotDelivered) else texts.METHOD_UNAVAILABLE
            return Step(
                state=state.model_copy(update={"step": "method"}),
                replies=(reply(text, *self.methods_buttons(ctx.channel)),),
            )
        if isinstance(outcome, OrderChecked):
            told = status_reply(outcome.order)
            if outcome.order.status in OPEN:  # not paid yet: keep waiting, with the same buttons
                return Step(state=state, replies=(reply(told.text, *self.await_buttons()),))
            return Step(state=None, replies=(told,))  # paid, failed, expired or refunded: said, done
        raise TypeError(f"flow {NAME!r} got an outcome it never asked for: {type(outcome).__name__}")

    # -------------------------------------------------------------- replies
    def _choose(self, state: PayState, first: Sequence[Fee] = (), lead: str = texts.CHOOSE_FEE) -> Step[PayState]:
        fees = list({f.id: f for f in [*first, *self.catalogue.fees]}.values())
        buttons = [_b(f"{f.name} — {f.rubles}", f"f:{f.id}") for f in fees]
        return Step(
            state=state.model_copy(update={"step": "choose", "fee": None}),
            replies=(reply(lead, *buttons, _b(texts.CANCEL, "x")),),
        )

    def _propose(self, fee: Fee, state: PayState) -> Step[PayState]:
        text = texts.PROPOSE_FEE.format(name=fee.name, amount=fee.rubles)
        return Step(
            state=state.model_copy(update={"step": "propose", "fee": fee.id}),
            replies=(
                reply(text, _b(texts.PROPOSE_YES, f"f:{fee.id}"), _b(texts.OTHER_FEE, "other"), _b(texts.CANCEL, "x")),
            ),
        )

    def _confirm(self, fee: Fee, state: PayState) -> Step[PayState]:
        text = texts.CONFIRM.format(
            name=fee.name,
            amount=fee.rubles,
            legal_basis=fee.legal_basis,
            recipient=fee.payee.recipient,
            purpose=fee.purpose,
        )
        if fee.note:
            text += "\n\n" + texts.FREE_NOTE.format(note=fee.note)
        if self.catalogue.requisites_are_sample:
            text += "\n\n" + texts.SAMPLE_WARNING
        return Step(
            state=state.model_copy(update={"step": "confirm", "fee": fee.id}),
            replies=(reply(text, *self._confirm_buttons()),),
        )

    def _qr_reply(self, issued: QrIssued) -> Reply:
        if issued.image_url:
            text = texts.QR_READY.format(requisites=issued.requisites)
        else:
            text = texts.QR_UNAVAILABLE.format(requisites=issued.requisites)
        if self.catalogue.requisites_are_sample:  # sample requisites are never silent
            text += "\n\n" + texts.SAMPLE_WARNING
        return Reply(kind=ReplyKind.flow, text=text, image_url=issued.image_url)

    def _confirm_buttons(self) -> list[Button]:
        return [_b(texts.CONFIRM_OK, "ok"), _b(texts.OTHER_FEE, "other"), _b(texts.CANCEL, "x")]

    def _methods_reply(self, ctx: FlowContext) -> Reply:
        return reply(texts.CHOOSE_METHOD, *self.methods_buttons(ctx.channel), _b(texts.CANCEL, "x"))

    def methods_buttons(self, channel: str) -> list[Button]:
        return [_b(texts.METHOD_TITLES[m.value], f"m:{m.value}") for m in self.methods(channel)]

    def await_buttons(self) -> list[Button]:
        return [_b(texts.CHECK, "check"), _b(texts.OTHER_METHOD, "methods"), _b(texts.CANCEL, "x")]

    def _offered(self, value: str, channel: str) -> PaymentMethod | None:
        return next((m for m in self.methods(channel) if m.value == value), None)

    def _typed_method(self, text: str | None, channel: str) -> str:
        low = (text or "").lower()
        chosen = [m for m in self.methods(channel) if any(w in low for w in METHOD_WORDS.get(m, ()))]
        return f"m:{chosen[0].value}" if len(chosen) == 1 else ""

    @staticmethod
    def _cancel_text(event: FlowEvent) -> bool:
        low = (event.text or "").lower()
        return bool(low) and any(w in low for w in CANCEL_WORDS)
