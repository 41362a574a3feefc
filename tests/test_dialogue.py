"""Pure decision rules of the default dialogue, as tables."""

from __future__ import annotations

import pytest

from bot.core.dialogue import Decision, Payload, decide, parse_payload, yes_or_no
from bot.core.messages import Candidate
from bot.core.understanding import Calibration, fuse
from nlu.client import NluResult

CAL = Calibration.load()


def ranking(*items: tuple[str, float]) -> list[Candidate]:
    out = []
    for name, score in items:
        intent, _, topic = name.partition(":")
        out.append(Candidate(intent=intent, faq_id=topic or None, score=score))
    return out


@pytest.mark.parametrize(
    "items, expected",
    [
        ([("faq:usn", 0.92), ("faq:patent", 0.05)], Decision.act),
        ([("pay_fee", 0.9), ("faq:payment_methods", 0.3)], Decision.act),
        # good but not certain → «Вы имели в виду …?»
        ([("faq:usn", 0.45), ("faq:patent", 0.10)], Decision.clarify),
        # strong but two close contenders → not certain either
        ([("faq:usn", 0.60), ("faq:tax_regimes", 0.55)], Decision.clarify),
        # weak → the first three options
        ([("faq:microloan", 0.20), ("faq:guarantee", 0.18), ("faq:support_measures", 0.15)], Decision.options),
        ([("out_of_scope", 0.9), ("faq:usn", 0.05)], Decision.out_of_scope),
        ([("out_of_scope", 0.3), ("faq:usn", 0.25)], Decision.options),
        ([("faq:usn", 0.02)], Decision.out_of_scope),
        # small talk never becomes «Вы имели в виду: спасибо?»
        ([("thank", 0.5), ("faq:usn", 0.4)], Decision.act),
        ([], Decision.out_of_scope),
    ],
)
def test_decide(items, expected):
    assert decide(ranking(*items), CAL) is expected


@pytest.mark.parametrize(
    "words, score, expected",
    [
        (2, 0.85, Decision.clarify),  # «открыть фирму»: confirm first
        (2, 0.95, Decision.act),  # unless the assistant is nearly certain
        (5, 0.85, Decision.act),  # a full question is answered
        (0, 0.85, Decision.act),  # length unknown (not typed)
    ],
)
def test_very_short_questions_are_confirmed_unless_nearly_certain(words, score, expected):
    assert decide(ranking(("faq:register_ooo", score), ("faq:register_ip", 0.3)), CAL, words) is expected


@pytest.mark.parametrize(
    "intent, score, expected",
    [
        ("affirm", 0.9, True),
        ("deny", 0.9, False),
        ("thank", 0.8, True),
        ("affirm", 0.2, None),
        ("faq", 0.9, None),
    ],
)
def test_yes_or_no(intent, score, expected):
    assert yes_or_no(intent, score) is expected


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("faq:usn", Payload("faq", "usn")),
        ("do:ask_operator", Payload("do", "ask_operator")),
        ("cn", Payload("cn")),
        ("ok:usn", Payload("ok", "usn")),
        ("seg:ip", Payload("seg", "ip")),
        ("faq:", None),
        ("hello", None),
        ("", None),
    ],
)
def test_parse_payload(raw, expected):
    assert parse_payload(raw) == expected


def test_fusion_combines_rasa_and_knowledge_base():
    nlu = NluResult(ranking=[("faq__usn", 0.7), ("faq__patent", 0.2), ("pay_fee", 0.1)])
    fused = fuse(nlu, [("usn", 0.95), ("tax_regimes", 0.90)], CAL)
    assert [(c.intent, c.faq_id) for c in fused[:2]] == [("faq", "usn"), ("faq", "tax_regimes")]
    assert fused[0].score == pytest.approx(CAL.rasa_weight * 0.7 + (1 - CAL.rasa_weight) * CAL.kb_score(0.95), abs=1e-4)


def test_fusion_of_a_one_faq_model_lets_the_knowledge_base_pick_the_topic():
    # a large knowledge base is trained with one `faq` intent (nlu/labels.py)
    nlu = NluResult(ranking=[("faq", 0.6), ("help", 0.4)])
    kb = [("usn", 0.95), ("tax_regimes", 0.94), ("patent", 0.80)]
    fused = fuse(nlu, kb, CAL)
    assert [(c.intent, c.faq_id) for c in fused[:2]] == [("faq", "usn"), ("faq", "tax_regimes")]
    assert ("faq", None) not in [(c.intent, c.faq_id) for c in fused]
    cosine = dict(kb)
    near = {c.faq_id: c.score - (1 - CAL.rasa_weight) * CAL.kb_score(cosine[c.faq_id]) for c in fused if c.faq_id}
    assert sum(near.values()) == pytest.approx(CAL.rasa_weight * 0.6, abs=1e-3)  # shared, nothing invented
    assert near["usn"] > near["tax_regimes"] > near["patent"]
    help_ = next(c for c in fused if c.intent == "help")
    assert help_.score == pytest.approx(0.4, abs=1e-4)


def test_fusion_without_nlu_uses_the_knowledge_base_alone():
    fused = fuse(None, [("usn", 0.95), ("patent", 0.85)], CAL)
    assert fused[0].faq_id == "usn" and fused[0].score == pytest.approx(CAL.kb_score(0.95), abs=1e-4)
