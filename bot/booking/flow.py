"""Booking, moving and cancelling a consultation (R-11) as one pure flow.

topic → slot (one day's free times, ← / → to other days, or typed «в четверг после
обеда», bot/booking/wishes.py) → personal-data consent (once)
→ confirm → booked. Managing: the client's upcoming appointments → move
(a new slot, the old one freed atomically) or cancel.

Steps never touch Redis: anything that reads or changes places is an effect
(effects.py) whose handler (handlers.py) reports an outcome back; the flow
renders every reply (replies.py) from its state and those outcomes. Button values
(`flow:booking:<value>`):
  t:<topic>  topics          choose a topic / show the topics again
  s:<epoch>  d:<iso date>     choose a slot / another day's free times (more:<epoch>: the day
                             after that slot's, from older messages)
  pd_yes  pd_no              the personal-data consent question
  ok  again  x               confirm / other time / leave
  book  list                 start booking / the client's appointments
  a:<id>  m:<id>:<topic>  c:<id>  cy:<id>  keep   show / move / ask to cancel / cancel / keep it
The last row works in any conversation state (the module runs them aside of
another flow), so the «Перенести» / «Отменить» buttons under a booking keep
working later.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict

from bot.consent.gate import ConsentGate, RecordConsent, consent_gate
from bot.core.answers import asks_something
from bot.core.numbers import parse_epoch
from bot.flows.base import Effect, FlowContext, FlowEvent, FlowState, Outcome, Step

from . import texts
from .effects import (
    EFFECTS,
    AppointmentsFound,
    Booked,
    BookSlot,
    CancelAppointment,
    Cancelled,
    FindAppointment,
    ListAppointments,
    MoveAppointment,
    NotBooked,
    OfferSlots,
    SlotsFound,
)
from .replies import NAME as NAME  # the flow's name, in its buttons
from .replies import Replies, info, slot_by_buttons, unknown_button
from .topics import Topic, Topics
from .wishes import Wish, read_wish, typed_wish

PURPOSE = "appointments"  # the personal-data consent text `pd_appointments`
START_INTENTS = ("book_appointment", "cancel_appointment")
MIN_SCORE = 0.5
# «другой день», «а попозже?», «ещё варианты»: at the times, a wish for other ones (offered again).
OTHER_TIMES = re.compile(r"\b(?:друг\w*|ещ[её]|позже|попозже|пораньше|раньше|следующ\w*|другие)\b")
OFFERED_MAX = 60  # slots remembered with their times (the client may press an earlier offer's button)

Position = Literal[
    "topic",
    "slot",
    "confirm",
    "saving",
    # waiting for the service within one turn (an outcome ends the flow)
    "listing",
    "showing",
    "asking_cancel",
    "cancelling",
]


class OfferedSlot(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    slot: int
    when: str  # as the handler said it, in the schedule's zone


class BookingState(FlowState):
    step: Position
    topic: str = ""
    move: str = ""  # the appointment being moved; "" for a new booking
    slot: int | None = None  # the chosen start
    offered: tuple[OfferedSlot, ...] = ()
    zone: str = ""  # the time zone of the offered times, in words
    appointment: str = ""  # the appointment being shown or cancelled
    gate: ConsentGate | None = None  # the personal-data consent question stands
    wish: Wish | None = None  # when the client would like to come, in their words


def _lookup(step: Position, effect: Effect, appointment: str = "") -> Step[BookingState]:
    return Step(state=BookingState(step=step, appointment=appointment), effects=(effect,))


class BookingFlow:
    name: str = NAME
    what = texts.FLOW_WHAT  # «Продолжим запись или …?»
    start_intents: tuple[str, ...] = START_INTENTS
    State: ClassVar[type[FlowState]] = BookingState
    effects: ClassVar[tuple[type[Effect], ...]] = (*EFFECTS, RecordConsent)

    def __init__(self, topics: Topics, *, org: str):
        self.topics = topics
        self.org = org  # named in the personal-data consent text
        self.say = Replies(topics)

    # ------------------------------------------------------------- protocol
    def start(self, ctx: FlowContext, event: FlowEvent) -> Step[BookingState]:
        if event.intent == "cancel_appointment":
            return _lookup("listing", ListAppointments())
        wish = read_wish(event.text)
        topic = self._topic_from(event)
        if topic is not None:
            return self._offer(topic, wish=wish)
        return self._ask_topic(wish)

    def step(self, state: BookingState, event: FlowEvent, ctx: FlowContext) -> Step[BookingState]:
        if event.outcome is not None:
            return self._outcome(state, event.outcome)
        if state.gate is not None:
            gate = consent_gate(NAME, PURPOSE, state.gate, event, ctx, org=self.org)
            if not gate.passed:
                return gate.step_for(state)
            return self._confirm(state.model_copy(update={"gate": None})).after(*gate.effects)
        if event.payload is not None:
            return self._press(state, event.payload, ctx)
        wish = typed_wish(event.text)
        if wish is not None and state.step in ("slot", "confirm") and event.intent != "cancel_appointment":
            # «а в четверг после обеда?»: that day and time of the same topic
            return self._offer(self.topics[state.topic], move=state.move, offered=state.offered, wish=wish)
        if event.intent in START_INTENTS and event.score >= MIN_SCORE and state.step != "topic":
            return self.start(ctx, event)  # «запишите по налогам» / «отменить запись» mid-flow: start over
        if state.step == "topic":
            topic = self._topic_from(event)
            if topic is not None:
                return self._offer(topic, wish=wish or state.wish)
            if wish is not None:  # the time first, the topic next
                return Step(
                    state=state.model_copy(update={"wish": wish}),
                    replies=(self.say.topics_question(texts.TOPIC_AFTER_WISH.format(wish=wish.said)),),
                )
            if event.intent == "book_appointment":
                return self._ask_topic(state.wish)
            if event.intent == "faq":
                return Step(state=state, passthrough=True)  # a question mid-flow: answer it, keep the step
            return Step(state=state, replies=(self.say.topics_question(texts.TOPIC_BY_BUTTONS),))
        if state.step == "slot":
            if event.intent == "faq":
                return Step(state=state, passthrough=True)
            return self._offer_again(state)
        if state.step == "confirm":
            if event.intent in ("affirm", "thank") and event.score >= MIN_SCORE:
                return self._commit(state)
            if event.intent == "deny" and event.score >= MIN_SCORE:
                return self._offer(self.topics[state.topic], move=state.move, offered=state.offered)
            if event.intent == "faq":
                return Step(state=state, passthrough=True)
            return Step(state=state, replies=(self.say.confirm_by_buttons(moving=bool(state.move)),))
        if state.step == "asking_cancel" and state.appointment:
            if event.intent == "affirm" and event.score >= MIN_SCORE:
                return _lookup("cancelling", CancelAppointment(state.appointment), state.appointment)
            if event.intent == "deny" and event.score >= MIN_SCORE:
                return Step(state=None, replies=(info(texts.KEEP),))
            return Step(state=None, passthrough=True)  # something else: a request of its own
        return Step(state=None, replies=(unknown_button(),))

    def cancel(self, state: BookingState | None, ctx: FlowContext) -> Step[BookingState]:
        """«отмена» mid-flow: nothing is booked or changed."""
        return Step(state=None, replies=(info(texts.KEEP if state and state.move else texts.CANCELLED_FLOW),))

    def fits(self, state: BookingState, text: str, ctx: FlowContext) -> bool | None:
        """Is `text` an answer to the booking's question (the engine's interruption policy)?
        A day or a time («в четверг после обеда», «14:30») or «другой день» at the times, a
        topic's name at the topics: yes; a question («а сколько стоит госпошлина?») or
        anything else at the times: no — it is served, then the times offered again. None
        where a «да» / «нет» or the NLU's reading decides (consent, confirm, cancelling)."""
        if state.gate is not None or state.step not in ("topic", "slot", "confirm"):
            return None
        if typed_wish(text) is not None:
            return True
        if asks_something(text):
            return False
        if state.step == "topic":
            return True if self._topic_named(text) else None
        if state.step == "slot":
            return bool(OTHER_TIMES.search(text.lower()))
        return None

    def reprompt(self, state: BookingState, ctx: FlowContext) -> Step[BookingState]:
        """Back after a detour: the question of the current step again."""
        if state.gate is not None:
            gate = consent_gate(NAME, PURPOSE, None, FlowEvent(), ctx, org=self.org)
            if not gate.passed:  # still no consent: the question again
                return gate.step_for(state)
            return self._confirm(state.model_copy(update={"gate": None}))  # given meanwhile
        if state.step == "topic":
            return Step(state=state, replies=(self.say.topics_question(texts.TOPIC_BY_BUTTONS),))
        if state.step == "slot":
            return self._offer(self.topics[state.topic], move=state.move, offered=state.offered, wish=state.wish)
        if state.step in ("confirm", "saving"):
            return self._confirm(state)
        if state.step == "listing":
            return _lookup("listing", ListAppointments())
        if state.step == "showing":
            return _lookup("showing", FindAppointment(state.appointment), state.appointment)
        return _lookup("asking_cancel", FindAppointment(state.appointment), state.appointment)  # never cancel unasked

    def press(self, value: str, ctx: FlowContext) -> Step[BookingState]:
        """A button that carries all it needs: works whatever the conversation's state."""
        return self._press(None, value, ctx)

    # -------------------------------------------------------------- buttons
    def _press(self, state: BookingState | None, value: str, ctx: FlowContext) -> Step[BookingState]:
        action, _, arg = value.partition(":")
        if action == "book" and not arg:
            return self._ask_topic()
        if action == "topics" and not (state and state.move):
            return self._ask_topic()
        if action == "t" and arg in self.topics:
            return self._offer(self.topics[arg], wish=state.wish if state else None)
        if action == "list":
            return _lookup("listing", ListAppointments())
        if action == "a" and arg:
            return _lookup("showing", FindAppointment(arg), arg)
        if action == "m" and arg:
            appointment, _, topic_id = arg.partition(":")
            if topic_id in self.topics:
                return self._offer(self.topics[topic_id], move=appointment)
        if action == "c" and arg:
            return _lookup("asking_cancel", FindAppointment(arg), arg)
        if action == "cy" and arg:
            return _lookup("cancelling", CancelAppointment(arg), arg)
        if action == "keep":  # «Оставить как есть» under the cancel question
            kept = info(texts.KEEP)
            if state is None or state.step == "asking_cancel":
                return Step(state=None, replies=(kept,))
            again = self.reprompt(state, ctx)  # pressed mid-booking: go on with it
            return replace(again, replies=(kept, *again.replies))
        if action == "x":
            return self.cancel(state, ctx)
        if state is not None and state.step in ("slot", "confirm") and state.topic in self.topics:
            epoch = parse_epoch(arg)  # a slot's start; None for anything that cannot be one
            if action == "more" and epoch is not None:
                return Step(
                    state=state.model_copy(update={"step": "slot", "slot": None}),
                    effects=(OfferSlots(state.topic, after=epoch),),
                )
            if action == "d" and arg:  # another day: the time of day asked for still applies
                hours = state.wish.hours_only() if state.wish else None
                return Step(
                    state=state.model_copy(update={"step": "slot", "slot": None, "wish": hours}),
                    effects=(OfferSlots(state.topic, day=arg, wish=hours),),
                )
            if action == "again":
                return self._offer(self.topics[state.topic], move=state.move, offered=state.offered, wish=state.wish)
            if action == "s" and epoch is not None:
                return self._chose_slot(state, epoch, ctx)
            if action == "ok" and state.step == "confirm":
                return self._commit(state)
        return Step(state=state, replies=(unknown_button(),))

    # ---------------------------------------------------------------- steps
    def _topic_from(self, event: FlowEvent) -> Topic | None:
        topic = self.topics.for_situation(event.entities.get("life_situation"))
        if topic is None and event.text:
            topic = self._topic_named(event.text)
        return topic

    def _topic_named(self, text: str) -> Topic | None:
        """A topic typed as (a part of) its title: «налоги», «меры поддержки»."""
        words = text.strip().strip(".!").lower()
        return next((t for t in self.topics.all if words and words in t.title.lower()), None)

    def _ask_topic(self, wish: Wish | None = None) -> Step[BookingState]:
        text = texts.TOPIC_AFTER_WISH.format(wish=wish.said) if wish else texts.ASK_TOPIC
        return Step(state=BookingState(step="topic", wish=wish), replies=(self.say.topics_question(text),))

    def _offer(
        self, topic: Topic, *, move: str = "", offered: tuple[OfferedSlot, ...] = (), wish: Wish | None = None
    ) -> Step[BookingState]:
        return Step(
            state=BookingState(step="slot", topic=topic.id, move=move, offered=offered, wish=wish),
            effects=(OfferSlots(topic.id, wish=wish),),
        )

    def _offer_again(self, state: BookingState) -> Step[BookingState]:
        """Typed text, or a slot button of an offer not made in this booking: the free slots again."""
        return Step(
            state=state.model_copy(update={"step": "slot", "slot": None}),
            replies=(slot_by_buttons(),),
            effects=(OfferSlots(state.topic, wish=state.wish),),
        )

    def _chose_slot(self, state: BookingState, epoch: int, ctx: FlowContext) -> Step[BookingState]:
        if _when(state, epoch) is None:
            return self._offer_again(state)
        chosen = state.model_copy(update={"step": "confirm", "slot": epoch})
        if not chosen.move:  # a new booking keeps the client's data: consent first (a move adds none)
            gate = consent_gate(NAME, PURPOSE, None, FlowEvent(), ctx, org=self.org)
            if not gate.passed:
                return gate.step_for(chosen)
        return self._confirm(chosen)

    def _confirm(self, state: BookingState) -> Step[BookingState]:
        when = _when(state, state.slot)
        if when is None:  # e.g. a state saved before the times were kept in it
            return self._offer_again(state)
        return Step(
            state=state.model_copy(update={"step": "confirm"}),
            replies=(self.say.confirm(self.topics[state.topic], when, state.zone, moving=bool(state.move)),),
        )

    def _commit(self, state: BookingState) -> Step[BookingState]:
        saving = state.model_copy(update={"step": "saving"})
        slot = state.slot or 0
        if state.move:
            return Step(state=saving, effects=(MoveAppointment(state.move, state.topic, slot),))
        return Step(state=saving, effects=(BookSlot(state.topic, slot),))

    # ------------------------------------------------------------- outcomes
    def _outcome(self, state: BookingState, outcome: Outcome) -> Step[BookingState]:
        if isinstance(outcome, SlotsFound):
            return self._slots(state, outcome)
        if isinstance(outcome, Booked):
            return Step(
                state=None, replies=(self.say.booked(self.topics[state.topic], outcome, moved=bool(state.move)),)
            )
        if isinstance(outcome, AppointmentsFound):
            if not outcome.appointments:  # nothing upcoming (the list)
                return Step(state=None, replies=(self.say.appointments(outcome),))
            if state.step == "asking_cancel":  # the question stands: a typed «да» / «нет» answers it
                return Step(state=state, replies=(self.say.ask_cancel(outcome.appointments[0], outcome.zone),))
            if state.step == "showing":
                return Step(state=None, replies=(self.say.appointment(outcome.appointments[0], outcome.zone),))
            return Step(state=None, replies=(self.say.appointments(outcome),))
        if isinstance(outcome, Cancelled):
            return Step(state=None, replies=(self.say.cancelled(outcome),))
        if isinstance(outcome, NotBooked):
            return Step(state=None, replies=(self.say.not_booked(outcome),))
        raise TypeError(f"the booking flow has no step for {type(outcome).__name__}")

    def _slots(self, state: BookingState, found: SlotsFound) -> Step[BookingState]:
        topic = self.topics.by_id.get(state.topic)
        moving = bool(state.move)
        if topic is None or not found.slots:
            if topic is not None and found.later:  # nothing later: the earlier offer stands
                return Step(state=state, replies=(self.say.no_later_slots(topic),))
            return Step(state=None, replies=(self.say.no_slots(topic, found, moving=moving),))
        known = {o.slot: o for o in state.offered}
        known.update((s.slot, OfferedSlot(slot=s.slot, when=s.when)) for s in found.slots)
        offered = tuple(known.values())[-OFFERED_MAX:]
        return Step(
            state=state.model_copy(update={"step": "slot", "slot": None, "offered": offered, "zone": found.zone}),
            replies=(self.say.slots(topic, found, moving=moving),),
        )


def _when(state: BookingState, slot: int | None) -> str | None:
    """The chosen slot in words, as it was offered."""
    return next((o.when for o in state.offered if o.slot == slot), None)
