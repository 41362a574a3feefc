"""The flow protocol and the data a step sees and returns.

Button payloads of a flow are `flow:<flow name>:<value>` (≤ 64 bytes); the
engine routes them to the flow's `step` as `FlowEvent(payload=value)`.

Cancelling: `do:cancel` (Telegram's /cancel) or the whole message «отмена»
while a flow is active ends it in the engine. A flow may implement the
optional `cancel(state, ctx) -> Step` (see `CancellableFlow`) to clean up or
say its own words; without it, or when its step has no replies, the engine
says «Хорошо, отменил. Чем ещё помочь?».
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from bot.core.messages import Button, Reply, ReplyKind


@dataclass(frozen=True)
class FlowContext:
    """Read-only facts a step may use."""

    conversation_id: str
    client_id: str
    channel: str
    profile: dict[str, str]
    now: datetime


@dataclass(frozen=True)
class FlowEvent:
    text: str | None = None
    payload: str | None = None  # the <value> of a `flow:<name>:<value>` button
    intent: str | None = None
    score: float = 0.0
    entities: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Effect:
    """Something the runner must do after the step (kind → a registered handler)."""

    kind: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class Step:
    state: dict[str, Any] | None  # None: the flow is over
    replies: list[Reply] = field(default_factory=list)
    effects: list[Effect] = field(default_factory=list)
    # True: the step did not take this text (e.g. a FAQ question mid-flow);
    # the engine answers it normally and the flow keeps its state (with
    # state None: the flow ends, and the text is handled as a new request).
    passthrough: bool = False


class Flow(Protocol):
    name: str
    start_intents: tuple[str, ...]

    def start(self, ctx: FlowContext, event: FlowEvent) -> Step: ...

    def step(self, state: dict[str, Any], event: FlowEvent, ctx: FlowContext) -> Step: ...

    # Optional: `def cancel(self, state, ctx) -> Step` — see CancellableFlow.


class CancellableFlow(Flow, Protocol):
    """A flow that wants a say when the client cancels it."""

    def cancel(self, state: dict[str, Any], ctx: FlowContext) -> Step:
        """Pure, like `step`: usually `Step(state=None, replies=[…], effects=[…clean-up…])`.
        A non-None state keeps the flow going (e.g. a payment that can no longer be stopped)."""
        ...


class FreeTextFlow(Protocol):
    """Optional: a flow whose current step waits for free text (a phone number,
    an ИНН, a name). The engine then never treats that text as a new request."""

    def accepts_free_text(self, state: dict[str, Any]) -> bool: ...


def button(flow: str, title: str, value: str) -> Button:
    payload = f"flow:{flow}:{value}"
    if len(payload.encode()) > 64:
        raise ValueError(f"button payload too long for Telegram: {payload!r}")
    return Button(title=title, payload=payload)


def reply(text: str, *buttons: Button, kind: ReplyKind = ReplyKind.flow) -> Reply:
    return Reply(kind=kind, text=text, buttons=list(buttons))
