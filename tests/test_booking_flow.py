"""The booking flow's pure steps as tables (no Redis, no Rasa): what each step
asks for (effects), and how it renders what the service reports back
(outcomes). The same flow end to end: tests/test_booking.py."""

from __future__ import annotations

from datetime import datetime

import pytest

from bot.booking import texts
from bot.booking.effects import (
    AppointmentsFound,
    AppointmentView,
    Booked,
    BookSlot,
    CancelAppointment,
    Cancelled,
    FindAppointment,
    FreeSlot,
    ListAppointments,
    MoveAppointment,
    NotBooked,
    OfferSlots,
    SlotsFound,
)
from bot.booking.flow import BookingFlow, BookingState, OfferedSlot
from bot.booking.topics import load_topics
from bot.booking.wishes import read_wish
from bot.consent.documents import load_documents
from bot.consent.gate import ConsentGate, RecordConsent
from bot.consent.model import PROFILE_FIELD, ConsentState, Grant, Kind
from bot.core import texts as core_texts
from bot.flows.base import FlowContext, FlowEvent, Step
from bot.settings import ROOT
from tests.schedule_kit import KAMCHATKA, MONDAY_MORNING

TOPICS = load_topics(ROOT / "bot" / "booking" / "topics.yaml")
FLOW = BookingFlow(TOPICS, org="центр «Мой бизнес»")
ZONE = "по камчатскому времени"
CTX = FlowContext(conversation_id="c", client_id="k", channel="api", profile={}, now=MONDAY_MORNING)
_GRANT = Grant(
    kind=Kind.personal_data,
    scope="appointments",
    granted_at=0,
    channel="api",
    text_id="pd_appointments",
    version=str(load_documents().for_purpose("appointments").version),
)
CONSENTED = FlowContext(
    conversation_id="c",
    client_id="k",
    channel="api",
    now=MONDAY_MORNING,
    profile={PROFILE_FIELD: ConsentState(grants={_GRANT.key: _GRANT}).model_dump_json()},
)

SLOT = int(datetime(2030, 3, 18, 10, 0, tzinfo=KAMCHATKA).timestamp())
LATER = SLOT + 86400
WHEN = "понедельник, 18 марта, 10:00"
MINUTES = TOPICS["taxes"].duration_minutes
OFFERED = (OfferedSlot(slot=SLOT, when=WHEN),)
GATE = ConsentGate(purpose="appointments")

WEDNESDAY = read_wish("в среду")


def state(step: str, **fields: object) -> BookingState:
    return BookingState.model_validate({"step": step, **fields})


def text_of(step: Step[BookingState]) -> str:
    return "\n".join(r.text for r in step.replies)


def payloads(step: Step[BookingState]) -> list[str]:
    return [b.payload for r in step.replies for b in r.buttons]


def test_start_asks_the_topic_or_offers_slots_or_lists_the_appointments():
    ask = FLOW.start(CTX, FlowEvent(intent="book_appointment"))
    assert ask.state == state("topic") and ask.effects == ()
    assert payloads(ask) == [f"flow:booking:t:{t.id}" for t in TOPICS.all] + ["flow:booking:x"]
    known = FLOW.start(CTX, FlowEvent(intent="book_appointment", entities={"life_situation": "taxes"}))
    assert known.state == state("slot", topic="taxes") and known.effects == (OfferSlots("taxes"),)
    listing = FLOW.start(CTX, FlowEvent(intent="cancel_appointment"))
    assert listing.state == state("listing") and listing.effects == (ListAppointments(),)


