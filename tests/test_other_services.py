"""Other authorities' public services (issue 18): the curated data, the match, and the
decision rule that a business answer needs the business reading to win clearly."""

from __future__ import annotations

import pytest

from bot.core.dialogue import Decision, elsewhere
from bot.core.focus import request_sentences
from bot.core.keywords import action_intents
from bot.core.messages import Candidate
from bot.core.understanding import Calibration
from knowledge_base.other_services import OtherServices, load_other_services


@pytest.fixture(scope="module")
def services() -> OtherServices:
    return load_other_services()


def test_every_service_names_a_source_and_where(services):
    assert len(services.services) >= 10
    for service in services.services:
        assert str(service.source.url).startswith("https://")
        assert service.where.strip()
        assert len(service.examples) >= 3  # matched by meaning when no pattern fits


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("как сделать новый паспорт", "passport"),
        ("очередь в детский сад не двигается", "kindergarten"),
        ("оплатить штраф гибдд", "traffic_fine"),
        ("хочу оформить пенсию", "pension"),
        ("как потратить маткапитал", "maternity_capital"),
        ("как открыть ип", None),
        ("брак в партии товара, что делать с поставщиком", None),
    ],
)
def test_match(services, text, expected):
    found = services.match(text)
    assert (found.id if found else None) == expected


@pytest.mark.parametrize(
    ("text", "business"),
    [
        ("пенсионные взносы ип за себя", True),
        ("паспорт сотрудника иностранца", True),
        ("жалоба на управляющую компанию", False),
        ("как поменять паспорт", False),
    ],
)
def test_business_reading(text, business):
    assert OtherServices.has_business_reading(text) is business


def faq(topic: str, score: float) -> Candidate:
    return Candidate(intent="faq", faq_id=topic, score=score)


CAL = Calibration.load()


def test_without_business_reading_a_faq_answer_must_win_clearly():
    weak = [faq("ip_documents", 0.7), faq("register_ip", 0.3)]
    clear = [faq("ip_documents", 0.95), faq("register_ip", 0.3)]
    assert elsewhere(weak, Decision.act, False, CAL) is True
    assert elsewhere(clear, Decision.act, False, CAL) is False
    assert elsewhere(weak, Decision.options, False, CAL) is True
    # with a business reading the assistant serves it (answer or ask)
    assert elsewhere(weak, Decision.act, True, CAL) is False
    assert elsewhere(weak, Decision.clarify, True, CAL) is False
    # a confident request for a person is never redirected
    assert elsewhere([Candidate(intent="ask_operator", score=0.9)], Decision.act, False, CAL) is False
    # but the assistant's own actions are for the centre's services: «оплатить штраф ГИБДД» is redirected
    assert elsewhere([Candidate(intent="pay_fee", score=0.9)], Decision.act, False, CAL) is True


def test_actions_in_words():
    assert action_intents("запишите меня на консультацию и скажите про налоги") == ["book_appointment"]
    assert action_intents("хочу заплатить госпошлину") == ["pay_fee"]
    assert action_intents("какие налоги у ип") == []


def test_long_message_reads_its_question_first():
    story = "У меня небольшая мастерская. " * 20
    parts = request_sentences(story + "Работаю третий год. Как оформить патент? Спасибо.")
    assert parts[0] == "Как оформить патент?"
    assert len(parts) <= 6
