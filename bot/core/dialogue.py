"""Pure decisions of the default dialogue (no I/O): tested with plain tables.

- `decide`: answer / clarify / options / out of scope from the fused ranking
  (standard §4.6.5.5: confirm a good-but-uncertain guess, otherwise offer the
  first three likely options).
- `yes_or_no`: does this message answer the pending yes/no question?
- `is_cancel`: is this whole message «отмена» / «отменить»? (there is no
  `cancel` NLU intent; the engine asks only while a flow is active)
- `parse_payload`: the button payload grammar (all payloads ≤ 64 bytes):
    faq:<topic>   answer a topic          do:<intent>  act on an intent
    ok:<topic>    «помогло»               nok:<topic>  «не помогло»
    cn            «нет» to «Вы имели в виду …?»
    rs            «Продолжить заявку»: the active flow's question again
    seg:<segment> set the client segment  flow:<name>:<value> a flow's own button
    do:cancel     end the active flow (Telegram's /cancel)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from .messages import Candidate
from .texts import NOT_SUGGESTED
from .understanding import Calibration


class Decision(str, Enum):
    act = "act"
    clarify = "clarify"
    options = "options"
    out_of_scope = "out_of_scope"


def suggestible(candidates: list[Candidate]) -> list[Candidate]:
    return [c for c in candidates if c.intent not in NOT_SUGGESTED]


def decide(ranking: list[Candidate], cal: Calibration, words: int = 0) -> Decision:
    """`words`: length of the client's message; 0 when unknown (a button)."""
    if not ranking:
        return Decision.out_of_scope
    top = ranking[0]
    if top.intent == "out_of_scope":
        return Decision.out_of_scope if top.score >= cal.out_of_scope else _weak(ranking, cal)
    runner_up = ranking[1].score if len(ranking) > 1 else 0.0
    # «открыть фирму», «налоги»: a very short question is ambiguous by nature, so a
    # knowledge-base answer needs more certainty before it is given unconfirmed.
    answer = cal.short_answer if top.faq_id and 0 < words <= cal.short_words else cal.answer
    if top.score >= answer and top.score - runner_up >= cal.margin:
        return Decision.act
    if top.intent in NOT_SUGGESTED:
        # small talk («да», «спасибо») is never worth a clarifying question
        return Decision.act if top.score >= cal.clarify else _weak(ranking, cal)
    if top.score >= cal.clarify:
        return Decision.clarify
    return _weak(ranking, cal)


# Requests that are served whatever the question is about (the assistant's own actions,
# such as paying a fee, are not: «оплатить штраф за парковку» is not the centre's fee).
PERSON_INTENTS = frozenset({"ask_operator", "request_callback"})


def elsewhere(ranking: list[Candidate], decision: Decision, business: bool, cal: Calibration) -> bool:
    """Redirect a message that names another authority's public service (a passport, a
    traffic fine …)? Not when it is a confident request for a person (the operator, a
    callback: a human can help with anything); not when it has a business reading (ИП, сотрудники …) the assistant can
    serve (answer, clarify, options). Without a business reading a knowledge-base answer
    needs to win clearly (at `short_answer` with the margin), else the client is sent
    where the service is provided."""
    if not ranking or decision is Decision.out_of_scope:
        return True
    top = ranking[0]
    if decision is Decision.act and top.intent in PERSON_INTENTS:
        return False
    if business:
        return False
    runner_up = ranking[1].score if len(ranking) > 1 else 0.0
    clear = top.score >= cal.short_answer and top.score - runner_up >= cal.margin
    return not (decision is Decision.act and top.intent == "faq" and clear)


def _weak(ranking: list[Candidate], cal: Calibration) -> Decision:
    useful = suggestible(ranking)
    return Decision.options if useful and useful[0].score >= cal.options else Decision.out_of_scope


YES_NO_MIN = 0.4


def yes_or_no(intent: str, score: float) -> bool | None:
    if score < YES_NO_MIN:
        return None
    return {"affirm": True, "thank": True, "deny": False}.get(intent)


# Whole messages that cancel the active flow (punctuation and case ignored).
CANCEL_WORDS = frozenset({"отмена", "отменить", "отмени", "отмените", "отменить всё", "отменить все", "cancel"})
_NOT_WORD = re.compile(r"[^\w]+")


def is_cancel(text: str | None) -> bool:
    return _NOT_WORD.sub(" ", (text or "").lower()).strip() in CANCEL_WORDS


@dataclass(frozen=True)
class Payload:
    action: str
    value: str = ""


def parse_payload(payload: str) -> Payload | None:
    action, _, value = payload.strip().partition(":")
    if action in {"cn", "rs"} and not value:
        return Payload(action)
    if action in {"faq", "do", "ok", "nok", "seg", "flow"} and value:
        return Payload(action, value)
    return None