# (state, event, context) → (next state, effects, words in the replies; None: passed on to the engine)
STEPS = [
    (state("topic"), FlowEvent(payload="t:legal"), CTX, state("slot", topic="legal"), (OfferSlots("legal"),), ""),
    (
        state("topic"),
        FlowEvent(text="налоги", intent="faq", score=0.9),
        CTX,
        state("slot", topic="taxes"),
        (OfferSlots("taxes"),),
        "",
    ),
    (state("topic"), FlowEvent(text="что такое усн", intent="faq", score=0.9), CTX, state("topic"), (), None),
    (
        state("topic"),
        FlowEvent(text="ну такое", intent="deny", score=0.9),
        CTX,
        state("topic"),
        (),
        "тему консультации кнопкой",
    ),
    # a slot: the consent first (a new booking keeps the client's data), then the check
    (
        state("slot", topic="taxes", offered=OFFERED, zone=ZONE),
        FlowEvent(payload=f"s:{SLOT}"),
        CTX,
        state("confirm", topic="taxes", slot=SLOT, offered=OFFERED, zone=ZONE, gate=GATE),
        (),
        "согласие",
    ),
    (
        state("slot", topic="taxes", offered=OFFERED, zone=ZONE),
        FlowEvent(payload=f"s:{SLOT}"),
        CONSENTED,
        state("confirm", topic="taxes", slot=SLOT, offered=OFFERED, zone=ZONE),
        (),
        f"{WHEN} ({ZONE}), {MINUTES} мин",
    ),
    (
        state("confirm", topic="taxes", slot=SLOT, offered=OFFERED, zone=ZONE, gate=GATE),
        FlowEvent(payload="x"),
        CTX,
        state("confirm", topic="taxes", slot=SLOT, offered=OFFERED, zone=ZONE, gate=GATE),
        (),
        "согласны ли вы",
    ),
    (
        state("confirm", topic="taxes", slot=SLOT, offered=OFFERED, zone=ZONE),
        FlowEvent(payload="ok"),
        CTX,
        state("saving", topic="taxes", slot=SLOT, offered=OFFERED, zone=ZONE),
        (BookSlot("taxes", SLOT),),
        "",
    ),
    (
        state("confirm", topic="taxes", slot=SLOT, offered=OFFERED, zone=ZONE),
        FlowEvent(text="да", intent="affirm", score=0.9),
        CTX,
        state("saving", topic="taxes", slot=SLOT, offered=OFFERED, zone=ZONE),
        (BookSlot("taxes", SLOT),),
        "",
    ),
    (
        state("confirm", topic="taxes", slot=SLOT, offered=OFFERED, zone=ZONE),
        FlowEvent(text="нет", intent="deny", score=0.9),
        CTX,
        state("slot", topic="taxes", offered=OFFERED),
        (OfferSlots("taxes"),),
        "",
    ),
    (
        state("confirm", topic="taxes", slot=SLOT, offered=OFFERED, zone=ZONE),
        FlowEvent(text="хм", intent="greet", score=0.9),
        CTX,
        state("confirm", topic="taxes", slot=SLOT, offered=OFFERED, zone=ZONE),
        (),
        "кнопкой «Записаться»",
    ),
    (
        state("slot", topic="taxes", offered=OFFERED, zone=ZONE),
        FlowEvent(payload=f"more:{SLOT}"),
        CTX,
        state("slot", topic="taxes", offered=OFFERED, zone=ZONE),
        (OfferSlots("taxes", after=SLOT),),
        "",
    ),
    # a slot button of an offer this booking never made (an older message): the free slots again
    (
        state("slot", topic="taxes", offered=OFFERED, zone=ZONE),
        FlowEvent(payload=f"s:{LATER}"),
        CTX,
        state("slot", topic="taxes", offered=OFFERED, zone=ZONE),
        (OfferSlots("taxes"),),
        "кнопками со стрелками",
    ),
    # the client's words name a day: that day's free times of the same topic
    (
        state("slot", topic="taxes"),
        FlowEvent(text="в среду", intent="greet", score=0.3),
        CTX,
        state("slot", topic="taxes", wish=WEDNESDAY),
        (OfferSlots("taxes", wish=WEDNESDAY),),
        "",
    ),
    (
        state("slot", topic="taxes"),
        FlowEvent(text="не знаю", intent="greet", score=0.3),
        CTX,
        state("slot", topic="taxes"),
        (OfferSlots("taxes"),),
        "время кнопкой",
    ),
    (
        state("slot", topic="taxes"),
        FlowEvent(text="что такое усн", intent="faq", score=0.9),
        CTX,
        state("slot", topic="taxes"),
        (),
        None,
    ),
    (
        state("slot", topic="taxes"),
        FlowEvent(payload="s:²"),
        CTX,
        state("slot", topic="taxes"),
        (),
        core_texts.UNKNOWN_BUTTON,
    ),
    # moving: no consent question (no new data), its own words
    (
        state("slot", topic="taxes", move="a1", offered=OFFERED, zone=ZONE),
        FlowEvent(payload=f"s:{SLOT}"),
        CTX,
        state("confirm", topic="taxes", slot=SLOT, move="a1", offered=OFFERED, zone=ZONE),
        (),
        "Перенести вашу консультацию",
    ),
    (
        state("confirm", topic="taxes", slot=SLOT, move="a1", offered=OFFERED, zone=ZONE),
        FlowEvent(payload="ok"),
        CTX,
        state("saving", topic="taxes", slot=SLOT, move="a1", offered=OFFERED, zone=ZONE),
        (MoveAppointment("a1", "taxes", SLOT),),
        "",
    ),
    # «отменить запись» mid-booking: start over with the list
    (
        state("slot", topic="taxes"),
        FlowEvent(text="отмените запись", intent="cancel_appointment", score=0.9),
        CTX,
        state("listing"),
        (ListAppointments(),),
        "",
    ),
]


