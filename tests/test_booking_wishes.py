"""The client's words about when to come (bot/booking/wishes.py) and when a
reminder goes (bot/booking/store.remind_at): pure, as tables."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from bot.booking.store import remind_at
from bot.booking.wishes import read_wish
from tests.schedule_kit import KAMCHATKA

H = 60


@pytest.mark.parametrize(
    "text, said, fields",
    [
        ("в четверг после обеда", "в четверг после обеда", {"weekday": 3, "start": 13 * H}),
        ("завтра утром", "завтра утром", {"offset": 1, "end": 12 * H}),
        ("а можно послезавтра вечером?", "послезавтра вечером", {"offset": 2, "start": 16 * H}),
        ("20 марта после 15", "20 марта после 15:00", {"day": 20, "month": 3, "start": 15 * H}),
        ("запишите на 25.03 к 11", "25 марта в 11:00", {"day": 25, "month": 3, "start": 11 * H, "end": 12 * H}),
        ("в пятницу в 10", "в пятницу в 10:00", {"weekday": 4, "start": 10 * H, "end": 11 * H}),
        ("после 3", "после 15:00", {"start": 15 * H}),
        ("в 9 утра", "в 9:00", {"start": 9 * H, "end": 10 * H}),
        ("в понедельник до обеда", "в понедельник до обеда", {"weekday": 0, "end": 13 * H}),
        ("во вторник", "во вторник", {"weekday": 1}),
        ("в среду", "в среду", {"weekday": 2}),
    ],
)
def test_days_and_times_are_read_from_the_words(text, said, fields):
    wish = read_wish(text)
    assert wish is not None and wish.said == said
    for name, value in fields.items():
        assert getattr(wish, name) == value, name


@pytest.mark.parametrize("text", ["налоги", "запишите меня на консультацию", "не знаю", "", "оператор", "среднее"])
def test_words_without_a_day_or_time_are_no_wish(text):
    assert read_wish(text) is None


def test_a_wish_fits_slots_by_day_and_time():
    today = date(2030, 3, 18)  # Monday
    thursday_afternoon = read_wish("в четверг после обеда")
    assert thursday_afternoon.fits(datetime(2030, 3, 21, 13, 0, tzinfo=KAMCHATKA), today)
    assert not thursday_afternoon.fits(datetime(2030, 3, 21, 12, 30, tzinfo=KAMCHATKA), today)
    assert not thursday_afternoon.fits(datetime(2030, 3, 20, 15, 0, tzinfo=KAMCHATKA), today)
    tomorrow = read_wish("завтра утром")
    assert tomorrow.fits(datetime(2030, 3, 19, 9, 0, tzinfo=KAMCHATKA), today)
    assert not tomorrow.fits(datetime(2030, 3, 18, 10, 0, tzinfo=KAMCHATKA), today)
    assert thursday_afternoon.hours_only() == read_wish("после обеда")
    assert read_wish("в четверг").hours_only() is None


MONDAY_9 = datetime(2030, 3, 18, 9, 0, tzinfo=KAMCHATKA)


@pytest.mark.parametrize(
    "slot, due",
    [
        # two days ahead: the evening before, 18:00 local
        (datetime(2030, 3, 20, 10, 0, tzinfo=KAMCHATKA), datetime(2030, 3, 19, 18, 0, tzinfo=KAMCHATKA)),
        # booked under 24 h ahead: 3 hours before
        (datetime(2030, 3, 18, 15, 0, tzinfo=KAMCHATKA), datetime(2030, 3, 18, 12, 0, tzinfo=KAMCHATKA)),
        (datetime(2030, 3, 19, 8, 30, tzinfo=KAMCHATKA), datetime(2030, 3, 19, 5, 30, tzinfo=KAMCHATKA)),
        # too soon even for that: the booking's confirmation is the reminder
        (datetime(2030, 3, 18, 11, 0, tzinfo=KAMCHATKA), None),
    ],
)
def test_a_reminder_goes_the_evening_before_or_hours_before_a_booking_within_a_day(slot, due):
    got = remind_at(int(slot.timestamp()), MONDAY_9, KAMCHATKA, evening_hour=18, soon_hours=3)
    assert got == (due.timestamp() if due else None)
