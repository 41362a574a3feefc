"""Operator working hours (R-17): a timezone-aware weekly schedule with
holidays, loaded from YAML and checked by pydantic.

Everything takes `now` explicitly, so tests and callers decide the clock.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from bot.core.texts import MONTHS

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_TITLES = ("пн", "вт", "ср", "чт", "пт", "сб", "вс")


# How clients are told the time zone: «по камчатскому времени». A zone not
# listed is named by its offset («по времени UTC+3»).
ZONE_TITLES = {
    "Europe/Kaliningrad": "по калининградскому времени",
    "Europe/Moscow": "по московскому времени",
    "Europe/Simferopol": "по московскому времени",
    "Europe/Kirov": "по московскому времени",
    "Europe/Volgograd": "по московскому времени",
    "Europe/Samara": "по самарскому времени",
    "Europe/Ulyanovsk": "по самарскому времени",
    "Europe/Saratov": "по самарскому времени",
    "Europe/Astrakhan": "по самарскому времени",
    "Asia/Yekaterinburg": "по екатеринбургскому времени",
    "Asia/Omsk": "по омскому времени",
    "Asia/Novosibirsk": "по новосибирскому времени",
    "Asia/Barnaul": "по красноярскому времени",
    "Asia/Tomsk": "по красноярскому времени",
    "Asia/Novokuznetsk": "по красноярскому времени",
    "Asia/Krasnoyarsk": "по красноярскому времени",
    "Asia/Irkutsk": "по иркутскому времени",
    "Asia/Chita": "по якутскому времени",
    "Asia/Yakutsk": "по якутскому времени",
    "Asia/Khandyga": "по якутскому времени",
    "Asia/Vladivostok": "по владивостокскому времени",
    "Asia/Ust-Nera": "по владивостокскому времени",
    "Asia/Magadan": "по магаданскому времени",
    "Asia/Sakhalin": "по магаданскому времени",
    "Asia/Srednekolymsk": "по магаданскому времени",
    "Asia/Kamchatka": "по камчатскому времени",
    "Asia/Anadyr": "по камчатскому времени",
}


def zone_title(timezone: str, now: datetime | None = None) -> str:
    """«по московскому времени» for a zone clients know by name, else «по времени UTC+5»."""
    if timezone in ZONE_TITLES:
        return ZONE_TITLES[timezone]
    offset = (now or datetime.now(UTC)).astimezone(ZoneInfo(timezone)).utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    sign, minutes = ("+" if minutes >= 0 else "−"), abs(minutes)
    hours = f"{minutes // 60}" + (f":{minutes % 60:02d}" if minutes % 60 else "")
    return f"по времени UTC{sign}{hours}"


class ScheduleError(ValueError):
    pass


class Interval(BaseModel):
    start: time
    end: time  # 24:00 is written as "24:00" and stored as time.max

    @classmethod
    def parse(cls, text: str) -> Interval:
        try:
            a, b = (part.strip() for part in text.split("-"))
            start = time.fromisoformat(a)
            end = time.max if b == "24:00" else time.fromisoformat(b)
        except ValueError as exc:
            raise ValueError(f'interval {text!r} must look like "09:00-18:00"') from exc
        if end <= start:
            raise ValueError(f"interval {text!r} ends before it starts")
        return cls(start=start, end=end)

    def label(self) -> str:
        end = "24:00" if self.end == time.max else f"{self.end.hour}:{self.end.minute:02d}"
        return f"с {self.start.hour}:{self.start.minute:02d} до {end}"


def _intervals(value: list[str]) -> list[Interval]:
    return sorted((Interval.parse(v) for v in value), key=lambda i: i.start)


class Schedule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    timezone: str = "Asia/Kamchatka"
    timezone_title: str = ""
    week: dict[str, list[Interval]] = Field(default_factory=dict)
    holidays: set[date] = Field(default_factory=set)
    extra_workdays: dict[date, list[Interval]] = Field(default_factory=dict)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown timezone {value!r}; use an IANA name like Asia/Kamchatka") from exc
        return value

    @model_validator(mode="after")
    def _title(self) -> Schedule:
        if not self.timezone_title:
            self.timezone_title = zone_title(self.timezone)
        return self

    @field_validator("week", mode="before")
    @classmethod
    def _week(cls, value: dict) -> dict:
        unknown = set(value or {}) - set(DAYS)
        if unknown:
            raise ValueError(f"unknown day(s) {sorted(unknown)}; use {', '.join(DAYS)}")
        return {day: _intervals(v) if v and isinstance(v[0], str) else v for day, v in (value or {}).items()}

    @field_validator("extra_workdays", mode="before")
    @classmethod
    def _extra(cls, value: dict) -> dict:
        return {d: _intervals(v) if v and isinstance(v[0], str) else v for d, v in (value or {}).items()}

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    # ------------------------------------------------------------- queries
    def intervals_on(self, day: date) -> list[Interval]:
        if day in self.extra_workdays:
            return self.extra_workdays[day]
        if day in self.holidays:
            return []
        return self.week.get(DAYS[day.weekday()], [])

    def is_open(self, now: datetime) -> bool:
        local = _aware(now).astimezone(self.zone)
        t = local.time()
        return any(
            i.start <= t < i.end or (i.end == time.max and t >= i.start) for i in self.intervals_on(local.date())
        )

    def periods(self, now: datetime, days: int = 14):
        """Working periods (start, end) in the zone, from `now` on, in order."""
        local = _aware(now).astimezone(self.zone)
        for offset in range(days + 1):
            day = local.date() + timedelta(days=offset)
            for interval in self.intervals_on(day):
                start = datetime.combine(day, interval.start, self.zone)
                end = (
                    datetime.combine(day + timedelta(days=1), time(0), self.zone)
                    if interval.end == time.max
                    else datetime.combine(day, interval.end, self.zone)
                )
                if end > local:
                    yield max(start, local), end

    def next_open(self, now: datetime) -> datetime | None:
        """When operators are next at work (now if they are)."""
        return next((start for start, _ in self.periods(now)), None)

    def slots(self, now: datetime, minutes: int, lead: timedelta, days: int = 14):
        """Slot starts inside working hours, aligned to `minutes`, at least `lead` after now."""
        earliest = _aware(now).astimezone(self.zone) + lead
        step = timedelta(minutes=minutes)
        for start, end in self.periods(earliest, days):
            day_start = datetime.combine(start.date(), time(0), self.zone)
            n = -(-int((start - day_start).total_seconds()) // (minutes * 60))  # ceil to the grid
            slot = day_start + n * step
            while slot + step <= end:
                yield slot
                slot += step

    # --------------------------------------------------------------- words
    def describe(self) -> str:
        """«пн–чт с 9:00 до 18:00, пт с 9:00 до 17:00 (по камчатскому времени)»."""
        groups: list[tuple[list[int], str]] = []
        for n, day in enumerate(DAYS):
            label = ", ".join(i.label() for i in self.week.get(day, []))
            if not label:
                continue
            if groups and groups[-1][1] == label and groups[-1][0][-1] == n - 1:
                groups[-1][0].append(n)
            else:
                groups.append(([n], label))
        parts = []
        for days, label in groups:
            name = DAY_TITLES[days[0]] if len(days) == 1 else f"{DAY_TITLES[days[0]]}–{DAY_TITLES[days[-1]]}"
            parts.append(f"{name} {label}")
        text = ", ".join(parts) or "по предварительной записи"
        return f"{text} ({self.timezone_title})" if self.timezone_title else text

    def when(self, moment: datetime, now: datetime) -> str:
        """«сегодня в 14:30», «завтра в 9:00», «25 ноября в 9:00»."""
        local, today = moment.astimezone(self.zone), _aware(now).astimezone(self.zone).date()
        hm = f"{local.hour}:{local.minute:02d}"
        if local.date() == today:
            return f"сегодня в {hm}"
        if local.date() == today + timedelta(days=1):
            return f"завтра в {hm}"
        return f"{local.day} {MONTHS[local.month - 1]} в {hm}"


def _aware(now: datetime) -> datetime:
    return now if now.tzinfo else now.replace(tzinfo=UTC)


def load_schedule(path: Path, timezone_override: str = "") -> Schedule:
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ScheduleError(f"{path}: cannot read the schedule: {exc}") from exc
    if timezone_override and timezone_override != data.get("timezone"):
        # The file's words name the file's zone: with another zone they would tell
        # clients the wrong time («по камчатскому времени» for Moscow hours).
        data["timezone"] = timezone_override
        data["timezone_title"] = ""
    try:
        return Schedule.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise ScheduleError(f"{path}: {problems}") from exc
