"""The I/O side of appointments: the flow's effects, the start handler that
finds the topic the client was asking about, and the reminder worker.

Slots come from the operators' working schedule (`runtime.handoff.schedule`,
handoff/schedule.py), read at each use so a changed schedule applies at once.
Reminders are a delayed queue (zset by due time, bot/booking/keys.py); a due
reminder is re-checked against the appointment (still booked, same slot)
and handed to the consent module's notifications as a `trigger` message
based on the client's consent `personal_data:appointments`.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from bot.consent import notifications
from bot.core.messages import Button, ReplyKind, Understanding
from bot.flows.base import FlowEvent, button
from handoff.schedule import Schedule, load_schedule
from handoff.service import Clock, utc_now

from . import texts
from .flow import ASK_CANCEL, BOOK, CANCEL, LIST, MOVE, NAME, OFFER, PURPOSE, SHOW, BookingFlow
from .store import Appointment, AppointmentBook
from .topics import Topic, Topics

log = logging.getLogger("booking")

REMINDER_SCOPE = f"personal_data:{PURPOSE}"  # the consent a reminder relies on


class BookingService:
    def __init__(self, runtime, topics: Topics, clock: Clock = utc_now):
        s = runtime.settings
        self.runtime = runtime
        self.redis = runtime.redis
        self.topics = topics
        self.clock = clock
        self.book = AppointmentBook(runtime.redis, lead_minutes=s.booking_lead_minutes,
                                    horizon_days=s.booking_horizon_days, reminder_hours=s.booking_reminder_hours)
        self._own_schedule: Schedule | None = None
        if runtime.handoff is None:
            self._own_schedule = load_schedule(s.handoff_schedule_file, s.handoff_timezone)
        schedule = self.schedule
        self.flow = BookingFlow(topics, schedule.zone, self.zone_title)

    @property
    def schedule(self) -> Schedule:
        handoff = self.runtime.handoff
        return handoff.schedule if handoff is not None else self._own_schedule

    @property
    def zone_title(self) -> str:
        return self.schedule.timezone_title or f"время {self.schedule.timezone}"

    def now(self) -> datetime:
        return self.clock()

    def effects(self) -> dict[str, Any]:
        return {OFFER: self._offer, BOOK: self._book, MOVE: self._move, LIST: self._list, SHOW: self._show,
                ASK_CANCEL: self._ask_cancel, CANCEL: self._cancel}

    # ------------------------------------------------------------ starting
    async def start(self, engine, turn, u: Understanding | None) -> None:
        """Start the flow; with no topic in the words, take the life situation of
        the last answer the client got in this conversation."""
        entities = dict(u.entities) if u else {}
        intent = u.intent if u else None
        if intent != "cancel_appointment" and "life_situation" not in entities:
            situation = await self._last_answered_situation(engine, turn.state.conversation_id)
            if situation:
                entities["life_situation"] = situation
        event = FlowEvent(text=turn.text, intent=intent or "book_appointment", score=u.confidence if u else 1.0,
                          entities=entities)
        await engine.run_step(turn, self.flow, self.flow.start(engine.flow_context(turn), event))

    async def _last_answered_situation(self, engine, cid: str) -> str | None:
        for entry in reversed(await engine.conversations.history(cid, limit=40)):
            faq_id = entry.get("faq_id") if entry.get("from") == "bot" else None
            if faq_id and faq_id in engine.kb:
                return engine.kb[faq_id].life_situation
        return None

    # ------------------------------------------------------------- effects
    def _topic(self, topic_id: str) -> Topic | None:
        return self.topics.by_id.get(topic_id)

    def _end(self, turn) -> None:
        turn.state.flow, turn.state.flow_state = None, {}

    async def _offer(self, engine, turn, data: dict[str, Any], lead: str | None = None) -> None:
        topic = self._topic(data.get("topic", ""))
        if topic is None:
            self._end(turn)
            turn.say(ReplyKind.info, texts.NO_SLOTS.format(days=self.book.horizon_days, topic="—"))
            return
        after = int(data.get("after") or 0)
        slots = await self.book.free_slots(self.schedule, topic, self.now(), limit=3, after=after)
        if not slots:
            if after:
                turn.say(ReplyKind.flow, texts.NO_MORE_SLOTS.format(topic=topic.title))
                return
            self._end(turn)
            buttons = [] if data.get("move") else [button(NAME, texts.OTHER_TOPIC, "book")]
            turn.say(ReplyKind.info, texts.NO_SLOTS.format(days=self.book.horizon_days, topic=topic.title), buttons)
            return
        tz = self.schedule.zone
        buttons = [button(NAME, texts.when_short(int(s.timestamp()), tz), f"s:{int(s.timestamp())}") for s in slots]
        buttons.append(button(NAME, texts.TOPIC_BUTTON_MORE, f"more:{int(slots[-1].timestamp())}"))
        if not data.get("move"):
            buttons.append(button(NAME, texts.OTHER_TOPIC, "topics"))
        buttons.append(button(NAME, texts.CANCEL_BUTTON, "x"))
        text = lead or (texts.PICK_SLOT_LATER.format(zone=self.zone_title) if after else
                        texts.PICK_SLOT.format(topic=topic.title, minutes=topic.duration_minutes, zone=self.zone_title))
        turn.say(ReplyKind.flow, text, buttons)

    def _summary(self, template: str, topic: Topic, epoch: int, reminder: bool) -> str:
        return template.format(topic=topic.title, when=texts.when(epoch, self.schedule.zone), zone=self.zone_title,
                               minutes=topic.duration_minutes, place=texts.place(topic.online, topic.location),
                               reminder=texts.REMINDER_PROMISE if reminder else "")

    def _manage_buttons(self, appt: Appointment) -> list[Button]:
        return [button(NAME, texts.MOVE_BUTTON, f"m:{appt.id}:{appt.topic}"),
                button(NAME, texts.CANCEL_APPT_BUTTON, f"c:{appt.id}")]

    async def _retry_slot(self, turn, data: dict[str, Any], lead: str) -> None:
        turn.state.flow = NAME
        turn.state.flow_state = {"step": "slot", "topic": data["topic"],
                                 **({"move": data["id"]} if data.get("id") else {})}
        await self._offer(None, turn, {"topic": data["topic"], "move": data.get("id", ""), "after": 0}, lead=lead)

    async def _book(self, engine, turn, data: dict[str, Any]) -> None:
        topic, now, epoch = self._topic(data["topic"]), self.now(), int(data["slot"])
        if topic is None or not self.book.is_slot(self.schedule, topic, now, epoch):
            await self._retry_slot(turn, data, texts.SLOT_GONE)
            return
        appt = await self.book.book(topic, epoch, client_id=turn.state.client_id,
                                    conversation_id=turn.state.conversation_id, channel=turn.state.channel, now=now)
        if appt is None:
            await self._retry_slot(turn, data, texts.SLOT_TAKEN)
            return
        self._end(turn)
        reminder = await self.book.reminder_due(appt.id) is not None
        turn.say(ReplyKind.flow, self._summary(texts.BOOKED, topic, epoch, reminder), self._manage_buttons(appt))
        log.info("appointment booked", extra={"conversation": turn.state.conversation_id, "topic": topic.id})

    async def _move(self, engine, turn, data: dict[str, Any]) -> None:
        topic, now, epoch = self._topic(data["topic"]), self.now(), int(data["slot"])
        appt = await self.book.get(data["id"])
        if appt is None or appt.client_id != turn.state.client_id or appt.status != "booked":
            self._end(turn)
            turn.say(ReplyKind.info, texts.NOT_BOOKED, [button(NAME, texts.BOOK_AGAIN, "book")])
            return
        if topic is None or not self.book.is_slot(self.schedule, topic, now, epoch):
            await self._retry_slot(turn, data, texts.SLOT_GONE)
            return
        result = await self.book.move(appt, topic, epoch, now=now)
        if result in (0, -2):
            await self._retry_slot(turn, data, texts.SLOT_TAKEN if result == 0 else texts.SAME_SLOT)
            return
        if result == -1:
            self._end(turn)
            turn.say(ReplyKind.info, texts.NOT_BOOKED)
            return
        self._end(turn)
        reminder = await self.book.reminder_due(appt.id) is not None
        turn.say(ReplyKind.flow, self._summary(texts.MOVED, topic, epoch, reminder), self._manage_buttons(appt))

    async def _list(self, engine, turn, data: dict[str, Any]) -> None:
        upcoming = await self.book.for_client(turn.state.client_id, upcoming_after=self.now())
        if not upcoming:
            turn.say(ReplyKind.info, texts.NO_APPOINTMENTS, [button(NAME, texts.BOOK_START, "book")])
            return
        if len(upcoming) == 1:
            await self._show(engine, turn, {"id": upcoming[0].id})
            return
        tz = self.schedule.zone
        lines = [texts.APPOINTMENT_LINE.format(topic=self._title(a), when=texts.when(a.slot, tz)) for a in upcoming[:8]]
        buttons = [button(NAME, f"{self._title(a)}: {texts.when_short(a.slot, tz)}"[:60], f"a:{a.id}")
                   for a in upcoming[:8]]
        turn.say(ReplyKind.flow, texts.MANY_APPOINTMENTS.format(zone=self.zone_title, items="\n".join(lines)), buttons)

    def _title(self, appt: Appointment) -> str:
        topic = self._topic(appt.topic)
        return topic.title if topic else appt.topic

    async def _mine(self, turn, appointment_id: str) -> Appointment | None:
        appt = await self.book.get(appointment_id)
        if appt is None or appt.client_id != turn.state.client_id or appt.status != "booked":
            turn.say(ReplyKind.info, texts.NOT_BOOKED)
            return None
        return appt

    async def _show(self, engine, turn, data: dict[str, Any]) -> None:
        appt = await self._mine(turn, data["id"])
        if appt is None:
            return
        topic = self._topic(appt.topic)
        place = texts.place(topic.online, topic.location) if topic else ""
        turn.say(ReplyKind.flow, texts.ONE_APPOINTMENT.format(
            topic=self._title(appt), when=texts.when(appt.slot, self.schedule.zone), zone=self.zone_title,
            place=place), self._manage_buttons(appt))

    async def _ask_cancel(self, engine, turn, data: dict[str, Any]) -> None:
        appt = await self._mine(turn, data["id"])
        if appt is None:
            return
        turn.say(ReplyKind.flow, texts.ASK_CANCEL.format(
            topic=self._title(appt), when=texts.when(appt.slot, self.schedule.zone), zone=self.zone_title),
            [button(NAME, texts.YES_CANCEL, f"cy:{appt.id}"), button(NAME, texts.KEEP_BUTTON, "x")])

    async def _cancel(self, engine, turn, data: dict[str, Any]) -> None:
        appt = await self._mine(turn, data["id"])
        if appt is None:
            return
        if not await self.book.cancel(appt.id, turn.state.client_id, now=self.now()):
            turn.say(ReplyKind.info, texts.NOT_BOOKED)
            return
        turn.say(ReplyKind.info, texts.CANCELLED_APPT.format(topic=self._title(appt),
                                                             when=texts.when(appt.slot, self.schedule.zone)),
                 [button(NAME, texts.BOOK_AGAIN, "book")])
        log.info("appointment cancelled", extra={"conversation": turn.state.conversation_id})

    # ------------------------------------------------------------ reminders
    async def send_due_reminders(self, now: datetime | None = None) -> list[str]:
        """Queue the reminders that are due; returns the notification ids queued."""
        now = now or self.now()
        queued = []
        for appointment_id in await self.book.take_due_reminders(now):
            appt = await self.book.get(appointment_id)
            if appt is None or appt.status != "booked":
                continue  # cancelled after it was taken: never remind
            if appt.slot - self.book.reminder.total_seconds() > now.timestamp() + 60:
                continue  # moved to a later slot meanwhile: its own reminder is queued
            nid = await self.remind(appt)
            if nid:
                queued.append(nid)
        return queued

    async def remind(self, appt: Appointment) -> str | None:
        topic = self._topic(appt.topic)
        if topic is None:
            return None
        tz = self.schedule.zone
        text = texts.REMINDER.format(when=texts.when(appt.slot, tz), zone=self.zone_title, topic=topic.title,
                                     minutes=topic.duration_minutes, place=texts.place(topic.online, topic.location))
        basis = texts.REMINDER_BASIS.format(date=texts.date(appt.created_at, tz))
        # The key holds the slot: a moved appointment gets its own reminder, a repeat never a second one.
        return await notifications.notify(self.runtime, appt.client_id, "trigger", text, basis=basis,
                                          scope=REMINDER_SCOPE, key=reminder_key(appt))

    async def upcoming(self, limit: int = 200) -> list[Appointment]:
        """Booked appointments from now on, soonest first (for staff and exports)."""
        return await self.book.upcoming(self.now(), limit)


def reminder_key(appt: Appointment) -> str:
    return f"booking:{appt.id}:{appt.slot}:reminder"
