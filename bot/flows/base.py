"""The flow protocol: typed states, typed effects, and a closed loop.

A flow is a deterministic state machine with no I/O:

    start(ctx, event)        -> Step
    step(state, event, ctx)  -> Step

A `Step` carries the flow's next state (a frozen `FlowState`; None when the
flow is over), the replies to send, changes to the client's profile, and
*effects*: typed requests for I/O (a frozen dataclass per kind of request)
that the flow declares in `effects`. The engine performs each effect with the
handler registered for its type; the handler does the I/O and reports what
happened as an `Outcome` (or None), which the engine feeds back to `step` as
`FlowEvent(outcome=...)`. Only the engine writes flow state: a handler never
does. `Engine.register_flow` refuses a flow that declares an effect with no
handler, so a missing handler is a start-up error, never a failed turn.

    message ─▶ step ─▶ Step(state, replies, effects) ─▶ handler ─▶ Outcome ─┐
                ▲                                                          │
                └──────────────────────── FlowEvent(outcome) ◀─────────────┘

Button payloads of a flow are `flow:<flow name>:<value>` (≤ 64 bytes); the
engine routes them to the flow's `step` as `FlowEvent(payload=value)`.

Cancelling: `do:cancel` (Telegram's /cancel) or the whole message «отмена»
while a flow is active ends it in the engine. A flow may implement the
optional `cancel(state, ctx) -> Step` (see `CancellableFlow`) to clean up or
say its own words; without it, or when its step has no replies, the engine
says «Хорошо, отменил. Чем ещё помочь?».
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from types import MappingProxyType
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict

from bot.core.messages import Button, Reply, ReplyKind


class FlowState(BaseModel):
    """A flow's state between messages: frozen, stored as JSON in the conversation.
    Subclasses name their position in a field called `step`."""

    model_config = ConfigDict(frozen=True, extra="forbid")


@dataclass(frozen=True)
class Effect:
    """Base of a flow's typed requests for I/O (subclass: a frozen dataclass)."""


@dataclass(frozen=True)
class Outcome:
    """Base of what an effect handler reports back to the flow."""

    @property
    def completes_service(self) -> bool:
        """True when this outcome means the client got what they came for (an application
        submitted, a booking made, a payment received): the service may be rated (R-14)."""
        return False


@dataclass(frozen=True)
class FlowContext:
    """Read-only facts a step may use."""

    conversation_id: str
    client_id: str
    channel: str
    profile: Mapping[str, str]
    now: datetime


@dataclass(frozen=True)
class FlowEvent:
    text: str | None = None
    payload: str | None = None  # the <value> of a `flow:<name>:<value>` button
    intent: str | None = None
    score: float = 0.0
    entities: Mapping[str, str] = field(default_factory=dict)
    outcome: Outcome | None = None  # what an effect of the previous step reported


@dataclass(frozen=True)
class Handover:
    """When this flow ends, continue in another one (e.g. the flow a handoff
    interrupted, restored after the rating)."""

    flow: str
    state: Mapping[str, Any]


S = TypeVar("S", bound=FlowState)


@dataclass(frozen=True)
class Step(Generic[S]):
    state: S | None  # None: the flow is over
    replies: tuple[Reply, ...] = ()
    effects: tuple[Effect, ...] = ()
    # Profile fields to set (a value) or delete (None); the engine writes them.
    profile: Mapping[str, str | None] = field(default_factory=dict)
    # True: the step did not take this text (e.g. a FAQ question mid-flow);
    # the engine answers it normally and the flow keeps its state (with
    # state None: the flow ends, and the text is handled as a new request).
    passthrough: bool = False
    then: Handover | None = None  # with state None: the flow to continue in
    # Flows set aside in this conversation that end too, without a word, instead of coming
    # back (forms whose data was just deleted: a personal-data consent withdrawn).
    ends: tuple[str, ...] = ()

    def plus(self, *replies: Reply, effects: tuple[Effect, ...] = ()) -> Step[S]:
        """This step with more replies and effects after its own."""
        return replace(self, replies=self.replies + replies, effects=self.effects + effects)

    def after(self, *effects: Effect) -> Step[S]:
        """This step with `effects` performed before its own."""
        return replace(self, effects=effects + self.effects)