@pytest.mark.parametrize("before, event, ctx, after, effects, words", STEPS)
def test_steps(before, event, ctx, after, effects, words):
    step = FLOW.step(before, event, ctx)
    assert step.state == after
    assert step.effects == effects
    if words is None:
        assert step.passthrough and not step.replies
    elif words:
        assert words in text_of(step)


def test_the_consent_answer_goes_to_the_ledger_then_the_check_or_the_end():
    asking = state("confirm", topic="taxes", slot=SLOT, offered=OFFERED, zone=ZONE, gate=GATE)
    yes = FLOW.step(asking, FlowEvent(payload="pd_yes"), CTX)
    assert yes.state == asking.model_copy(update={"gate": None}) and "Записать вас?" in text_of(yes)
    [granted] = yes.effects
    assert isinstance(granted, RecordConsent) and granted.records[0]["action"] == "grant"
    no = FLOW.step(asking, FlowEvent(payload="pd_no"), CTX)
    assert no.state is None and "Вы по-прежнему можете" in text_of(no)
    [declined] = no.effects
    assert isinstance(declined, RecordConsent) and declined.records[0]["action"] == "decline"


FOUND = SlotsFound(
    slots=(
        FreeSlot(SLOT, WHEN, "пн 18 марта, 10:00"),
        FreeSlot(LATER, "вторник, 19 марта, 10:00", "вт 19 марта, 10:00"),
    ),
    zone=ZONE,
    horizon_days=21,
    day="понедельник, 18 марта",
    next_day="2030-03-20",
    next_title="ср 20 марта",
)


def test_free_slots_are_offered_as_buttons_and_remembered_with_their_times():
    offered = FLOW.step(state("slot", topic="taxes"), FlowEvent(outcome=FOUND), CTX)
    assert offered.state == state(
        "slot",
        topic="taxes",
        zone=ZONE,
        offered=(OfferedSlot(slot=SLOT, when=WHEN), OfferedSlot(slot=LATER, when="вторник, 19 марта, 10:00")),
    )
    assert f"Консультация «Налоги и отчётность» длится {MINUTES} мин" in text_of(offered) and ZONE in text_of(offered)
    assert [b.title for b in offered.replies[0].buttons] == [
        "пн 18 марта, 10:00",
        "вт 19 марта, 10:00",
        "ср 20 марта →",
        "Другая тема",
        "Отмена",
    ]
    assert payloads(offered)[:3] == [f"flow:booking:s:{SLOT}", f"flow:booking:s:{LATER}", "flow:booking:d:2030-03-20"]
    # another day: its free times, the time of day asked for still applies (not the day)
    paged = FLOW.step(
        offered.state.model_copy(update={"wish": read_wish("в четверг после обеда")}),
        FlowEvent(payload="d:2030-03-20"),
        CTX,
    )
    [after_lunch] = [e.wish for e in paged.effects]
    assert after_lunch == read_wish("после обеда") and paged.effects[0].day == "2030-03-20"
    # the chosen one is confirmed with the time as the service said it
    confirm = FLOW.step(offered.state, FlowEvent(payload=f"s:{LATER}"), CONSENTED)
    assert "вторник, 19 марта, 10:00 (по камчатскому времени)" in text_of(confirm)
    # moving: no other topic; later dates: their own lead
    moving = FLOW.step(state("slot", topic="taxes", move="a1"), FlowEvent(outcome=FOUND), CTX)
    assert "Другая тема" not in [b.title for b in moving.replies[0].buttons]
    later = FLOW.step(
        state("slot", topic="taxes"),
        FlowEvent(outcome=SlotsFound(FOUND.slots, ZONE, 21, later=True, day="среда, 20 марта")),
        CTX,
    )
    assert text_of(later) == texts.PICK_SLOT_LATER.format(day="среда, 20 марта", zone=ZONE)


