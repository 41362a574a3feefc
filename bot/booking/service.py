"""The booking service: the appointment book on the operators' working
schedule, the start handler that finds the topic the client was asking about,
the reminder worker, and the reads staff, history and erasure use. The flow's
effects are handled in handlers.py.

Slots come from the operators' working schedule (`runtime.handoff.schedule`,
handoff/schedule.py), read at each use so a changed schedule applies at once.
Reminders are a delayed queue (zset by due time, bot/booking/keys.py); a due
reminder is re-checked against the appointment (still booked, same slot)
and handed to the consent module's notifications as a `trigger` message
based on the client's consent `personal_data:appointments`.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.consent import notifications
from bot.core.messages import Understanding
from bot.flows.base import EffectHandler, FlowEvent
from handoff.schedule import Schedule, load_schedule
from handoff.service import Clock, utc_now

from . import texts
from .flow import PURPOSE, BookingFlow
from .handlers import BookingHandlers
from .store import Appointment, AppointmentBook
from .topics import Topics

if TYPE_CHECKING:
    from bot.core.engine import Engine, Turn
    from bot.runtime import Runtime

log = logging.getLogger("booking")

REMINDER_SCOPE = f"personal_data:{PURPOSE}"  # the consent a reminder relies on
# The earliest a reminder goes: the evening before (18:00) a consultation late the next day.
LATEST_REMINDER = timedelta(hours=36)
SITUATION_WITHIN = 40  # history entries searched for the topic the client was asking about


class BookingService:
    def __init__(self, runtime: Runtime, topics: Topics, clock: Clock = utc_now):
        s = runtime.settings
        self.runtime = runtime
        self.redis = runtime.redis
        self.topics = topics
        self.clock = clock
        self.book = AppointmentBook(
            runtime.redis,
            lead_minutes=s.booking_lead_minutes,
            horizon_days=s.booking_horizon_days,
            evening_hour=s.booking_reminder_evening_hour,
            soon_hours=s.booking_reminder_soon_hours,
        )
        self._own_schedule: Schedule | None = None
        if runtime.handoff is None:
            self._own_schedule = load_schedule(s.handoff_schedule_file, s.handoff_timezone)
        self.flow = BookingFlow(topics, org=s.org_name)

    @property
    def schedule(self) -> Schedule:
        handoff = self.runtime.handoff
        if handoff is not None:
            return handoff.schedule
        assert self._own_schedule is not None
        return self._own_schedule

    @property
    def zone_title(self) -> str:
        return self.schedule.timezone_title or f"время {self.schedule.timezone}"

    def now(self) -> datetime:
        return self.clock()

    def effects(self) -> dict[type, EffectHandler]:
        """The handlers of the flow's effects (the consent gate's are the consent module's)."""
        return BookingHandlers(self).table()

    # ------------------------------------------------------------ starting
    async def start(self, engine: Engine, turn: Turn, u: Understanding | None) -> None:
        """Start the flow; with no topic in the words, take the life situation of
        the last answer the client got in this conversation."""
        entities = dict(u.entities) if u else {}
        intent = u.intent if u else None
        if intent != "cancel_appointment" and "life_situation" not in entities:
            faq_id = await engine.last_answered_topic(turn, within=SITUATION_WITHIN)
            situation = engine.kb[faq_id].life_situation if faq_id and faq_id in engine.kb else None
            if situation:
                entities["life_situation"] = situation
        event = FlowEvent(
            text=turn.text, intent=intent or "book_appointment", score=u.confidence if u else 1.0, entities=entities
        )
        await engine.run_step(turn, self.flow, self.flow.start(engine.flow_context(turn), event))

    # ------------------------------------------------------------ reminders
    async def send_due_reminders(self, now: datetime | None = None) -> list[str]:
        """Queue the reminders that are due; returns the notification ids queued."""
        now = now or self.now()
        queued: list[str] = []
        for appointment_id in await self.book.take_due_reminders(now):
            appt = await self.book.get(appointment_id)
            if appt is None or appt.status != "booked":
                continue  # cancelled after it was taken: never remind
            if appt.slot - now.timestamp() > LATEST_REMINDER.total_seconds():
                continue  # moved to a later day meanwhile: its own reminder is queued
            nid = await self.remind(appt)
            if nid:
                queued.append(nid)
        return queued

    async def remind(self, appt: Appointment) -> str | None:
        topic = self.topics.by_id.get(appt.topic)
        if topic is None:
            return None
        tz = self.schedule.zone
        text = texts.REMINDER.format(
            when=texts.when(appt.slot, tz),
            zone=self.zone_title,
            topic=topic.title,
            minutes=topic.duration_minutes,
            place=texts.place(topic.online, topic.location),
        )
        basis = texts.REMINDER_BASIS.format(date=texts.date(appt.created_at, tz))
        # The key holds the slot: a moved appointment gets its own reminder, a repeat never a second one.
        return await notifications.notify(
            self.runtime, appt.client_id, "trigger", text, basis=basis, scope=REMINDER_SCOPE, key=reminder_key(appt)
        )

    async def upcoming(self, limit: int = 200) -> list[Appointment]:
        """Booked appointments from now on, soonest first (for staff and exports)."""
        return await self.book.upcoming(self.now(), limit)


def reminder_key(appt: Appointment) -> str:
    return f"booking:{appt.id}:{appt.slot}:reminder"