@dataclass(frozen=True)
class EffectContext:
    """What an effect handler may know about the turn. It reads and writes its own
    domain (orders, bookings, the ledger…), never the conversation's flow state."""

    conversation_id: str
    client_id: str
    channel: str
    profile: Mapping[str, str]
    now: datetime
    # Run a job after the turn is saved, still under the conversation's lock (an
    # erasure must come after everything the turn itself writes). What the job returns
    # is said after the turn's replies (the flow has ended by then: render it with the
    # flow's own pure function); it is not in the history, which was saved before.
    defer: Callable[[Callable[[], Awaitable[Sequence[Reply]]]], None]


E = TypeVar("E", bound=Effect)
EffectHandler = Callable[[Any, EffectContext], Awaitable[Outcome | None]]


class Flow(Protocol):
    name: str
    start_intents: tuple[str, ...]
    State: ClassVar[type[FlowState]]  # its state model
    effects: ClassVar[tuple[type[Effect], ...]]  # every effect its steps may request

    def start(self, ctx: FlowContext, event: FlowEvent) -> Step[Any]: ...

    def step(self, state: Any, event: FlowEvent, ctx: FlowContext) -> Step[Any]: ...

    # Optional: `def cancel(self, state, ctx) -> Step` — see CancellableFlow;
    # `def accepts_free_text(self, state) -> bool` — see FreeTextFlow;
    # `def reprompt(self, state, ctx) -> Step` — see ResumableFlow;
    # `def fits(self, state, text, ctx) -> bool | None` — see AnswerCheckingFlow;
    # `what: str` — the flow in the engine's «Продолжим {what} или …?» («заявку»).


class CancellableFlow(Flow, Protocol):
    """A flow that wants a say when the client cancels it."""

    def cancel(self, state: Any, ctx: FlowContext) -> Step[Any]:
        """Pure, like `step`: usually `Step(state=None, replies=(…), effects=(…clean-up…))`.
        A non-None state keeps the flow going (e.g. a payment that can no longer be stopped)."""
        ...


class FreeTextFlow(Protocol):
    """Optional: a flow whose current step waits for free text (a phone number,
    an ИНН, a name). The engine then treats a weak guess at a new request as the answer."""

    def accepts_free_text(self, state: Any) -> bool: ...


class ResumableFlow(Protocol):
    """Optional: a flow that can ask its current question again, when the client
    comes back to it after a detour (another flow set it aside, `Engine.run_aside`).
    Pure, like `step`; the engine runs the whole step (e.g. an effect that looks up
    the free slots to offer again)."""

    def reprompt(self, state: Any, ctx: FlowContext) -> Step[Any]: ...


class AnswerCheckingFlow(Protocol):
    """Optional: a flow that can tell whether a text is a value its current step takes
    (the form: the field's validator). The engine's interruption policy asks it first:
    True — the text goes to the step; False — a clear request or a question is served
    instead (the flow keeps its state and asks again), an unsure one gets «Продолжим
    {what} или …?»; None — the step takes any words (the engine decides by the NLU)."""

    def fits(self, state: Any, text: str, ctx: FlowContext) -> bool | None: ...


def frozen_profile(profile: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(profile))


def button(flow: str, title: str, value: str) -> Button:
    payload = f"flow:{flow}:{value}"
    if len(payload.encode()) > 64:
        raise ValueError(f"button payload too long for Telegram: {payload!r}")
    return Button(title=title, payload=payload)


def reply(text: str, *buttons: Button, kind: ReplyKind = ReplyKind.flow) -> Reply:
    return Reply(kind=kind, text=text, buttons=list(buttons))
