"""Appointments in Redis: free slots, atomic booking, moving and cancelling,
and the delayed queue of reminders (a sorted set by due time).

Every change of places is one Lua script (bot/booking/keys.py), so two clients
never get the last place of a slot and a moved appointment never holds two.
Everything takes `now` explicitly: callers decide the clock.
"""

from __future__ import annotations

import secrets
import time
from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from datetime import time as clock_time

from redis.asyncio import Redis

from bot.booking import keys as booking_keys
from handoff.schedule import Schedule

from .topics import Topic


@dataclass
class Appointment:
    id: str
    client_id: str
    conversation_id: str
    channel: str
    topic: str
    slot: int  # unix seconds of the start
    status: str = "booked"  # booked | cancelled | attended | no_show
    created_at: float = 0.0
    moved_from: int = 0
    moved_at: float = 0.0
    cancelled_at: float = 0.0
    visit_by: str = ""  # the consultant who marked attended / no-show
    visit_at: float = 0.0

    @classmethod
    def from_hash(cls, h: dict[str, str]) -> Appointment:
        return cls(
            id=h["id"],
            client_id=h.get("client_id", ""),
            conversation_id=h.get("conversation_id", ""),
            channel=h.get("channel", ""),
            topic=h.get("topic", ""),
            slot=int(h.get("slot") or 0),
            status=h.get("status", "booked"),
            created_at=float(h.get("created_at") or 0),
            moved_from=int(h.get("moved_from") or 0),
            moved_at=float(h.get("moved_at") or 0),
            cancelled_at=float(h.get("cancelled_at") or 0),
            visit_by=h.get("visit_by", ""),
            visit_at=float(h.get("visit_at") or 0),
        )

    @property
    def start(self) -> datetime:
        return datetime.fromtimestamp(self.slot, UTC)


VISITS = ("attended", "no_show")  # what a consultant marks after the start
SOON = timedelta(hours=24)  # booked less than this ahead: reminded a few hours before, not the evening before


def remind_at(slot: int, now: datetime, tz: tzinfo, *, evening_hour: int, soon_hours: float) -> float | None:
    """When to remind of a consultation: the evening before at `evening_hour` (local), or,
    for one booked less than a day ahead, `soon_hours` before it; None when that has passed."""
    start = datetime.fromtimestamp(slot, tz)
    if start - now < SOON:
        due = start - timedelta(hours=soon_hours)
    else:
        due = datetime.combine(start.date() - timedelta(days=1), clock_time(evening_hour), tz)
    return due.timestamp() if due > now else None


