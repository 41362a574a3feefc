"""Folding the anonymized streams into per-day counters, incrementally.

The turn events (`events:turns`) and the ratings (`{handoff}:ratings`) are read
from where the last fold stopped, a batch at a time; each batch adds to the
day's counters (`<measure>|<channel>|<life situation>`), updates what is
remembered of each anonymized conversation and moves the cursor in one
transaction, so a page view reads a few hashes instead of every event, and a
crash never counts a batch twice. One replica folds at a time (a lock); the
others read the counters as they are.

Measures a turn adds to:
  asked, act, clarify, options, out_of_scope   questions the assistant decided on
  helped, not_helped                           «Помогло» / «Не помогло»
  handoff                                      requests for an operator
  requests, handed                             conversation-days, and those with a handoff
  answered, repeat                             a topic answered (once per conversation and
                                               day), and answered again within 4 weeks
A rating adds to sat_n/sat_pos, ease_n/ease_pos, nps_n/nps_pro/nps_det and the
per-topic nps_n:<topic> … (the standard's #3 is per service).
"""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import date, datetime
from zoneinfo import ZoneInfo

from redis.asyncio import Redis
from redis.exceptions import WatchError

from bot.store import keys as core_keys
from handoff import keys as handoff_keys

from . import keys
from .standard import nps_class

BATCH = 500
REPEAT_DAYS = 28  # «в течение 4 недель»
QUESTION_DECISIONS = ("act", "clarify", "options", "out_of_scope")
TOPIC_BUTTONS = {"button:faq", "button:ok", "button:nok"}  # their payload names a topic

RELEASE = keys.INDICATORS.script(
    "release",
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0",
)

Counts = Counter[tuple[str, str]]  # (yyyymmdd, "measure|channel|situation") → n
Conv = dict[str, str]


def field(measure: str, channel: str, situation: str = "") -> str:
    return f"{measure}|{channel}|{situation}"


class Fold:
    def __init__(self, redis: Redis, situations: Mapping[str, str], zone: ZoneInfo):
        self.redis = redis
        self.situations = situations  # topic id → life situation
        self.zone = zone

    def day_of(self, ts: float) -> date:
        return datetime.fromtimestamp(ts, self.zone).date()

    async def catch_up(self) -> int:
        """Fold whatever arrived since the last time; returns how many entries (0 when
        another replica is folding right now: its counts will be there in a moment)."""
        token = secrets.token_hex(8)
        lock = keys.indicator_lock()
        if not await self.redis.set(lock, token, nx=True, px=keys.LOCK_TTL_MS):
            return 0
        try:
            folded = await self._stream(core_keys.events(), self.turn)
            folded += await self._stream(handoff_keys.handoff_ratings(), self.rating)
        finally:
            await self.redis.eval(RELEASE, 1, lock, token)
        return folded

    async def _stream(self, stream: str, fold: Callable[[dict[str, str], Counts, dict[str, Conv]], None]) -> int:
        total = 0
        cursor_key = keys.indicator_cursor(stream.removeprefix(core_keys.PREFIX))
        while True:
            async with self.redis.pipeline(transaction=True) as pipe:
                # the cursor is watched: should another folder commit a batch meanwhile (a lock
                # that expired), this one is dropped and read again, never counted twice
                await pipe.watch(cursor_key)
                last = await pipe.get(cursor_key) or "0-0"
                entries = await self.redis.xrange(stream, min=f"({last}", count=BATCH)
                if not entries:
                    return total
                convs = await self._convs({e.get("conv", "") for _, e in entries} - {""})
                before = {anon: dict(c) for anon, c in convs.items()}
                counts: Counts = Counter()
                for _id, event in entries:
                    fold(event, counts, convs)
                pipe.multi()
                for (day, name), n in counts.items():
                    pipe.hincrby(keys.indicator_day(day), name, n)
                for day in {d for d, _ in counts}:
                    pipe.expire(keys.indicator_day(day), 800 * 24 * 3600)  # two years of reports
                for anon, conv in convs.items():
                    if anon and conv and conv != before.get(anon):
                        pipe.hset(keys.indicator_conv(anon), mapping=conv)
                        pipe.expire(keys.indicator_conv(anon), keys.CONV_TTL_S)
                pipe.set(cursor_key, entries[-1][0])
                try:
                    await pipe.execute()
                except WatchError:
                    continue
            total += len(entries)

    async def _convs(self, anons: set[str]) -> dict[str, Conv]:
        ordered = sorted(anons)
        pipe = self.redis.pipeline(transaction=False)
        for anon in ordered:
            pipe.hgetall(keys.indicator_conv(anon))
        return dict(zip(ordered, await pipe.execute(), strict=True))

    # ------------------------------------------------------------ one entry
    def turn(self, e: dict[str, str], counts: Counts, convs: dict[str, Conv]) -> None:
        when = self.day_of(float(e.get("ts") or 0))
        day, today = when.strftime("%Y%m%d"), str(when.toordinal())
        channel, decision = e.get("channel") or "?", e.get("decision", "")
        topic = e.get("faq_id", "") if decision in QUESTION_DECISIONS else ""
        if decision in TOPIC_BUTTONS:
            topic = ([*e.get("payload", "").split(":"), ""])[1]
        situation = self.situations.get(topic, "")

        def add(measure: str, where: str = situation) -> None:
            counts[day, field(measure, channel, where)] += 1

        if decision == "rate_limited":
            return
        if decision in QUESTION_DECISIONS:
            add("asked")
            add(decision)
        if decision in ("button:ok", "resolved:yes"):
            add("helped")
        elif decision in ("button:nok", "resolved:no"):
            add("not_helped")
        conv = convs.setdefault(e.get("conv", ""), {})
        if conv.get("d") != today:
            conv["d"] = today
            add("requests", "")
        if decision == "handoff":
            add("handoff", "")
            if conv.get("h") != today:
                conv["h"] = today
                add("handed", "")
        answered = topic and (decision == "act" or decision == "button:faq")
        if answered and conv.get(f"t:{topic}") != today:
            previous = conv.get(f"t:{topic}")
            conv[f"t:{topic}"] = today
            add("answered")
            if previous and int(today) - int(previous) <= REPEAT_DAYS:
                add("repeat")

    def rating(self, e: dict[str, str], counts: Counts, convs: dict[str, Conv]) -> None:
        day = self.day_of(float(e.get("ts") or 0)).strftime("%Y%m%d")
        channel, topic = e.get("channel") or "?", e.get("topic", "")
        situation = self.situations.get(topic, "")

        def add(measure: str) -> None:
            counts[day, field(measure, channel, situation)] += 1

        for scale in ("satisfaction", "ease"):
            score = e.get(scale, "")
            if score in ("1", "2", "3", "4"):
                short = "sat" if scale == "satisfaction" else "ease"
                add(f"{short}_n")
                if int(score) >= 3:
                    add(f"{short}_pos")
        score = e.get("nps", "")
        if score.isdigit() and 0 <= int(score) <= 10:
            kind = nps_class(int(score))
            for suffix in ("", f":{topic or '-'}"):
                add(f"nps_n{suffix}")
                if kind != "passive":
                    add(f"nps_{kind[:3]}{suffix}")
