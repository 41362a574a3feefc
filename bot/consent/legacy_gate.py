"""The personal-data consent question for flows not yet on the typed loop.

TO DELETE once bot/applications embeds the typed gate
(bot/consent/gate.py): this file, its re-export in bot/consent/flows.py and the
legacy `consent.record` handler in bot/consent/module.py. Typed flows use
`consent_gate` and `RecordConsent`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.core.messages import ReplyKind
from bot.flows.base import FlowContext, FlowEvent, button, reply
from bot.flows.base import LegacyEffect as Effect
from bot.flows.base import LegacyStep as Step

from . import texts
from .documents import Documents, documents, show
from .gate import MIN_SCORE, has_personal_data_consent, ledger_record
from .model import Action, Kind

RECORD = "consent.record"
GATE_KEY = "_pd"


def record_effect(*records: dict[str, Any]) -> Effect:
    return Effect(RECORD, {"records": list(records)})


@dataclass
class Gate:
    """What `ensure_personal_data_consent` decided.

    passed=False: return `step` from your flow's step as it is.
    passed=True: go on with `state`; put `effects` (the ledger write of a
    consent given just now) into the step you return. `just_given` means this
    event was the answer to the consent question: continue from your state
    (ask your next question), do not read the event as data.
    """

    passed: bool
    state: dict[str, Any]
    step: Step | None = None
    effects: list[Effect] = field(default_factory=list)
    just_given: bool = False


def ensure_personal_data_consent(flow: str, purpose: str, state: dict[str, Any], event: FlowEvent,
                                 ctx: FlowContext, *, org: str,
                                 docs: Documents | None = None) -> Gate:
    """Ask for personal-data consent right before a flow first needs the data (pure)."""
    docs = docs or documents()
    shown = show(docs.for_purpose(purpose), org)
    if state.get(GATE_KEY) == purpose:
        rest = {k: v for k, v in state.items() if k != GATE_KEY}
        said_yes = event.payload == "pd_yes" or (event.text and event.intent == "affirm" and event.score >= MIN_SCORE)
        said_no = event.payload == "pd_no" or (event.text and event.intent == "deny" and event.score >= MIN_SCORE)
        if said_yes:
            return Gate(passed=True, state=rest, just_given=True,
                        effects=[record_effect(ledger_record(Kind.personal_data, purpose, Action.grant, shown=shown))])
        if said_no:
            return Gate(passed=False, state=rest, step=Step(
                state=None, replies=[reply(texts.PD_REFUSED, kind=ReplyKind.info)],
                effects=[record_effect(ledger_record(Kind.personal_data, purpose, Action.decline, shown=shown))]))
        if event.text and event.intent == "faq":
            return Gate(passed=False, state=state, step=Step(state=state, passthrough=True))
        return Gate(passed=False, state=state, step=Step(state=state, replies=[reply(
            texts.PD_REASK, button(flow, texts.PD_YES, "pd_yes"), button(flow, texts.PD_NO, "pd_no"))]))
    if has_personal_data_consent(ctx.profile, purpose, docs):
        return Gate(passed=True, state=state)
    return Gate(passed=False, state=state, step=Step(state={**state, GATE_KEY: purpose}, replies=[reply(
        texts.PD_ASK.format(text=shown.text, version=shown.version),
        button(flow, texts.PD_YES, "pd_yes"), button(flow, texts.PD_NO, "pd_no"))]))

