"""Booking, moving and cancelling a consultation (R-11) as one pure flow.

topic → slot (3 nearest free + «Другие даты») → personal-data consent (once)
→ confirm → booked. Managing: the client's upcoming appointments → move
(a new slot, the old one freed atomically) or cancel.

Steps never touch Redis: anything that reads or changes places is an effect
(`booking.*`, bot/booking/service.py). Button values (`flow:booking:<value>`):
  t:<topic>  topics          choose a topic / show the topics again
  s:<epoch>  more:<epoch>    choose a slot / later dates (after that slot's day)
  pd_yes  pd_no              the personal-data consent question
  ok  again  x               confirm / other time / leave
  book  list                 start booking / the client's appointments
  a:<id>  m:<id>:<topic>  c:<id>  cy:<id>   show / move / ask to cancel / cancel
The last row works in any conversation state (the module routes them), so the
«Перенести» / «Отменить» buttons under a booking keep working later.
"""

from __future__ import annotations

from datetime import tzinfo
from typing import Any

from bot.consent.flows import GATE_KEY, ensure_personal_data_consent
from bot.core import texts as core_texts
from bot.core.messages import Reply, ReplyKind
from bot.core.numbers import parse_epoch
from bot.flows.base import FlowContext, FlowEvent, button, reply
from bot.flows.base import LegacyEffect as Effect
from bot.flows.base import LegacyStep as Step

from . import texts
from .topics import Topic, Topics

NAME = "booking"
PURPOSE = "appointments"  # the personal-data consent text `pd_appointments`
START_INTENTS = ("book_appointment", "cancel_appointment")
MIN_SCORE = 0.5

OFFER = "booking.offer_slots"
BOOK = "booking.book"
MOVE = "booking.move"
LIST = "booking.list"
SHOW = "booking.show"
ASK_CANCEL = "booking.ask_cancel"
CANCEL = "booking.cancel"


def _info(text: str, *buttons) -> Reply:
    return reply(text, *buttons, kind=ReplyKind.info)


