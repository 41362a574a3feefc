"""The indicators for a period, channel and life situation, read from the day
counters the fold keeps (a hash per day), plus the operators' side the handoff
package already counts (waits before an operator per day, callbacks by slot).

`compute` is pure: counts in, indicators out (unit-tested by hand).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from redis.asyncio import Redis

from handoff import keys as handoff_keys

from . import keys
from .standard import TITLES, Indicator, graded, repeat_stars, services_with_positive_nps, share

ALL = ""  # no filter
# Measures of a whole conversation-day: not split by life situation.
CONVERSATION_MEASURES = {"requests", "handed", "handoff"}


@dataclass(frozen=True)
class Filter:
    start: date
    end: date  # inclusive
    channel: str = ALL
    situation: str = ALL

    def days(self) -> list[date]:
        return [self.start + timedelta(days=n) for n in range((self.end - self.start).days + 1)]


@dataclass
class Report:
    filter: Filter
    standard: list[Indicator]
    assistant: list[Indicator]
    weeks: list[tuple[date, list[Indicator], list[Indicator]]] = field(default_factory=list)
    channels: list[str] = field(default_factory=list)  # seen in the period, for the filter


def select(raw: Mapping[str, str], f: Filter, channels: set[str] | None = None) -> Counter[str]:
    """One day's hash → measure totals under the filter."""
    totals: Counter[str] = Counter()
    for name, value in raw.items():
        measure, channel, situation = ([*name.split("|"), "", ""])[:3]
        if channels is not None:
            channels.add(channel)
        if f.channel and channel != f.channel:
            continue
        if f.situation and (situation != f.situation or measure in CONVERSATION_MEASURES):
            continue
        totals[measure] += int(value)
    return totals


def compute(c: Mapping[str, float], min_sample: int) -> tuple[list[Indicator], list[Indicator]]:
    """The standard's indicators and the assistant's own measures from measure totals."""
    per_service = {
        name.removeprefix("nps_n:"): (
            int(c.get(f"nps_pro:{name[6:]}", 0)),
            int(c.get(f"nps_det:{name[6:]}", 0)),
            int(n),
        )
        for name, n in c.items()
        if name.startswith("nps_n:") and name != "nps_n:-"  # "-": rated with no service answered before
    }
    n = lambda measure: int(c.get(measure, 0))  # noqa: E731
    standard = [
        graded("ease", TITLES["ease"], n("ease_pos"), n("ease_n"), min_sample),
        services_with_positive_nps(per_service, min_sample),
        graded("repeat", TITLES["repeat"], n("repeat"), n("answered"), min_sample, repeat_stars),
        graded("satisfaction", TITLES["satisfaction"], n("sat_pos"), n("sat_n"), min_sample),
    ]
    nps_value = (n("nps_pro") - n("nps_det")) * 100 / n("nps_n") if n("nps_n") else None
    claimed, waited = n("claimed"), float(c.get("wait_seconds", 0))
    assistant = [
        _plain("solved", "Решено без оператора", share(n("requests") - n("handed"), n("requests")), n("requests")),
        _plain(
            "helped",
            "Ответ помог («Помогло»)",
            share(n("helped"), n("helped") + n("not_helped")),
            n("helped") + n("not_helped"),
        ),
        _plain("nps", "NPS (вопрос 0–10)", nps_value, n("nps_n"), "nps"),
        _plain("clarify", "Уточнения («Вы имели в виду…?»)", share(n("clarify"), n("asked")), n("asked")),
        _plain("options", "Предложены варианты", share(n("options"), n("asked")), n("asked")),
        _plain("out_of_scope", "Вне тематики (нет ответа)", share(n("out_of_scope"), n("asked")), n("asked")),
        _plain("handoffs", "Запросы оператора", float(n("handoff")), n("handoff"), "count"),
        _plain("wait", "Среднее ожидание оператора", waited / claimed if claimed else None, claimed, "seconds"),
        _plain(
            "callbacks_kept",
            "Обратные звонки выполнены",
            share(n("callbacks_done"), n("callbacks_due")),
            n("callbacks_due"),
        ),
    ]
    return standard, assistant


def _plain(key: str, title: str, value: float | None, sample: int, kind: str = "share") -> Indicator:
    return Indicator(key, title, value, sample, None, kind)


class Reader:
    def __init__(self, redis: Redis, zone: ZoneInfo, min_sample: int, *, operators: bool = True):
        self.redis = redis
        self.zone = zone
        self.min_sample = min_sample
        self.operators = operators  # the handoff package counts waits and callbacks

    def today(self) -> date:
        return datetime.now(self.zone).date()

    async def report(self, f: Filter) -> Report:
        days = f.days()
        pipe = self.redis.pipeline(transaction=False)
        for d in days:
            pipe.hgetall(keys.indicator_day(d.strftime("%Y%m%d")))
        # the handoff package counts waits per UTC day (not per channel or situation): read by the
        # same date, they may be up to the zone's offset off at the period's edges
        if self.operators and not f.channel and not f.situation:
            for d in days:
                pipe.hgetall(handoff_keys.handoff_stats(d.strftime("%Y%m%d")))
        raw = await pipe.execute()
        channels: set[str] = set()
        per_day = [select(h, f, channels) for h in raw[: len(days)]]
        for totals, stats in zip(per_day, raw[len(days) :], strict=False):
            totals["claimed"] += int(float(stats.get("claimed", 0)))
            totals["wait_seconds"] += int(float(stats.get("wait_seconds", 0)))
        if self.operators and not f.situation:
            await self._callbacks(f, days, per_day)
        total: Counter[str] = sum(per_day, Counter())
        standard, assistant = compute(total, self.min_sample)
        weeks: dict[date, Counter[str]] = {}
        for d, totals in zip(days, per_day, strict=True):
            weeks.setdefault(d - timedelta(days=d.weekday()), Counter()).update(totals)
        return Report(
            f,
            standard,
            assistant,
            [(week, *compute(counts, self.min_sample)) for week, counts in sorted(weeks.items())],
            sorted(channels - {"?"}),
        )

    async def _callbacks(self, f: Filter, days: list[date], per_day: list[Counter[str]]) -> None:
        """Callbacks whose time has come in the period: made (done) or not; cancelled ones aside."""
        start = datetime.combine(f.start, datetime.min.time(), self.zone).timestamp()
        end = min(datetime.combine(f.end + timedelta(days=1), datetime.min.time(), self.zone).timestamp(), time.time())
        ids = await self.redis.zrangebyscore(handoff_keys.callbacks(), start, end)
        pipe = self.redis.pipeline(transaction=False)
        for cid in ids:
            pipe.hmget(handoff_keys.callback(cid), "status", "channel", "slot")
        index = {d: i for i, d in enumerate(days)}
        for status, channel, slot in await pipe.execute():
            if status not in ("booked", "done") or (f.channel and channel != f.channel) or not slot:
                continue
            i = index.get(datetime.fromtimestamp(int(slot), self.zone).date())
            if i is not None:
                per_day[i]["callbacks_due"] += 1
                per_day[i]["callbacks_done"] += status == "done"
