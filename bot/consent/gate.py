"""The personal-data consent question, as a step any typed flow can embed.

A flow that is about to collect personal data (a phone for a callback, an
ИНН for an application, a name for a booking) asks for consent first, on the
current text for its purpose (152-ФЗ; R-7). The flow keeps a `ConsentGate`
in its state while the question stands and calls `consent_gate` at the top of
its step; the answer is written to the ledger by the `RecordConsent` effect,
whose handler the consent module registers (so a flow that embeds the gate
requires the consent module).

    gate = consent_gate(NAME, PURPOSE, state.gate, event, ctx, org=self.org)
    if not gate.passed:
        return gate.step_for(state)          # asks, re-asks, passes a question on, or ends
    state = state.model_copy(update={"gate": None})
    ... your next step ... .after(*gate.effects)   # the ledger write of a consent given now
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict

from bot.core.messages import ReplyKind
from bot.flows.base import Effect, FlowContext, FlowEvent, FlowState, Step, button, reply

from . import texts
from .documents import Documents, documents, show
from .model import Action, Kind, state_from_profile

MIN_SCORE = 0.5
YES, NO = "pd_yes", "pd_no"


class ConsentGate(BaseModel):
    """Kept in the host flow's state while the consent question stands."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    purpose: str


@dataclass(frozen=True)
class RecordConsent(Effect):
    """Append records to the client's consent ledger (who, when and the channel are added
    by the handler). Each record: kind, scope, action, reason, settings, text id/version/hash."""

    records: tuple[Mapping[str, Any], ...]


def ledger_record(
    kind: Kind,
    scope: str,
    action: Action,
    *,
    reason: str = "",
    settings: dict[str, Any] | None = None,
    shown: Any = None,
) -> dict[str, Any]:
    """A ledger record without who / when / channel (the effect handler adds those)."""
    data: dict[str, Any] = {
        "kind": kind.value,
        "scope": scope,
        "action": action.value,
        "reason": reason,
        "settings": settings or {},
    }
    if shown is not None:
        data.update(shown.ledger_fields())
    return data


def has_personal_data_consent(profile: Mapping[str, str], purpose: str, docs: Documents | None = None) -> bool:
    """Consent for this purpose on the current version of its text."""
    grant = state_from_profile(dict(profile)).grants.get(f"personal_data:{purpose}")
    if grant is None:
        return False
    doc = (docs or documents()).for_purpose(purpose)
    return grant.text_id != doc.id or grant.version == str(doc.version)


@dataclass(frozen=True)
class Gate:
    """What `consent_gate` decided.

    passed: go on (with `effects`, the ledger write of a consent given just now,
    before your own); `just_given` means this event was the answer to the
    question: ask your next question, do not read the event as data.
    Not passed: return `step_for(state)`.
    """

    passed: bool
    asking: ConsentGate | None = None  # the question stands (or is asked now)
    replies: tuple[Any, ...] = ()
    effects: tuple[Effect, ...] = ()
    ends: bool = False  # refused: the host flow ends
    passthrough: bool = False  # a question instead of an answer: the engine answers it
    just_given: bool = False

    def step_for(self, state: FlowState) -> Step[Any]:
        if self.ends:
            return Step(state=None, replies=self.replies, effects=self.effects)
        kept = state.model_copy(update={"gate": self.asking})
        return Step(state=kept, replies=self.replies, effects=self.effects, passthrough=self.passthrough)


def consent_gate(
    flow: str,
    purpose: str,
    asking: ConsentGate | None,
    event: FlowEvent,
    ctx: FlowContext,
    *,
    org: str,
    docs: Documents | None = None,
) -> Gate:
    """Pure. Ask for consent right before a flow first needs the data; buttons are the
    flow's own (`flow:<flow>:pd_yes` / `pd_no`), so the engine routes the answer back to it.
    A refusal ends the flow politely, says what the client can still do, and is recorded
    (as declined) for the audit."""
    docs = docs or documents()
    shown = show(docs.for_purpose(purpose), org)
    buttons = (button(flow, texts.PD_YES, YES), button(flow, texts.PD_NO, NO))
    if asking is not None and asking.purpose == purpose:
        said_yes = event.payload == YES or bool(event.text and event.intent == "affirm" and event.score >= MIN_SCORE)
        said_no = event.payload == NO or bool(event.text and event.intent == "deny" and event.score >= MIN_SCORE)
        if said_yes:
            return Gate(
                passed=True,
                just_given=True,
                effects=(RecordConsent((ledger_record(Kind.personal_data, purpose, Action.grant, shown=shown),)),),
            )
        if said_no:
            return Gate(
                passed=False,
                ends=True,
                replies=(reply(texts.PD_REFUSED, kind=ReplyKind.info),),
                effects=(RecordConsent((ledger_record(Kind.personal_data, purpose, Action.decline, shown=shown),)),),
            )
        if event.text and event.intent == "faq":
            return Gate(passed=False, asking=asking, passthrough=True)
        return Gate(passed=False, asking=asking, replies=(reply(texts.PD_REASK, *buttons),))
    if has_personal_data_consent(ctx.profile, purpose, docs):
        return Gate(passed=True)
    return Gate(
        passed=False,
        asking=ConsentGate(purpose=purpose),
        replies=(reply(texts.PD_ASK.format(text=shown.text, version=shown.version), *buttons),),
    )
