"""When the client would like to come, from their own words (pure):
«в четверг после обеда», «завтра утром», «20 марта после 15», «в пятницу в 10».

The day is kept relative («завтра», a weekday, a date without a year) and the
time as a window of start times; the booking service resolves them against
today in the schedule's zone (handlers.py). A small parser of our own: the
phrases clients use for a consultation are few, and a general date parser
reads «в четверг» as last Thursday or misses the part of the day.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from pydantic import BaseModel, ConfigDict

from . import texts

DAY_END = 24 * 60
WEEKDAY_STEMS = (
    r"понедельник\w*",
    r"вторник\w*",
    r"сред[ауы]",
    r"четверг\w*",
    r"пятниц\w*",
    r"суббот\w*",
    r"воскресень\w*",
)
WEEKDAY_IN = ("в понедельник", "во вторник", "в среду", "в четверг", "в пятницу", "в субботу", "в воскресенье")
MONTH_STEMS = ("янв", "фев", "мар", "апр", "ма[яй]", "июн", "июл", "авг", "сен", "окт", "ноя", "дек")
# Parts of the day: (pattern, earliest start, latest start (exclusive), in words).
PARTS: tuple[tuple[str, int, int, str], ...] = (
    (r"после\s+обеда|во\s+второй\s+половине|пополудни", 13 * 60, DAY_END, "после обеда"),
    (r"до\s+обеда|в\s+первой\s+половине", 0, 13 * 60, "до обеда"),
    (r"в\s+обед|обеденн", 12 * 60, 14 * 60, "в обед"),
    (r"утр[оаму]|с\s+утра|утречком", 0, 12 * 60, "утром"),
    (r"\bдн[её]м\b", 12 * 60, 17 * 60, "днём"),
    (r"вечер", 16 * 60, DAY_END, "вечером"),
)
HOUR = r"(\d{1,2})(?::(\d{2}))?"  # «15», «15:30» («15.03» is a date)


class Wish(BaseModel):
    """A preferred day and time window; None fields mean «any»."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    said: str  # in words, to say back: «в четверг после обеда»
    offset: int | None = None  # days after today: сегодня 0, завтра 1, послезавтра 2
    weekday: int | None = None  # 0 = Monday
    month: int | None = None
    day: int | None = None
    start: int = 0  # earliest start, minutes after midnight
    end: int = DAY_END  # latest start (exclusive)

    @property
    def has_day(self) -> bool:
        return self.offset is not None or self.weekday is not None or self.day is not None

    def hours_only(self) -> Wish | None:
        """The time window alone (paging to another day keeps «после обеда», not «в четверг»)."""
        if (self.start, self.end) == (0, DAY_END):
            return None
        return Wish(said=_time_words(self.start, self.end), start=self.start, end=self.end)

    def fits(self, local: datetime, today: date) -> bool:
        """Does a slot starting at `local` (the schedule's zone) fit the wish?"""
        minutes = local.hour * 60 + local.minute
        if not self.start <= minutes < self.end:
            return False
        d = local.date()
        if self.offset is not None and d != today + timedelta(days=self.offset):
            return False
        if self.weekday is not None and d.weekday() != self.weekday:
            return False
        return not (self.day is not None and (d.day, d.month) != (self.day, self.month))


def _hm(minutes: int) -> str:
    return f"{minutes // 60}:{minutes % 60:02d}"


def _time_words(start: int, end: int) -> str:
    for _, s, e, words in PARTS:
        if (s, e) == (start, end):
            return words
    if end == DAY_END:
        return f"после {_hm(start)}"
    if start == 0:
        return f"до {_hm(end)}"
    if end - start == 60:
        return f"в {_hm(start)}"
    return f"с {_hm(start)} до {_hm(end)}"


def _hour(text: str, minutes: str | None, tail: str) -> int | None:
    h, m = int(text), int(minutes or 0)
    if h > 23 or m > 59:
        return None
    if h < 8 and re.match(r"\s*(час\w*\s+)?(дня|вечера)", tail):
        h += 12
    elif 1 <= h <= 7 and not re.match(r"\s*(час\w*\s+)?утра", tail):
        h += 12  # «после 3» at a consultation means the afternoon
    return h * 60 + m


def _hours(low: str) -> tuple[int, int]:
    """An explicit time: «после 15», «до 12:30», «в 10», «к 9 утра»."""
    start, end = 0, DAY_END
    after = re.search(rf"\b(?:после|позже|с)\s+{HOUR}(?![.\d])(.*)", low)
    before = re.search(rf"\b(?:до|раньше)\s+{HOUR}(?![.\d])(.*)", low)
    at = re.search(rf"\b(?:в|к|на)\s+{HOUR}(?![.\d]|\s+(?:{'|'.join(MONTH_STEMS)}))(.*)", low)
    if after and (h := _hour(after.group(1), after.group(2), after.group(3))) is not None:
        start = h
    if before and (h := _hour(before.group(1), before.group(2), before.group(3))) is not None:
        end = h
    if not (after or before) and at and (h := _hour(at.group(1), at.group(2), at.group(3))) is not None:
        start, end = h, h + 60
    return start, end


def read_wish(text: str | None) -> Wish | None:
    """The day and time the words ask for, or None when they name neither."""
    low = (text or "").lower().replace("ё", "е")
    if not low.strip():
        return None
    fields: dict[str, int] = {}
    day_words = ""
    if re.search(r"\bпослезавтра\b", low):
        fields["offset"], day_words = 2, "послезавтра"
    elif re.search(r"\bзавтра\b", low):
        fields["offset"], day_words = 1, "завтра"
    elif re.search(r"\bсегодня\b", low):
        fields["offset"], day_words = 0, "сегодня"
    if not day_words:
        for n, stem in enumerate(WEEKDAY_STEMS):
            if re.search(rf"\b{stem}\b", low):
                fields["weekday"], day_words = n, WEEKDAY_IN[n]
                break
    if not day_words:
        for n, stem in enumerate(MONTH_STEMS):
            found = re.search(rf"\b(\d{{1,2}})\s+{stem}\w*", low)
            if found and 1 <= int(found.group(1)) <= 31:
                fields["day"], fields["month"] = int(found.group(1)), n + 1
                day_words = f"{int(found.group(1))} {texts.MONTHS[n]}"
                break
        found = re.search(r"\b(\d{1,2})\.(\d{1,2})\b(?!\.\d)", low)
        if not day_words and found and 1 <= int(found.group(1)) <= 31 and 1 <= int(found.group(2)) <= 12:
            fields["day"], fields["month"] = int(found.group(1)), int(found.group(2))
            day_words = f"{fields['day']} {texts.MONTHS[fields['month'] - 1]}"
    start, end = _hours(low)
    if (start, end) == (0, DAY_END):
        for pattern, s, e, _ in PARTS:
            if re.search(pattern, low):
                start, end = s, e
                break
    if not day_words and (start, end) == (0, DAY_END):
        return None
    said = " ".join(w for w in (day_words, _time_words(start, end) if (start, end) != (0, DAY_END) else "") if w)
    return Wish(said=said, start=start, end=end, **fields)


BARE_TIME = re.compile(r"^\s*(?:на\s+|в\s+|к\s+)?(\d{1,2}:\d{2})\s*[.!]?\s*$")


def typed_wish(text: str | None) -> Wish | None:
    """`read_wish`, and a time typed alone («14:30»: the start the client wants, as «в 14:30»)."""
    bare = BARE_TIME.match((text or "").lower())
    return read_wish(f"в {bare.group(1)}") if bare else read_wish(text)
