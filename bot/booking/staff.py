"""What consultants see and mark: the day's and the coming days' appointments, and
whether the client came (attended / no-show, with who marked it and when). Used by
the console page (console.py) and `python -m bot.booking`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from bot.core import phones

from .store import VISITS, Appointment, AppointmentBook
from .topics import Topics

STATUS_TITLES = {
    "booked": "записан",
    "attended": "пришёл",
    "no_show": "не пришёл",
    "cancelled": "отменена клиентом",
}
VISIT_TITLES = {"attended": "Пришёл", "no_show": "Не пришёл"}
UPCOMING_DAYS = 14  # the coming days a consultant sees after today


@dataclass(frozen=True)
class Row:
    appointment: Appointment
    day: date
    time: str  # «10:00»
    topic: str  # the topic's title
    status: str  # in words
    client: str  # who booked, as staff may see it (a phone masked)
    started: bool  # its start has come: attended / no-show can be marked

    @property
    def markable(self) -> bool:
        return self.appointment.status in ("booked", *VISITS)


def client_label(client_id: str) -> str:
    """«tg:12345», «phone:+7 *** ***-45-67»: the client's id, a phone number masked."""
    scheme, _, rest = client_id.partition(":")
    return f"{scheme}:{phones.masked(rest)}" if scheme == "phone" else client_id


async def agenda(
    book: AppointmentBook, topics: Topics, tz: tzinfo, now: datetime, *, days: int = UPCOMING_DAYS
) -> list[Row]:
    """Appointments from the start of today (local) for `days` more days, cancelled ones too."""
    today = now.astimezone(tz).date()
    start = datetime.combine(today, time(0), tz)
    rows = []
    for appt in await book.between(start, start + timedelta(days=days + 1)):
        local = datetime.fromtimestamp(appt.slot, tz)
        topic = topics.by_id.get(appt.topic)
        rows.append(
            Row(
                appointment=appt,
                day=local.date(),
                time=f"{local.hour}:{local.minute:02d}",
                topic=topic.title if topic else appt.topic,
                status=STATUS_TITLES.get(appt.status, appt.status),
                client=client_label(appt.client_id),
                started=appt.slot <= now.timestamp(),
            )
        )
    return rows


async def mark_visit(book: AppointmentBook, appointment_id: str, status: str, *, by: str, now: datetime) -> bool:
    """Attended / no-show by a consultant; False for an unknown or cancelled appointment."""
    if status not in VISITS or not by.strip():
        return False
    return await book.mark_visit(appointment_id, status, by=by.strip(), now=now)
