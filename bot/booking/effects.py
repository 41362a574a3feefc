"""What the booking flow asks the booking service to do (effects) and what the
service reports back (outcomes): the whole vocabulary between the pure flow
(flow.py) and the I/O side (handlers.py).

Times are formatted by the handlers, in the working schedule's time zone (the
flow never knows the schedule); titles of topics and places the flow takes from
the topics it was built with.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bot.flows.base import Effect, Outcome

from .wishes import Wish

Retry = Literal["taken", "gone", "same"]  # why a chosen slot could not be booked


# ------------------------------------------------------------------ effects
@dataclass(frozen=True)
class OfferSlots(Effect):
    """The free slots of one day of a topic (→ SlotsFound): the first day with any, or
    `day` (ISO date, paging) or later, or after the day of the slot `after`; with a
    `wish` («в четверг после обеда») the first day with slots that fit it."""

    topic: str
    after: int = 0
    day: str = ""
    wish: Wish | None = None


@dataclass(frozen=True)
class BookSlot(Effect):
    """Book the slot (→ Booked, or SlotsFound with `retry` when it cannot be had)."""

    topic: str
    slot: int


@dataclass(frozen=True)
class MoveAppointment(Effect):
    """Move the client's appointment to the slot, freeing the old one atomically
    (→ Booked, SlotsFound with `retry`, or NotBooked)."""

    appointment: str
    topic: str
    slot: int


@dataclass(frozen=True)
class ListAppointments(Effect):
    """The client's upcoming appointments (→ AppointmentsFound)."""


@dataclass(frozen=True)
class FindAppointment(Effect):
    """One appointment of the client that is still booked (→ AppointmentsFound of one, or NotBooked)."""

    appointment: str


@dataclass(frozen=True)
class CancelAppointment(Effect):
    """Cancel the client's appointment, freeing its place (→ Cancelled, or NotBooked)."""

    appointment: str


# ----------------------------------------------------------------- outcomes
@dataclass(frozen=True)
class FreeSlot:
    slot: int  # the start, unix seconds
    when: str  # in words: «вторник, 17 марта, 10:00»
    when_short: str  # «вт 17 марта, 10:00»
    hm: str = ""  # its button on a day's page: «10:00»


@dataclass(frozen=True)
class SlotsFound(Outcome):
    slots: tuple[FreeSlot, ...]  # nearest first; () = nothing free
    zone: str  # the time zone the times are in, in words («по камчатскому времени»)
    horizon_days: int  # how far ahead slots are offered
    later: bool = False  # the client asked for later dates
    retry: Retry | None = None  # the chosen slot could not be booked: choose again
    day: str = ""  # the day shown, in words: «четверг, 21 марта»
    prev_day: str = ""  # the nearest earlier / later day with free slots (ISO), for paging
    next_day: str = ""
    prev_title: str = ""  # those days on their buttons: «ср 20 марта»
    next_title: str = ""
    asked: str = ""  # the client's wish these slots fit, in words
    unmatched: str = ""  # the client's wish nothing fits (the nearest free day is shown instead)


@dataclass(frozen=True)
class Booked(Outcome):
    """Booked (or moved: the flow knows which it asked for)."""

    appointment: str
    when: str
    zone: str
    reminder: bool  # a reminder will come …
    reminder_soon: bool = False  # … a few hours before (booked under a day ahead), not the evening before

    @property
    def completes_service(self) -> bool:
        return True


@dataclass(frozen=True)
class AppointmentView:
    """An appointment as the client sees it."""

    id: str
    topic: str  # the topic's id
    when: str
    when_short: str


@dataclass(frozen=True)
class AppointmentsFound(Outcome):
    appointments: tuple[AppointmentView, ...]  # soonest first
    zone: str


@dataclass(frozen=True)
class NotBooked(Outcome):
    """The appointment is no longer booked (cancelled, moved, or not the client's)."""

    book_again: bool = False  # offer to book anew


@dataclass(frozen=True)
class Cancelled(Outcome):
    topic: str  # the topic's id
    when: str


EFFECTS = (OfferSlots, BookSlot, MoveAppointment, ListAppointments, FindAppointment, CancelAppointment)