class BookingFlow:
    name = NAME
    start_intents = START_INTENTS

    def __init__(self, topics: Topics, tz: tzinfo, zone_title: str):
        self.topics = topics
        self.tz = tz
        self.zone_title = zone_title

    # ------------------------------------------------------------- protocol
    def start(self, ctx: FlowContext, event: FlowEvent) -> Step:
        if event.intent == "cancel_appointment":
            return Step(state=None, effects=[Effect(LIST)])
        topic = self._topic_from(event)
        if topic is not None:
            return self._offer({}, topic)
        return self._ask_topic()

    def step(self, state: dict[str, Any], event: FlowEvent, ctx: FlowContext) -> Step:
        if GATE_KEY in state:
            gate = ensure_personal_data_consent(NAME, PURPOSE, state, event, ctx)
            if not gate.passed:
                return gate.step
            confirm = self._confirm(gate.state)
            confirm.effects[:0] = gate.effects
            return confirm
        if event.payload is not None:
            return self._press(state, event, ctx)
        current = state.get("step")
        if event.intent in START_INTENTS and event.score >= MIN_SCORE and current != "topic":
            return self.start(ctx, event)  # «запишите по налогам» / «отменить запись» mid-flow: start over
        if current == "topic":
            topic = self._topic_from(event)
            if topic is not None:
                return self._offer(state, topic)
            if event.intent == "book_appointment":
                return self._ask_topic()
            if event.intent == "faq":
                return Step(state=state, passthrough=True)
            return Step(state=state, replies=[self._topic_reply(texts.TOPIC_BY_BUTTONS)])
        if current == "slot":
            if event.intent == "faq":
                return Step(state=state, passthrough=True)
            return Step(state=state, replies=[reply(texts.SLOT_BY_BUTTONS)],
                        effects=[Effect(OFFER, self._offer_data(state))])
        if current == "confirm":
            if event.intent in ("affirm", "thank") and event.score >= MIN_SCORE:
                return self._commit(state)
            if event.intent == "deny" and event.score >= MIN_SCORE:
                return self._offer(state, self.topics[state["topic"]])
            if event.intent == "faq":
                return Step(state=state, passthrough=True)
            return Step(state=state, replies=[reply(texts.CONFIRM_BY_BUTTONS, *self._confirm_buttons(state))])
        return Step(state=None, replies=[_info(core_texts.UNKNOWN_BUTTON)])

    def cancel(self, state: dict[str, Any], ctx: FlowContext) -> Step:
        """«отмена» mid-flow: nothing is booked or changed."""
        return Step(state=None, replies=[_info(texts.KEEP if state.get("move") else texts.CANCELLED_FLOW)])

    def press(self, value: str, ctx: FlowContext) -> Step:
        """A button that carries all it needs: works whatever the conversation's state."""
        return self._press({}, FlowEvent(payload=value), ctx)

    # -------------------------------------------------------------- buttons
    def _press(self, state: dict[str, Any], event: FlowEvent, ctx: FlowContext) -> Step:
        action, _, arg = (event.payload or "").partition(":")
        topic = self.topics.by_id.get(state.get("topic", ""))
        if action == "book" and not arg:
            return self._ask_topic()
        if action == "topics" and not state.get("move"):
            return self._ask_topic()
        if action == "t" and arg in self.topics:
            return self._offer({}, self.topics[arg])
        if action == "list":
            return Step(state=None, effects=[Effect(LIST)])
        if action == "a" and arg:
            return Step(state=None, effects=[Effect(SHOW, {"id": arg})])
        if action == "m" and arg:
            appt_id, _, topic_id = arg.partition(":")
            if topic_id in self.topics:
                return self._offer({"move": appt_id}, self.topics[topic_id])
        if action == "c" and arg:
            return Step(state=None, effects=[Effect(ASK_CANCEL, {"id": arg})])
        if action == "cy" and arg:
            return Step(state=None, effects=[Effect(CANCEL, {"id": arg})])
        if action == "x":
            return self.cancel(state, ctx)
        if topic is not None and state.get("step") in ("slot", "confirm"):
            epoch = parse_epoch(arg)  # a slot's start; None for anything that cannot be one
            if action == "more" and epoch is not None:
                return Step(state={**state, "step": "slot"},
                            effects=[Effect(OFFER, {**self._offer_data(state), "after": epoch})])
            if action == "again":
                return self._offer(state, topic)
            if action == "s" and epoch is not None:
                return self._chose_slot({**state, "slot": epoch}, event, ctx)
            if action == "ok" and state.get("step") == "confirm":
                return self._commit(state)
        return Step(state=state or None, replies=[_info(core_texts.UNKNOWN_BUTTON)])

    # ---------------------------------------------------------------- steps
    def _topic_from(self, event: FlowEvent) -> Topic | None:
        topic = self.topics.for_situation(event.entities.get("life_situation"))
        if topic is None and event.text:
            words = event.text.strip().lower()
            topic = next((t for t in self.topics.all if words and words in t.title.lower()), None)
        return topic

    def _topic_reply(self, text: str) -> Reply:
        buttons = [button(NAME, t.title, f"t:{t.id}") for t in self.topics.all]
        return reply(text, *buttons, button(NAME, texts.CANCEL_BUTTON, "x"))

    def _ask_topic(self) -> Step:
        return Step(state={"step": "topic"}, replies=[self._topic_reply(texts.ASK_TOPIC)])

    def _offer_data(self, state: dict[str, Any]) -> dict[str, Any]:
        return {"topic": state["topic"], "move": state.get("move", ""), "after": 0}

    def _offer(self, state: dict[str, Any], topic: Topic) -> Step:
        new = {"step": "slot", "topic": topic.id, **({"move": state["move"]} if state.get("move") else {})}
        return Step(state=new, effects=[Effect(OFFER, self._offer_data(new))])

    def _chose_slot(self, state: dict[str, Any], event: FlowEvent, ctx: FlowContext) -> Step:
        state = {**state, "step": "confirm"}
        if not state.get("move"):
            gate = ensure_personal_data_consent(NAME, PURPOSE, state, event, ctx)
            if not gate.passed:
                return gate.step
        return self._confirm(state)

    def _confirm_buttons(self, state: dict[str, Any]):
        ok = texts.MOVE_CONFIRM_BUTTON if state.get("move") else texts.BOOK_BUTTON
        return [button(NAME, ok, "ok"), button(NAME, texts.OTHER_TIME, "again"),
                button(NAME, texts.CANCEL_BUTTON, "x")]

    def _confirm(self, state: dict[str, Any]) -> Step:
        topic = self.topics[state["topic"]]
        when = texts.when(state["slot"], self.tz)
        if state.get("move"):
            text = texts.CONFIRM_MOVE.format(topic=topic.title, when=when, zone=self.zone_title)
        else:
            text = texts.CONFIRM.format(topic=topic.title, when=when, zone=self.zone_title,
                                        minutes=topic.duration_minutes, place=texts.place(topic.online, topic.location))
        return Step(state={**state, "step": "confirm"}, replies=[reply(text, *self._confirm_buttons(state))])

    def _commit(self, state: dict[str, Any]) -> Step:
        data = {"topic": state["topic"], "slot": state["slot"]}
        if state.get("move"):
            return Step(state={**state, "step": "saving"}, effects=[Effect(MOVE, {**data, "id": state["move"]})])
        return Step(state={**state, "step": "saving"}, effects=[Effect(BOOK, data)])