@pytest.mark.parametrize(
    "retry, lead", [("taken", texts.SLOT_TAKEN), ("gone", texts.SLOT_GONE), ("same", texts.SAME_SLOT)]
)
def test_a_slot_that_cannot_be_had_offers_the_free_ones_again(retry, lead):
    saving = state("saving", topic="taxes", slot=SLOT, move="a1", offered=OFFERED, zone=ZONE)
    again = FLOW.step(saving, FlowEvent(outcome=SlotsFound(FOUND.slots[1:], ZONE, 21, retry=retry)), CTX)
    assert again.state is not None and again.state.step == "slot" and again.state.slot is None
    assert again.state.move == "a1" and text_of(again) == lead
    assert payloads(again)[0] == f"flow:booking:s:{LATER}"


def test_no_free_slots_ends_the_booking_and_no_later_ones_keeps_it():
    none = FLOW.step(state("slot", topic="taxes"), FlowEvent(outcome=SlotsFound((), ZONE, 21)), CTX)
    assert none.state is None and "ближайшие 21 дн. по теме «Налоги и отчётность»" in text_of(none)
    assert payloads(none) == ["flow:booking:book"]
    moving = FLOW.step(state("slot", topic="taxes", move="a1"), FlowEvent(outcome=SlotsFound((), ZONE, 21)), CTX)
    assert moving.state is None and payloads(moving) == []
    kept = state("slot", topic="taxes", offered=OFFERED, zone=ZONE)
    no_later = FLOW.step(kept, FlowEvent(outcome=SlotsFound((), ZONE, 21, later=True)), CTX)
    assert no_later.state == kept and "Дальше свободного времени" in text_of(no_later)
    gone = FLOW.step(state("slot", topic="retired"), FlowEvent(outcome=SlotsFound((), ZONE, 21)), CTX)
    assert gone.state is None and "по теме «—»" in text_of(gone) and payloads(gone) == []


@pytest.mark.parametrize("move, words, reminder", [("", "вы записаны", True), ("a1", "запись перенесена", False)])
def test_booked_and_moved_say_the_time_and_offer_to_manage_it(move, words, reminder):
    saving = state("saving", topic="taxes", slot=SLOT, move=move, offered=OFFERED, zone=ZONE)
    done = FLOW.step(saving, FlowEvent(outcome=Booked("a1", WHEN, ZONE, reminder=reminder)), CTX)
    assert done.state is None and words in text_of(done) and f"{WHEN} ({ZONE}), {MINUTES} мин" in text_of(done)
    assert (texts.REMINDER_PROMISE in text_of(done)) is reminder
    assert payloads(done) == ["flow:booking:m:a1:taxes", "flow:booking:c:a1"]


def appointment(n: int, topic: str = "taxes") -> AppointmentView:
    return AppointmentView(id=f"a{n}", topic=topic, when=f"среда, {n} апреля, 10:00", when_short=f"ср {n} апр, 10:00")


