"""Time and hours for tests: a clock the test moves, operators on duty around
the clock or in office hours, and fixed moments to book against."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import yaml

from handoff.schedule import Schedule

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
KAMCHATKA = ZoneInfo("Asia/Kamchatka")
ALWAYS_OPEN = "timezone: Asia/Kamchatka\ntimezone_title: по камчатскому времени\nweek:\n" + "".join(
    f"  {d}: ['00:00-24:00']\n" for d in DAYS
)
ALWAYS = Schedule.model_validate(yaml.safe_load(ALWAYS_OPEN))
OFFICE = Schedule.model_validate(
    {
        "timezone": "Asia/Kamchatka",
        "timezone_title": "по камчатскому времени",
        "week": {d: ["09:00-18:00"] for d in DAYS[:5]},
    }
)
# Monday 18 March 2030, 9:00 in Kamchatka: the operators' office (handoff/schedule.yaml) is open.
MONDAY_MORNING = datetime(2030, 3, 18, 9, 0, tzinfo=KAMCHATKA).astimezone(UTC)
SATURDAY_NOON = datetime(2026, 11, 28, 0, 0, tzinfo=UTC)  # 12:00 in Kamchatka


class Clock:
    """A clock the test sets and moves (`clock.now += timedelta(...)`)."""

    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now
