"""The I/O side of the booking flow: each effect (effects.py) reads or changes
appointments in Redis and reports what happened as an outcome, with times
already said in the working schedule's zone. Handlers never reply and never
touch the conversation: the flow renders the outcome."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from bot.flows.base import EffectContext, EffectHandler

from . import texts
from .effects import (
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
    Retry,
    SlotsFound,
)
from .store import Appointment
from .wishes import Wish

if TYPE_CHECKING:
    from .service import BookingService

log = logging.getLogger("booking")

# A reminder this close to the start is the «a few hours before» kind (the evening one is earlier).
LATEST_EVENING = timedelta(hours=6)


def _iso(value: str) -> date | None:
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


class BookingHandlers:
    def __init__(self, service: BookingService):
        self.svc = service

    def table(self) -> dict[type, EffectHandler]:
        return {
            OfferSlots: self.offer_slots,
            BookSlot: self.book_slot,
            MoveAppointment: self.move_appointment,
            ListAppointments: self.list_appointments,
            FindAppointment: self.find_appointment,
            CancelAppointment: self.cancel_appointment,
        }

    # ---------------------------------------------------------------- slots
    async def offer_slots(self, effect: OfferSlots, ctx: EffectContext) -> SlotsFound:
        return await self._free(effect.topic, after=effect.after, day=effect.day, wish=effect.wish)

    async def _free(
        self, topic_id: str, *, after: int = 0, day: str = "", wish: Wish | None = None, retry: Retry | None = None
    ) -> SlotsFound:
        """One day's free slots: the first day from `day` / after `after` / fitting `wish`."""
        svc = self.svc
        topic, tz, now = svc.topics.by_id.get(topic_id), svc.schedule.zone, svc.now()
        days = await svc.book.free_days(svc.schedule, topic, now) if topic else {}
        today = now.astimezone(tz).date()
        fitting = {d: [s for s in ss if wish.fits(s, today)] for d, ss in days.items()} if wish else {}
        fitting = {d: ss for d, ss in fitting.items() if ss}
        shown: date | None = None
        if after:
            shown = next((d for d in days if d > datetime.fromtimestamp(after, tz).date()), None)
        elif day:
            wanted = _iso(day)
            shown = next((d for d in days if wanted and d >= wanted), None)
        elif fitting:
            shown = next(iter(fitting))
        elif days:
            shown = next(iter(days))
        starts = (fitting.get(shown) or days.get(shown, [])) if shown else []
        earlier = [d for d in days if shown and d < shown]
        later = [d for d in days if shown and d > shown]
        epochs = [int(s.timestamp()) for s in starts]
        return SlotsFound(
            slots=tuple(FreeSlot(e, texts.when(e, tz), texts.when_short(e, tz), texts.hm(e, tz)) for e in epochs),
            zone=svc.zone_title,
            horizon_days=svc.book.horizon_days,
            later=bool(after),
            retry=retry,
            day=texts.day(shown) if shown else "",
            prev_day=earlier[-1].isoformat() if earlier else "",
            next_day=later[0].isoformat() if later else "",
            prev_title=texts.day_short(earlier[-1]) if earlier else "",
            next_title=texts.day_short(later[0]) if later else "",
            asked=wish.said if wish and shown in fitting else "",
            unmatched=wish.said if wish and not fitting else "",
        )

    async def _booked(self, appointment_id: str, epoch: int) -> Booked:
        due = await self.svc.book.reminder_due(appointment_id)
        return Booked(
            appointment=appointment_id,
            when=texts.when(epoch, self.svc.schedule.zone),
            zone=self.svc.zone_title,
            reminder=due is not None,
            reminder_soon=due is not None and epoch - due < LATEST_EVENING.total_seconds(),
        )

    async def book_slot(self, effect: BookSlot, ctx: EffectContext) -> Booked | SlotsFound:
        svc, now = self.svc, self.svc.now()
        topic = svc.topics.by_id.get(effect.topic)
        if topic is None or not svc.book.is_slot(svc.schedule, topic, now, effect.slot):
            return await self._free(effect.topic, retry="gone")
        appt = await svc.book.book(
            topic,
            effect.slot,
            client_id=ctx.client_id,
            conversation_id=ctx.conversation_id,
            channel=ctx.channel,
            now=now,
            tz=svc.schedule.zone,
        )
        if appt is None:
            return await self._free(effect.topic, retry="taken")
        log.info("appointment booked", extra={"conversation": ctx.conversation_id, "topic": topic.id})
        return await self._booked(appt.id, effect.slot)

    async def move_appointment(self, effect: MoveAppointment, ctx: EffectContext) -> Booked | SlotsFound | NotBooked:
        svc, now = self.svc, self.svc.now()
        appt = await self._mine(effect.appointment, ctx)
        if appt is None:
            return NotBooked(book_again=True)
        topic = svc.topics.by_id.get(effect.topic)
        if topic is None or not svc.book.is_slot(svc.schedule, topic, now, effect.slot):
            return await self._free(effect.topic, retry="gone")
        result = await svc.book.move(appt, topic, effect.slot, now=now, tz=svc.schedule.zone)
        if result in (0, -2):
            return await self._free(effect.topic, retry="taken" if result == 0 else "same")
        if result == -1:
            return NotBooked()
        return await self._booked(appt.id, effect.slot)

    # --------------------------------------------------------- appointments
    def _view(self, appt: Appointment) -> AppointmentView:
        tz = self.svc.schedule.zone
        return AppointmentView(
            id=appt.id, topic=appt.topic, when=texts.when(appt.slot, tz), when_short=texts.when_short(appt.slot, tz)
        )

    async def _mine(self, appointment_id: str, ctx: EffectContext) -> Appointment | None:
        """The client's own appointment, while it is booked."""
        appt = await self.svc.book.get(appointment_id)
        if appt is None or appt.client_id != ctx.client_id or appt.status != "booked":
            return None
        return appt

    async def list_appointments(self, effect: ListAppointments, ctx: EffectContext) -> AppointmentsFound:
        upcoming = await self.svc.book.for_client(ctx.client_id, upcoming_after=self.svc.now())
        return AppointmentsFound(tuple(self._view(a) for a in upcoming), zone=self.svc.zone_title)

    async def find_appointment(self, effect: FindAppointment, ctx: EffectContext) -> AppointmentsFound | NotBooked:
        appt = await self._mine(effect.appointment, ctx)
        if appt is None:
            return NotBooked()
        return AppointmentsFound((self._view(appt),), zone=self.svc.zone_title)

    async def cancel_appointment(self, effect: CancelAppointment, ctx: EffectContext) -> Cancelled | NotBooked:
        appt = await self._mine(effect.appointment, ctx)
        if appt is None or not await self.svc.book.cancel(appt.id, ctx.client_id, now=self.svc.now()):
            return NotBooked()
        log.info("appointment cancelled", extra={"conversation": ctx.conversation_id})
        return Cancelled(topic=appt.topic, when=texts.when(appt.slot, self.svc.schedule.zone))