def test_the_clients_appointments_none_one_or_many():
    none = FLOW.step(state("listing"), FlowEvent(outcome=AppointmentsFound((), ZONE)), CTX)
    assert none.state is None and "нет предстоящих записей" in text_of(none)
    assert payloads(none) == ["flow:booking:book"]
    one = FLOW.step(state("listing"), FlowEvent(outcome=AppointmentsFound((appointment(1),), ZONE)), CTX)
    assert one.state is None and "Ваша запись:\n• Налоги и отчётность — среда, 1 апреля, 10:00" in text_of(one)
    assert payloads(one) == ["flow:booking:m:a1:taxes", "flow:booking:c:a1"]
    many = FLOW.step(
        state("listing"),
        FlowEvent(
            outcome=AppointmentsFound(
                tuple(appointment(n, "retired" if n == 2 else "taxes") for n in range(1, 11)), ZONE
            )
        ),
        CTX,
    )
    assert many.state is None and text_of(many).count("\n• ") == 8  # the nearest eight
    assert "• retired — среда, 2 апреля, 10:00" in text_of(many)  # a topic no longer offered: its id
    assert next(b.title for b in many.replies[0].buttons) == "Налоги и отчётность: ср 1 апр, 10:00"
    assert payloads(many) == [f"flow:booking:a:a{n}" for n in range(1, 9)]


def test_showing_asking_and_cancelling_one_appointment():
    found = FlowEvent(outcome=AppointmentsFound((appointment(1),), ZONE))
    shown = FLOW.step(state("showing", appointment="a1"), found, CTX)
    assert "Что с ней сделать?" in text_of(shown) and payloads(shown)[-1] == "flow:booking:c:a1"
    asked = FLOW.step(state("asking_cancel", appointment="a1"), found, CTX)
    # the question stands, so a typed «да» / «нет» answers it (the engine reads «да, отменяйте» as affirm)
    assert asked.state == state("asking_cancel", appointment="a1")
    assert "Отменить запись «Налоги и отчётность» на среда, 1 апреля" in text_of(asked)
    assert payloads(asked) == ["flow:booking:cy:a1", "flow:booking:keep"]
    yes = FLOW.step(asked.state, FlowEvent(text="да", intent="affirm", score=1.0), CTX)
    assert yes.state == state("cancelling", appointment="a1") and yes.effects == (CancelAppointment("a1"),)
    no = FLOW.step(asked.state, FlowEvent(text="нет", intent="deny", score=1.0), CTX)
    assert no.state is None and text_of(no) == texts.KEEP and not no.effects
    kept = FLOW.step(asked.state, FlowEvent(payload="keep"), CTX)
    assert kept.state is None and text_of(kept) == texts.KEEP and not kept.effects
    other = FLOW.step(asked.state, FlowEvent(text="как открыть ип", intent="faq", score=0.9), CTX)
    assert other.state is None and other.passthrough  # another request: the question is dropped
    cancelled = FLOW.step(state("cancelling", appointment="a1"), FlowEvent(outcome=Cancelled("taxes", WHEN)), CTX)
    assert cancelled.state is None and "отменена, напоминания не будет" in text_of(cancelled)
    gone = FLOW.step(state("cancelling", appointment="a1"), FlowEvent(outcome=NotBooked()), CTX)
    assert text_of(gone) == texts.NOT_BOOKED and payloads(gone) == []
    move_gone = FLOW.step(state("saving", topic="taxes", move="a1"), FlowEvent(outcome=NotBooked(book_again=True)), CTX)
    assert move_gone.state is None and payloads(move_gone) == ["flow:booking:book"]


# Buttons under earlier messages carry all they need: they work in any state.
PRESSES = [
    ("m:a1:taxes", state("slot", topic="taxes", move="a1"), (OfferSlots("taxes"),)),
    ("c:a1", state("asking_cancel", appointment="a1"), (FindAppointment("a1"),)),
    ("cy:a1", state("cancelling", appointment="a1"), (CancelAppointment("a1"),)),
    ("a:a1", state("showing", appointment="a1"), (FindAppointment("a1"),)),
    ("list", state("listing"), (ListAppointments(),)),
    ("book", state("topic"), ()),
    ("t:legal", state("slot", topic="legal"), (OfferSlots("legal"),)),
    ("m:a1:retired", None, ()),
    ("ok", None, ()),
]