class AppointmentBook:
    def __init__(
        self,
        redis: Redis,
        *,
        lead_minutes: int = 60,
        horizon_days: int = 21,
        evening_hour: int = 18,
        soon_hours: float = 3.0,
    ):
        self.redis = redis
        self.lead = timedelta(minutes=lead_minutes)
        self.horizon_days = horizon_days
        self.evening_hour = evening_hour
        self.soon_hours = soon_hours

    # ----------------------------------------------------------------- slots
    def slots(self, schedule: Schedule, topic: Topic, now: datetime):
        return schedule.slots(now, topic.duration_minutes, self.lead, days=self.horizon_days)

    def is_slot(self, schedule: Schedule, topic: Topic, now: datetime, epoch: int) -> bool:
        """Still a bookable start (in working hours, not in the past, on the topic's grid)."""
        return any(int(s.timestamp()) == epoch for s in self.slots(schedule, topic, now))

    async def free_slots(
        self, schedule: Schedule, topic: Topic, now: datetime, *, limit: int = 3, after: int = 0
    ) -> list[datetime]:
        """The next `limit` slots with a free place, starting after the day of `after` (0: from now)."""
        candidates = self.slots(schedule, topic, now)
        if after:
            day_after = datetime.fromtimestamp(after, schedule.zone).date()
            candidates = (s for s in candidates if s.astimezone(schedule.zone).date() > day_after)
        free: list[datetime] = []
        while len(free) < limit:
            batch = [s for _, s in zip(range(64), candidates)]
            if not batch:
                break
            pipe = self.redis.pipeline(transaction=False)
            for s in batch:
                pipe.scard(booking_keys.appointment_slot(topic.id, int(s.timestamp())))
            counts = await pipe.execute()
            free += [s for s, n in zip(batch, counts) if n < topic.capacity]
        return free[:limit]

    async def free_days(self, schedule: Schedule, topic: Topic, now: datetime) -> dict[date, list[datetime]]:
        """Every start with a free place within the horizon, by local day (in order)."""
        starts = list(self.slots(schedule, topic, now))
        pipe = self.redis.pipeline(transaction=False)
        for s in starts:
            pipe.scard(booking_keys.appointment_slot(topic.id, int(s.timestamp())))
        days: dict[date, list[datetime]] = defaultdict(list)
        for s, taken in zip(starts, await pipe.execute()):
            if taken < topic.capacity:
                local = s.astimezone(schedule.zone)
                days[local.date()].append(local)
        return dict(days)

    def _reminder_due(self, slot: int, now: datetime, tz: tzinfo) -> str:
        due = remind_at(slot, now, tz, evening_hour=self.evening_hour, soon_hours=self.soon_hours)
        return f"{due:.0f}" if due is not None else ""

    def _ttl(self, slot: int, now: datetime) -> int:
        return max(3600, slot - int(now.timestamp()) + booking_keys.BOOKING_TTL_S)

    # --------------------------------------------------------------- changes
    async def book(
        self,
        topic: Topic,
        epoch: int,
        *,
        client_id: str,
        conversation_id: str,
        channel: str,
        now: datetime,
        tz: tzinfo,
    ) -> Appointment | None:
        """Take a place in the slot; None when it is full. `tz`: the schedule's zone (the
        reminder goes the evening before there)."""
        appt = Appointment(
            id=secrets.token_hex(6),
            client_id=client_id,
            conversation_id=conversation_id,
            channel=channel,
            topic=topic.id,
            slot=epoch,
            created_at=now.timestamp(),
        )
        fields: list[str] = []
        for name, value in asdict(appt).items():
            fields += [name, str(value)]
        ok = await self.redis.eval(
            booking_keys.BOOK_APPOINTMENT,
            5,
            booking_keys.appointment_slot(topic.id, epoch),
            booking_keys.appointment(appt.id),
            booking_keys.client_appointments(client_id),
            booking_keys.appointments_all(),
            booking_keys.appointment_reminders(),
            topic.capacity,
            appt.id,
            epoch,
            self._reminder_due(epoch, now, tz),
            self._ttl(epoch, now),
            *fields,
        )
        return appt if ok else None

    async def move(self, appt: Appointment, topic: Topic, epoch: int, *, now: datetime, tz: tzinfo) -> int:
        """1 moved, 0 the new slot is full, -1 no longer booked, -2 the same slot."""
        return int(
            await self.redis.eval(
                booking_keys.MOVE_APPOINTMENT,
                5,
                booking_keys.appointment_slot(topic.id, epoch),
                booking_keys.appointment(appt.id),
                booking_keys.client_appointments(appt.client_id),
                booking_keys.appointments_all(),
                booking_keys.appointment_reminders(),
                topic.capacity,
                appt.id,
                epoch,
                self._reminder_due(epoch, now, tz),
                self._ttl(epoch, now),
                booking_keys.appointment_slot_prefix(),
                appt.client_id,
                f"{now.timestamp():.3f}",
            )
        )

    async def cancel(self, appointment_id: str, client_id: str, *, now: datetime) -> bool:
        return (
            await self.redis.eval(
                booking_keys.CANCEL_APPOINTMENT,
                2,
                booking_keys.appointment(appointment_id),
                booking_keys.appointment_reminders(),
                appointment_id,
                booking_keys.appointment_slot_prefix(),
                client_id,
                f"{now.timestamp():.3f}",
            )
            == 1
        )

    async def mark_visit(self, appointment_id: str, status: str, *, by: str, now: datetime) -> bool:
        """Attended or no-show, marked by a consultant (a cancelled appointment stays cancelled)."""
        if status not in VISITS:
            raise ValueError(status)
        done = await self.redis.eval(
            booking_keys.MARK_VISIT,
            2,
            booking_keys.appointment(appointment_id),
            booking_keys.appointment_reminders(),
            appointment_id,
            status,
            by,
            f"{now.timestamp():.3f}",
        )
        return done == 1

    async def between(self, start: datetime, end: datetime, limit: int = 500) -> list[Appointment]:
        """Every appointment (any status) starting in [start, end), soonest first (for staff)."""
        ids = await self.redis.zrangebyscore(
            booking_keys.appointments_all(), int(start.timestamp()), f"({int(end.timestamp())}", start=0, num=limit
        )
        return await self._many(ids)

    # ----------------------------------------------------------------- reads
    async def get(self, appointment_id: str) -> Appointment | None:
        h = await self.redis.hgetall(booking_keys.appointment(appointment_id))
        return Appointment.from_hash(h) if h else None

    async def _many(self, ids: list[str]) -> list[Appointment]:
        pipe = self.redis.pipeline(transaction=False)
        for i in ids:
            pipe.hgetall(booking_keys.appointment(i))
        return [Appointment.from_hash(h) for h in await pipe.execute() if h]

    async def for_client(
        self, client_id: str, *, upcoming_after: datetime | None = None, limit: int = 50
    ) -> list[Appointment]:
        """The client's appointments by start time; with `upcoming_after`: only booked ones after it."""
        if upcoming_after is None:
            ids = await self.redis.zrevrange(booking_keys.client_appointments(client_id), 0, limit - 1)
            return await self._many(ids)
        ids = await self.redis.zrangebyscore(
            booking_keys.client_appointments(client_id), int(upcoming_after.timestamp()), "+inf", start=0, num=limit
        )
        return [a for a in await self._many(ids) if a.status == "booked"]

    async def upcoming(self, now: datetime, limit: int = 200) -> list[Appointment]:
        """Booked appointments from `now` on, soonest first (for staff)."""
        ids = await self.redis.zrangebyscore(
            booking_keys.appointments_all(), int(now.timestamp()), "+inf", start=0, num=limit
        )
        return [a for a in await self._many(ids) if a.status == "booked"]

    async def places_taken(self, topic_id: str, epoch: int) -> int:
        return await self.redis.scard(booking_keys.appointment_slot(topic_id, epoch))

    # ------------------------------------------------------------- reminders
    async def reminder_due(self, appointment_id: str) -> float | None:
        return await self.redis.zscore(booking_keys.appointment_reminders(), appointment_id)

    async def take_due_reminders(self, now: datetime, limit: int = 100) -> list[str]:
        return await self.redis.eval(
            booking_keys.TAKE_DUE_REMINDERS, 1, booking_keys.appointment_reminders(), f"{now.timestamp():.3f}", limit
        )


def now_utc() -> datetime:
    return datetime.fromtimestamp(time.time(), UTC)
