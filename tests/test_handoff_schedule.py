"""Working hours (timezone, holidays, extra working days) and callback slot
booking against a real Redis."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import pytest_asyncio

from bot.settings import ROOT
from bot.store import connect
from handoff.callbacks import CallbackBook
from handoff.schedule import Schedule, ScheduleError, load_schedule

KAM = ZoneInfo("Asia/Kamchatka")  # UTC+12


def schedule(**extra) -> Schedule:
    data = {
        "timezone": "Asia/Kamchatka",
        "timezone_title": "по камчатскому времени",
        "week": {d: ["09:00-18:00"] for d in ("mon", "tue", "wed", "thu")} | {"fri": ["09:00-13:00", "14:00-17:00"]},
        "holidays": ["2026-11-04"],
        **extra,
    }
    return Schedule.model_validate(data)


def at(y, m, d, hh, mm=0, tz=KAM) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=tz)


@pytest.mark.parametrize(
    "moment, open_",
    [
        (at(2026, 11, 23, 9, 0), True),  # Monday 09:00 local
        (at(2026, 11, 23, 8, 59), False),
        (at(2026, 11, 23, 18, 0), False),  # the end is exclusive
        (at(2026, 11, 27, 13, 30), False),  # Friday lunch break
        (at(2026, 11, 27, 14, 0), True),
        (at(2026, 11, 28, 12, 0), False),  # Saturday
        (at(2026, 11, 4, 12, 0), False),  # holiday (a Wednesday)
        # Monday 09:30 in Kamchatka is Sunday 21:30 UTC: the zone decides, not UTC
        (datetime(2026, 11, 22, 21, 30, tzinfo=UTC), True),
        (datetime(2026, 11, 23, 8, 0, tzinfo=UTC), False),  # Monday 20:00 local
    ],
)
def test_open_hours_in_the_schedule_zone(moment, open_):
    assert schedule().is_open(moment) is open_


def test_an_extra_working_saturday_is_open():
    s = schedule(extra_workdays={"2026-11-28": ["10:00-14:00"]})
    assert s.is_open(at(2026, 11, 28, 11))
    assert not s.is_open(at(2026, 11, 28, 15))


def test_next_opening_skips_the_weekend_and_holidays_and_is_said_in_words():
    s = schedule(holidays=["2026-11-30"])
    friday_evening = at(2026, 11, 27, 18)
    nxt = s.next_open(friday_evening)
    assert nxt == at(2026, 12, 1, 9)  # Monday is a holiday → Tuesday
    assert s.when(nxt, friday_evening) == "1 декабря в 9:00"
    assert s.when(at(2026, 11, 28, 9), friday_evening) == "завтра в 9:00"


def test_schedule_is_described_for_clients():
    assert schedule().describe() == (
        "пн–чт с 9:00 до 18:00, пт с 9:00 до 13:00, с 14:00 до 17:00 (по камчатскому времени)"
    )


def test_timezone_can_be_overridden_by_settings(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("timezone: Asia/Kamchatka\nweek:\n  mon: ['09:00-18:00']\n", encoding="utf-8")
    s = load_schedule(path, "Europe/Moscow")
    assert s.timezone == "Europe/Moscow"
    assert s.is_open(datetime(2026, 11, 23, 6, 30, tzinfo=UTC))  # 09:30 Moscow


@pytest.mark.parametrize(
    "text, words",
    [
        ("timezone: Mars/Olympus\n", "unknown timezone"),
        ("week:\n  monday: ['09:00-18:00']\n", "unknown day"),
        ("week:\n  mon: ['18:00-09:00']\n", "ends before it starts"),
        ("week:\n  mon: ['9 to 6']\n", "must look like"),
    ],
)
def test_bad_schedule_files_name_the_problem(tmp_path, text, words):
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ScheduleError) as exc:
        load_schedule(path)
    assert words in str(exc.value) and str(path) in str(exc.value)


def test_the_shipped_schedule_loads():
    s = load_schedule(ROOT / "handoff" / "schedule.yaml")
    assert s.week and date(2026, 1, 1) in s.holidays


def test_slots_lie_inside_working_hours_after_the_lead_time():
    s = schedule()
    slots = list(s.slots(at(2026, 11, 27, 11, 50), 30, timedelta(minutes=30)))[:5]
    assert slots == [
        at(2026, 11, 27, 12, 30),
        at(2026, 11, 27, 14),
        at(2026, 11, 27, 14, 30),
        at(2026, 11, 27, 15),
        at(2026, 11, 27, 15, 30),
    ]


@pytest_asyncio.fixture
async def redis(redis_server):
    client = connect(redis_server.url.replace("db=0", "db=4"))
    await client.flushdb()
    yield client
    await client.flushdb()
    await client.aclose()


async def test_callbacks_fill_slots_up_to_capacity_and_move_on(redis):
    book = CallbackBook(redis, schedule(), slot_minutes=30, capacity=2, lead_minutes=30)
    now = at(2026, 11, 27, 16, 0)  # Friday 16:00: only 16:30 is left today
    results = await asyncio.gather(
        *(book.book(client_id=f"c{i}", phone="+79141234567", channel="api", now=now) for i in range(5))
    )
    slots = sorted(r.slot for r in results)
    first = int(at(2026, 11, 27, 16, 30).timestamp())
    monday = int(at(2026, 11, 30, 9).timestamp())
    assert slots == [first, first, monday, monday, monday + 1800]
    # 9:30 still has one place of two
    assert await book.free_slots(now, 2) == [at(2026, 11, 30, 9, 30), at(2026, 11, 30, 10)]


async def test_a_chosen_slot_is_booked_only_while_free_and_inside_working_hours(redis):
    book = CallbackBook(redis, schedule(), slot_minutes=30, capacity=1, lead_minutes=30)
    now = at(2026, 11, 23, 10, 0)
    slot = at(2026, 11, 23, 11, 0)
    first = await book.book(client_id="a", phone="+79141234567", channel="voice", now=now, slot=slot)
    assert first and first.slot == int(slot.timestamp())
    assert await book.book(client_id="b", phone="+79141234568", channel="api", now=now, slot=slot) is None
    assert (
        await book.book(client_id="b", phone="+79141234568", channel="api", now=now, slot=at(2026, 11, 23, 20, 0))
        is None
    )  # after hours
    assert (
        await book.book(client_id="b", phone="+79141234568", channel="api", now=now, slot=at(2026, 11, 23, 10, 0))
        is None
    )  # sooner than the lead time
    assert [c.id for c in await book.upcoming()] == [first.id]
    assert await book.mark_done(first.id, "anna") and not await book.mark_done(first.id, "anna")
    assert await book.upcoming() == []
    assert (await book.upcoming(include_done=True))[0].done_by == "anna"