@pytest.mark.parametrize("value, after, effects", PRESSES)
def test_buttons_that_work_in_any_state(value, after, effects):
    step = FLOW.press(value, CTX)
    assert step.state == after and step.effects == effects
    if after is None:
        assert text_of(step) == core_texts.UNKNOWN_BUTTON


def test_leaving_and_keeping():
    assert text_of(FLOW.cancel(state("slot", topic="taxes"), CTX)) == texts.CANCELLED_FLOW
    assert text_of(FLOW.cancel(state("slot", topic="taxes", move="a1"), CTX)) == texts.KEEP
    assert text_of(FLOW.press("x", CTX)) == texts.CANCELLED_FLOW
    kept = FLOW.press("keep", CTX)  # «Оставить как есть» under the cancel question
    assert kept.state is None and text_of(kept) == texts.KEEP
    # pressed mid-booking: the booking goes on with its question
    mid = FLOW.step(state("topic"), FlowEvent(payload="keep"), CTX)
    assert mid.state == state("topic") and text_of(mid).startswith(texts.KEEP) and len(mid.replies) == 2


REPROMPTS = [  # back after a detour: (state, context) → (state, effects, words)
    (state("topic"), CTX, state("topic"), (), "тему консультации"),
    (
        state("slot", topic="taxes", offered=OFFERED, zone=ZONE),
        CTX,
        state("slot", topic="taxes", offered=OFFERED),
        (OfferSlots("taxes"),),
        "",
    ),
    (
        state("confirm", topic="taxes", slot=SLOT, offered=OFFERED, zone=ZONE),
        CTX,
        state("confirm", topic="taxes", slot=SLOT, offered=OFFERED, zone=ZONE),
        (),
        "Записать вас?",
    ),
    (
        state("saving", topic="taxes", slot=SLOT, offered=OFFERED, zone=ZONE),
        CTX,
        state("confirm", topic="taxes", slot=SLOT, offered=OFFERED, zone=ZONE),
        (),
        "Записать вас?",
    ),
    (
        state("confirm", topic="taxes", slot=SLOT, offered=OFFERED, zone=ZONE, gate=GATE),
        CTX,
        state("confirm", topic="taxes", slot=SLOT, offered=OFFERED, zone=ZONE, gate=GATE),
        (),
        "согласие",
    ),
    # consent given during the detour: straight to the check
    (
        state("confirm", topic="taxes", slot=SLOT, offered=OFFERED, zone=ZONE, gate=GATE),
        CONSENTED,
        state("confirm", topic="taxes", slot=SLOT, offered=OFFERED, zone=ZONE),
        (),
        "Записать вас?",
    ),
    # saved before times were kept in the state: offered again
    (
        state("confirm", topic="taxes", slot=SLOT),
        CTX,
        state("slot", topic="taxes"),
        (OfferSlots("taxes"),),
        "время кнопкой",
    ),
    (state("listing"), CTX, state("listing"), (ListAppointments(),), ""),
    (state("showing", appointment="a1"), CTX, state("showing", appointment="a1"), (FindAppointment("a1"),), ""),
    (
        state("cancelling", appointment="a1"),
        CTX,
        state("asking_cancel", appointment="a1"),
        (FindAppointment("a1"),),
        "",
    ),
]


@pytest.mark.parametrize("before, ctx, after, effects, words", REPROMPTS)
def test_reprompt_asks_the_current_question_again(before, ctx, after, effects, words):
    step = FLOW.reprompt(before, ctx)
    assert step.state == after and step.effects == effects
    assert words in text_of(step)
    assert step.replies or step.effects  # never silent


def test_a_state_saved_by_the_old_flow_is_read_or_refused():
    assert BookingState.model_validate({"step": "slot", "topic": "taxes", "move": "a1"}) == state(
        "slot", topic="taxes", move="a1"
    )
    with pytest.raises(ValueError):  # the old consent marker: the engine drops it politely
        BookingState.model_validate({"step": "confirm", "topic": "taxes", "slot": SLOT, "_pd": "appointments"})
