"""Pure parts of the handoff: the state machine table, the rating and
callback flows, the operator summary (no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.consent.model import PROFILE_FIELD, ConsentState, Grant, Kind
from bot.core import phones
from bot.flows.base import FlowContext, FlowEvent, Handover, Step
from handoff.callback_flow import (
    BookCallback,
    CallbackBooked,
    CallbackFlow,
    CallbackState,
    OfferSlots,
    RecordCallbackConsent,
    SlotsFound,
)
from handoff.rating import EASE, SATISFACTION, RatingFlow, Resume, SaveComment, SaveRating, typed_score
from handoff.states import Event, Refused, Status, transition
from handoff.summary import reason_from, summarize

S, E = Status, Event


@pytest.mark.parametrize(
    "status, event, expected",
    [
        (S.bot, E.request, S.waiting),
        (S.waiting, E.claim, S.with_operator),
        (S.waiting, E.cancel, S.bot),
        (S.with_operator, E.transfer, S.with_operator),
        (S.with_operator, E.requeue, S.waiting),
        (S.with_operator, E.resolve, S.resolved),
        (S.resolved, E.back, S.bot),
        (S.resolved, E.request, S.waiting),
    ],
)
def test_allowed_transitions(status, event, expected):
    assert transition(status, event) is expected


@pytest.mark.parametrize(
    "status, event, words",
    [
        (S.with_operator, E.claim, "другой оператор"),
        (S.bot, E.claim, "не ждёт"),
        (S.with_operator, E.cancel, "уже подключился"),
        (S.waiting, E.resolve, "возьмите"),
        (S.bot, E.resolve, "недоступно"),
    ],
)
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


CTX = FlowContext(conversation_id="c", client_id="u", channel="api", profile={}, now=datetime(2026, 11, 23, tzinfo=UTC))


def test_rating_asks_both_scales_saves_and_resumes_the_earlier_flow():
    flow = RatingFlow()
    resume = Resume(flow="payment", state={"step": "amount"})
    first = flow.after_operator("anna", resume)
    titles = [b.title for b in first.replies[0].buttons]
    assert titles == [
        "4 — Удовлетворён",
        "3 — Скорее удовлетворён",
        "2 — Скорее не удовлетворён",
        "1 — Не удовлетворён",
        "Пропустить",
    ]
    assert all(b.payload.startswith("flow:rating:") and len(b.payload) <= 64 for b in first.replies[0].buttons)
    second = flow.step(first.state, FlowEvent(payload="s3"), CTX)
    assert next(b.title for b in second.replies[0].buttons) == "4 — Легко"
    assert [b.title for b in second.replies[0].buttons][3] == "1 — Сложно"
    done = flow.step(second.state, FlowEvent(text="4"), CTX)
    assert "используем" in done.replies[0].text and "Без комментария" in [b.title for b in done.replies[0].buttons]
    ref = done.state.ref
    assert done.effects == (SaveRating(satisfaction=3, ease=4, operator="anna", ref=ref),)  # saved before the comment
    assert len(ref) == 16 and "anna" not in ref  # anonymous
    commented = flow.step(done.state, FlowEvent(text="Оператор объяснил понятно, спасибо", intent="thank"), CTX)
    assert commented.state is None and commented.effects == (SaveComment(ref, "Оператор объяснил понятно, спасибо"),)
    assert commented.then == Handover(flow="payment", state={"step": "amount"})  # the engine continues there
    question = flow.step(done.state, FlowEvent(text="как закрыть ип?", intent="faq", score=0.9), CTX)
    assert question.passthrough and question.state == done.state  # answered; the earlier flow still comes back
    alone = done.state.model_copy(update={"resume": None})
    assert flow.step(alone, FlowEvent(text="как закрыть ип", intent="faq", score=0.9), CTX) == Step(
        state=None, passthrough=True
    )
    skipped = flow.step(done.state, FlowEvent(payload="skip"), CTX)
    assert skipped.effects == () and skipped.then == Handover(flow="payment", state={"step": "amount"})


@pytest.mark.parametrize(
    "text, scale, score",
    [
        ("4", SATISFACTION, 4),
        ("на 3", SATISFACTION, 3),
        ("3 — Скорее удовлетворён", SATISFACTION, 3),
        ("удовлетворена", SATISFACTION, 4),
        ("скорее не удовлетворена", SATISFACTION, 2),
        ("не удовлетворён", SATISFACTION, 1),
        ("скорее сложно", EASE, 2),
        ("Скорее легко", EASE, 3),
        ("сложно", EASE, 1),
        ("легко!", EASE, 4),
        ("5", EASE, None),
        ("как открыть ип", EASE, None),
        ("14", SATISFACTION, None),
    ],
)
def test_typed_scores_are_read_on_their_scale(text, scale, score):
    assert typed_score(text, scale) == score


def test_a_rating_after_a_service_names_it_and_notes_when_it_was_asked():
    step = RatingFlow().after_service("booking", {"rating_asked_at": "100"})
    assert "запись на консультацию" in step.replies[0].text and step.profile == {"rating_asked_at": "100"}
    assert step.state.service == "booking" and step.state.operator == ""


@pytest.mark.parametrize(
    "event, expect",
    [
        (FlowEvent(payload="skip"), "skipped"),
        (FlowEvent(text="как открыть ип", intent="faq", score=0.9), "passthrough"),
        (FlowEvent(text="ну не знаю", intent="deny", score=0.6), "ask again"),
    ],
)
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


@pytest.mark.parametrize(
    "text, phone",
    [
        ("+7 914 123-45-67", "+79141234567"),
        ("8 (914) 123 45 67", "+79141234567"),
        ("9141234567", "+79141234567"),
        ("12345", None),
        ("+1 202 555 0100", None),
        ("позвоните мне", None),
    ],
)
def test_phone_numbers_are_normalized(text, phone):
    assert phones.e164(text) == phone


def test_a_callback_number_that_is_not_one_is_refused_with_the_reason():
    flow = CallbackFlow()
    asking = CallbackState(step="phone")
    short = flow.step(asking, FlowEvent(text="8 (914) 123-45-6"), CTX)  # not +7 891 412-34-56
    assert short.state == asking and not short.effects and "насчитал 10" in short.replies[0].text
    foreign = flow.step(asking, FlowEvent(text="мой номер +1 202 555 0100"), CTX)
    assert foreign.state == asking and "другой страны" in foreign.replies[0].text


def test_masked_phone_shows_only_the_last_digits():
    assert phones.masked("+79141234567") == "+7 *** ***-45-67"


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
    offered = flow.step(
        good.state,
        FlowEvent(outcome=SlotsFound(slots=((1795410000, "30 ноября в 9:00"),), hours="пн–пт с 9:00 до 18:00")),
        CTX,
    )
    assert [b.payload for b in offered.replies[0].buttons] == ["flow:callback:s1795410000", "flow:callback:cancel"]
    book = flow.step(offered.state, FlowEvent(payload="s1795410000"), CTX)
    assert book.effects == (BookCallback(slot=1795410000, phone="+79141234567"),)
    taken = flow.step(book.state, FlowEvent(outcome=SlotsFound(slots=(), hours="пн–пт", taken=True)), CTX)
    assert taken.state is None and "свободного времени" in taken.replies[0].text
    booked = flow.step(
        book.state,
        FlowEvent(outcome=CallbackBooked(phone="+79141234567", when="30 ноября в 9:00", zone="по камчатскому времени")),
        CTX,
    )
    assert booked.state is None and "-45-67" in booked.replies[0].text and booked.profile["phone"] == "+79141234567"
    assert "callback" in booked.profile["pd_sources"]  # kept with its purpose (withdrawal deletes it)


def test_callback_flow_without_consent_stores_nothing_and_keeps_helping():
    flow = CallbackFlow()
    start = flow.start(CTX, FlowEvent())
    refused = flow.step(start.state, FlowEvent(payload="no"), CTX)
    assert refused.state is None and not refused.effects and "продолжу помогать" in refused.replies[0].text


LEDGER_CALLBACK_CONSENT = ConsentState(
    grants={
        "personal_data:callback": Grant(
            kind=Kind.personal_data, scope="callback", granted_at=0.0, channel="api", text_id="pd_callback", version="1"
        )
    }
).model_dump_json()


def test_callback_flow_reuses_a_saved_phone_after_consent():
    ctx = FlowContext(
        conversation_id="c",
        client_id="u",
        channel="api",
        now=CTX.now,
        profile={PROFILE_FIELD: LEDGER_CALLBACK_CONSENT, "phone": "+79141234567"},
    )
    flow = CallbackFlow()
    start = flow.start(ctx, FlowEvent())
    assert "-45-67" in start.replies[0].text
    assert flow.step(start.state, FlowEvent(payload="saved"), ctx).state.phone == "+79141234567"
    assert flow.step(start.state, FlowEvent(text="отмена"), ctx).state is None


def test_callback_flow_asks_its_question_again_after_a_detour():
    flow = CallbackFlow()
    for state, words in ((CallbackState(step="phone"), "номер телефона"), (CallbackState(step="consent"), "Согласны")):
        assert words in flow.reprompt(state, CTX).replies[0].text
    again = flow.reprompt(CallbackState(step="slot", phone="+79141234567"), CTX)
    assert again.effects == (OfferSlots(),)  # the free slots are looked up again


def test_summary_for_the_operator():
    history = [
        {"from": "client", "text": "здравствуйте", "intent": "greet"},
        {"from": "bot", "kind": "info", "text": "Здравствуйте!"},
        {"from": "client", "text": "как получить грант", "intent": "faq"},
        {"from": "bot", "kind": "answer", "text": "Гранты дают по программе …\n\nИсточник: …"},
        {"from": "bot", "kind": "ask_resolved", "text": "Помог ли этот ответ?"},
        {"from": "client", "text": None, "payload": "nok:grants"},
        {"from": "bot", "kind": "options", "text": "Жаль …"},
    ]
    reason = reason_from(history, typed=False, flow=None)
    assert reason == "not_helped"
    s = summarize(history, flow="", reason=reason, flow_titles={})
    assert s.asked == ["как получить грант"]
    assert s.answered == "Гранты дают по программе …"
    assert s.reason == "ответ помощника не помог" and s.flow == "нет"
    assert reason_from(history[:2], typed=True, flow=None) == "asked"
    assert reason_from(history, typed=True, flow="payment") == "flow"
