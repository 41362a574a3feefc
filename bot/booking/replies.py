"""What the booking flow says: replies and buttons built from the topics, the
flow's state and the outcomes the service reported (pure; texts in texts.py).
Buttons are the flow's own: `flow:booking:<value>` (values: flow.py)."""

from __future__ import annotations

from bot.core import texts as core_texts
from bot.core.messages import Button, Reply, ReplyKind
from bot.flows.base import button, reply

from . import texts
from .effects import AppointmentsFound, AppointmentView, Booked, Cancelled, NotBooked, Retry, SlotsFound
from .topics import Topic, Topics

NAME = "booking"
LISTED_MAX = 8  # appointments shown in a list
RETRY_LEAD: dict[Retry, str] = {"taken": texts.SLOT_TAKEN, "gone": texts.SLOT_GONE, "same": texts.SAME_SLOT}


def info(text: str, *buttons: Button) -> Reply:
    return reply(text, *buttons, kind=ReplyKind.info)


def unknown_button() -> Reply:
    return info(core_texts.UNKNOWN_BUTTON)


def slot_by_buttons() -> Reply:
    return reply(texts.SLOT_BY_BUTTONS)


def _cancel() -> Button:
    return button(NAME, texts.CANCEL_BUTTON, "x")


def _book_again() -> Button:
    return button(NAME, texts.BOOK_AGAIN, "book")


class Replies:
    def __init__(self, topics: Topics):
        self.topics = topics

    def title(self, topic_id: str) -> str:
        topic = self.topics.by_id.get(topic_id)
        return topic.title if topic else topic_id  # a topic no longer offered: its id

    # ------------------------------------------------------------- booking
    def topics_question(self, text: str) -> Reply:
        return reply(text, *(button(NAME, t.title, f"t:{t.id}") for t in self.topics.all), _cancel())

    def slots(self, topic: Topic, found: SlotsFound, *, moving: bool) -> Reply:
        """One day's free times, the nearest earlier / later days with free times beside them."""
        buttons = [button(NAME, s.hm or s.when_short, f"s:{s.slot}") for s in found.slots]
        if found.prev_day:
            buttons.append(button(NAME, texts.PREV_DAY.format(day=found.prev_title), f"d:{found.prev_day}"))
        if found.next_day:
            buttons.append(button(NAME, texts.NEXT_DAY.format(day=found.next_title), f"d:{found.next_day}"))
        if not moving:
            buttons.append(button(NAME, texts.OTHER_TOPIC, "topics"))
        buttons.append(_cancel())
        if found.retry is not None:
            text = RETRY_LEAD[found.retry]
        elif found.unmatched:
            text = texts.PICK_SLOT_UNMATCHED.format(asked=found.unmatched, day=found.day, zone=found.zone)
        elif found.asked:
            text = texts.PICK_SLOT_ASKED.format(asked=found.asked, day=found.day, zone=found.zone)
        elif found.later:
            text = texts.PICK_SLOT_LATER.format(day=found.day, zone=found.zone)
        else:
            text = texts.PICK_SLOT.format(
                topic=topic.title, minutes=topic.duration_minutes, day=found.day, zone=found.zone
            )
        return reply(text, *buttons)

    def no_slots(self, topic: Topic | None, found: SlotsFound, *, moving: bool) -> Reply:
        other = (button(NAME, texts.OTHER_TOPIC, "book"),) if topic is not None and not moving else ()
        return info(texts.NO_SLOTS.format(days=found.horizon_days, topic=topic.title if topic else "—"), *other)

    def no_later_slots(self, topic: Topic) -> Reply:
        return reply(texts.NO_MORE_SLOTS.format(topic=topic.title))

    def confirm(self, topic: Topic, when: str, zone: str, *, moving: bool) -> Reply:
        if moving:
            text = texts.CONFIRM_MOVE.format(topic=topic.title, when=when, zone=zone)
        else:
            text = texts.CONFIRM.format(
                topic=topic.title,
                when=when,
                zone=zone,
                minutes=topic.duration_minutes,
                place=texts.place(topic.online, topic.location),
            )
        return reply(text, *self.confirm_buttons(moving=moving))

    def confirm_by_buttons(self, *, moving: bool) -> Reply:
        return reply(texts.CONFIRM_BY_BUTTONS, *self.confirm_buttons(moving=moving))

    def confirm_buttons(self, *, moving: bool) -> tuple[Button, ...]:
        ok = texts.MOVE_CONFIRM_BUTTON if moving else texts.BOOK_BUTTON
        return button(NAME, ok, "ok"), button(NAME, texts.OTHER_TIME, "again"), _cancel()

    def booked(self, topic: Topic, booked: Booked, *, moved: bool) -> Reply:
        text = (texts.MOVED if moved else texts.BOOKED).format(
            topic=topic.title,
            when=booked.when,
            zone=booked.zone,
            minutes=topic.duration_minutes,
            place=texts.place(topic.online, topic.location),
            reminder=(texts.REMINDER_PROMISE_SOON if booked.reminder_soon else texts.REMINDER_PROMISE)
            if booked.reminder
            else "",
        )
        return reply(text, *self._manage(booked.appointment, topic.id))

    # ------------------------------------------------------------ managing
    def appointments(self, found: AppointmentsFound) -> Reply:
        """The client's upcoming appointments: none, the one, or a list to choose from."""
        if not found.appointments:
            return info(texts.NO_APPOINTMENTS, button(NAME, texts.BOOK_START, "book"))
        if len(found.appointments) == 1:
            return self.appointment(found.appointments[0], found.zone)
        listed = found.appointments[:LISTED_MAX]
        lines = [texts.APPOINTMENT_LINE.format(topic=self.title(a.topic), when=a.when) for a in listed]
        return reply(
            texts.MANY_APPOINTMENTS.format(zone=found.zone, items="\n".join(lines)),
            *(button(NAME, f"{self.title(a.topic)}: {a.when_short}"[:60], f"a:{a.id}") for a in listed),
        )

    def appointment(self, appt: AppointmentView, zone: str) -> Reply:
        topic = self.topics.by_id.get(appt.topic)
        place = texts.place(topic.online, topic.location) if topic else ""
        return reply(
            texts.ONE_APPOINTMENT.format(topic=self.title(appt.topic), when=appt.when, zone=zone, place=place),
            *self._manage(appt.id, appt.topic),
        )

    def ask_cancel(self, appt: AppointmentView, zone: str) -> Reply:
        return reply(
            texts.ASK_CANCEL.format(topic=self.title(appt.topic), when=appt.when, zone=zone),
            button(NAME, texts.YES_CANCEL, f"cy:{appt.id}"),
            button(NAME, texts.KEEP_BUTTON, "keep"),
        )

    def cancelled(self, cancelled: Cancelled) -> Reply:
        return info(texts.CANCELLED_APPT.format(topic=self.title(cancelled.topic), when=cancelled.when), _book_again())

    def not_booked(self, outcome: NotBooked) -> Reply:
        return info(texts.NOT_BOOKED, *((_book_again(),) if outcome.book_again else ()))

    def _manage(self, appointment: str, topic_id: str) -> tuple[Button, ...]:
        return (
            button(NAME, texts.MOVE_BUTTON, f"m:{appointment}:{topic_id}"),
            button(NAME, texts.CANCEL_APPT_BUTTON, f"c:{appointment}"),
        )
