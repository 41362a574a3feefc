"""Pure parts of the handoff: the state machine table, the rating and
callback flows, the operator summary (no I/O)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from bot.consent.model import PROFILE_FIELD, ConsentState, Grant, Kind
from bot.flows.base import FlowContext, FlowEvent, Handover
from handoff.callback_flow import (BookCallback, CallbackBooked, CallbackFlow, CallbackState, OfferSlots,
                                    RecordCallbackConsent, SlotsFound)
from handoff.callbacks import masked_phone, normalize_phone
from handoff.rating import RatingFlow, Resume, SaveRating
from handoff.states import Event, Refused, Status, transition
from handoff.summary import reason_from, summarize

S, E = Status, Event


@pytest.mark.parametrize("status, event, expected", [
    (S.bot, E.request, S.waiting),
    (S.waiting, E.claim, S.with_operator),
    (S.waiting, E.cancel, S.bot),
    (S.with_operator, E.transfer, S.with_operator),
    (S.with_operator, E.requeue, S.waiting),
    (S.with_operator, E.resolve, S.resolved),
    (S.resolved, E.back, S.bot),
    (S.resolved, E.request, S.waiting),
])
def test_allowed_transitions(status, event, expected):
    assert transition(status, event) is expected


@pytest.mark.parametrize("status, event, words", [
    (S.with_operator, E.claim, "другой оператор"),
    (S.bot, E.claim, "не ждёт"),
    (S.with_operator, E.cancel, "уже подключился"),
    (S.waiting, E.resolve, "возьмите"),
    (S.bot, E.resolve, "недоступно"),
])
def test_refused_transitions_explain_themselves(status, event, words):
    with pytest.raises(Refused) as exc:
        transition(status, event)
    assert words in exc.value.reason


@pytest.mark.parametrize("transfers, allowed", [(0, True), (1, True), (2, False)])
def test_no_more_than_two_transfers(transfers, allowed):
    for event in (E.transfer, E.requeue):
        if allowed:
            transition(S.with_operator, event, transfers=transfers, max_transfers=2)
        else:
            with pytest.raises(Refused) as exc:
                transition(S.with_operator, event, transfers=transfers, max_transfers=2)
            assert "не более 2" in exc.value.reason


CTX = FlowContext(conversation_id="c", client_id="u", channel="api", profile={},
                  now=datetime(2026, 11, 23, tzinfo=timezone.utc))


def test_rating_asks_both_scales_saves_and_resumes_the_earlier_flow():
    flow = RatingFlow()
    resume = Resume(flow="payment", state={"step": "amount"})
    first = flow.after_operator("anna", resume)
    titles = [b.title for b in first.replies[0].buttons]
    assert titles == ["4 — Удовлетворён", "3 — Скорее удовлетворён", "2 — Скорее не удовлетворён",
                      "1 — Не удовлетворён", "Пропустить"]
    assert all(b.payload.startswith("flow:rating:") and len(b.payload) <= 64 for b in first.replies[0].buttons)
    second = flow.step(first.state, FlowEvent(payload="s3"), CTX)
    assert [b.title for b in second.replies[0].buttons][0] == "4 — Легко"
    assert [b.title for b in second.replies[0].buttons][3] == "1 — Сложно"
    done = flow.step(second.state, FlowEvent(text="4"), CTX)
    assert done.state is None and "используем" in done.replies[0].text
    assert done.effects == (SaveRating(satisfaction=3, ease=4, operator="anna"),)
    assert done.then == Handover(flow="payment", state={"step": "amount"})  # the engine continues there


@pytest.mark.parametrize("event, expect", [
    (FlowEvent(payload="skip"), "skipped"),
    (FlowEvent(text="как открыть ип", intent="faq", score=0.9), "passthrough"),
    (FlowEvent(text="ну не знаю", intent="deny", score=0.6), "ask again"),
])
def test_rating_skip_question_or_unclear_answer(event, expect):
    flow = RatingFlow()
    state = flow.start(CTX, FlowEvent()).state
    step = flow.step(state, event, CTX)
    if expect == "skipped":
        assert step.state is None and step.effects == () and step.then is None  # nothing to save or resume
    elif expect == "passthrough":
        assert step.passthrough and step.state == state
    else:
        assert step.state == state and "кнопкой" in step.replies[0].text


@pytest.mark.parametrize("text, phone", [
    ("+7 914 123-45-67", "+79141234567"),
    ("8 (914) 123 45 67", "+79141234567"),
    ("9141234567", "+79141234567"),
    ("12345", None),
    ("+1 202 555 0100", None),
    ("позвоните мне", None),
])
def test_phone_numbers_are_normalized(text, phone):
    assert normalize_phone(text) == phone


def test_masked_phone_shows_only_the_last_digits():
    assert masked_phone("+79141234567") == "+7 *** ***-45-67"


def test_callback_flow_asks_consent_then_phone_then_offers_slots():
    flow = CallbackFlow()
    start = flow.start(CTX, FlowEvent(intent="request_callback"))
    assert "Согласны" in start.replies[0].text and "152-ФЗ" in start.replies[0].text
    consent = flow.step(start.state, FlowEvent(payload="yes"), CTX)
    [recorded] = consent.effects
    assert isinstance(recorded, RecordCallbackConsent) and "номер" in consent.replies[0].text
    shown = recorded.shown  # the ledger records exactly the text shown
    assert shown["text_id"] == "pd_callback" and shown["version"] == "1" and len(shown["sha256"]) == 64
    bad = flow.step(consent.state, FlowEvent(text="двенадцать"), CTX)
    assert "+7 914 123-45-67" in bad.replies[0].text and bad.state.step == "phone"
    good = flow.step(consent.state, FlowEvent(text="8 914 123 45 67"), CTX)
    assert good.state == CallbackState(step="slot", phone="+79141234567") and good.effects == (OfferSlots(),)
    # the handler reports the free slots back; the flow shows them as buttons
    offered = flow.step(good.state, FlowEvent(outcome=SlotsFound(slots=((1795410000, "30 ноября в 9:00"),),
                                                                 hours="пн–пт с 9:00 до 18:00")), CTX)
    assert [b.payload for b in offered.replies[0].buttons] == ["flow:callback:s1795410000", "flow:callback:cancel"]
    book = flow.step(offered.state, FlowEvent(payload="s1795410000"), CTX)
    assert book.effects == (BookCallback(slot=1795410000, phone="+79141234567"),)
    taken = flow.step(book.state, FlowEvent(outcome=SlotsFound(slots=(), hours="пн–пт", taken=True)), CTX)
    assert taken.state is None and "свободного времени" in taken.replies[0].text
    booked = flow.step(book.state, FlowEvent(outcome=CallbackBooked(phone="+79141234567", when="30 ноября в 9:00",
                                                                    zone="по камчатскому времени")), CTX)
    assert booked.state is None and "-45-67" in booked.replies[0].text and booked.profile["phone"] == "+79141234567"
    assert "callback" in booked.profile["pd_sources"]  # kept with its purpose (withdrawal deletes it)
