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
    if action == "cn" and not value:
        return Payload("cn")
    if action in {"faq", "do", "ok", "nok", "seg", "flow"} and value:
        return Payload(action, value)
    return None
