"""The standard's indicators (section 6, table 1, #2–5): the arithmetic and the
star levels against hand-computed examples, empty and tiny samples included
(«мало данных», never a level); the rating flow's optional NPS question."""

from __future__ import annotations

import dataclasses
from collections import Counter
from datetime import UTC, datetime

import pytest

from bot.flows.base import FlowContext, FlowEvent
from bot.indicators.report import Filter, compute, select
from bot.indicators.standard import (
    FEW,
    Indicator,
    graded,
    nps,
    repeat_stars,
    services_with_positive_nps,
    share_stars,
)
from handoff.rating import RatingFlow, SaveRating


@pytest.mark.parametrize(
    "percent, stars",
    [(0, 0), (50.0, 0), (50.1, 1), (60.0, 1), (60.1, 2), (70.1, 3), (80.0, 3), (80.1, 4), (90.0, 4), (90.1, 5),
     (100, 5)],
)  # fmt: skip
def test_share_levels_follow_table_1(percent, stars):
    assert share_stars(percent / 100) == stars


def test_a_share_is_read_to_one_decimal_of_a_percent_as_the_standard_writes_it():
    assert share_stars(601 / 1000) == 2  # 60,1 %
    assert share_stars(6009 / 10000) == 2  # 60,09 % is 60,1 % as written
    assert share_stars(6004 / 10000) == 1  # 60,04 % is 60,0 %


@pytest.mark.parametrize(
    "percent, stars", [(15, 0), (10.0, 0), (9.99, 1), (7.0, 1), (6.9, 2), (4.0, 2), (3.9, 3), (1.0, 3), (0.99, 4),
                       (0.5, 4), (0.49, 5), (0, 5)],
)  # fmt: skip
def test_fewer_repeat_requests_more_stars(percent, stars):
    assert repeat_stars(percent / 100) == stars


def test_hand_computed_ease_of_40_ratings():
    # 40 ratings: 12 «Легко» + 19 «Скорее легко» = 31 good → 77,5 % → 3 stars
    ease = graded("ease", "Простота", 31, 40, min_sample=30)
    assert ease.value == pytest.approx(0.775) and ease.stars == 3
    assert ease.shown() == "77,5 %" and ease.level == "★★★☆☆"


def test_empty_and_tiny_samples_show_few_data_never_a_level():
    empty = graded("ease", "Простота", 0, 0, min_sample=30)
    assert empty.value is None and empty.stars is None and empty.shown() == "—" and empty.level == FEW
    tiny = graded("satisfaction", "Удовлетворённость", 5, 5, min_sample=30)  # 100 %, but 5 ratings
    assert tiny.value == 1.0 and tiny.stars is None and tiny.level == FEW
    below = graded("ease", "Простота", 10, 30, min_sample=30)  # 33,3 % of enough ratings
    assert below.stars == 0 and below.level == "ниже 1 звезды"


def test_nps_is_promoters_minus_detractors():
    # 10 answers: 5 promoters (9–10), 3 passives (7–8), 2 detractors (0–6) → +30
    assert nps(5, 2, 10) == pytest.approx(30.0)
    assert nps(0, 0, 0) is None
    assert Indicator("nps", "NPS", -12.5, 8, None, "nps").shown() == "-12"


def test_share_of_services_with_positive_nps():
    per_service = {
        "usn": (6, 1, 10),  # +50
        "register_ip": (2, 2, 6),  # 0: not positive
        "patent": (1, 3, 5),  # −40
        "microloan": (9, 0, 9),  # +100
        "lease_property": (0, 0, 0),  # nobody answered: not a rated service
    }
    indicator = services_with_positive_nps(per_service, min_sample=30)
    assert indicator.value == pytest.approx(2 / 4) and indicator.sample == 30 and indicator.stars == 0
    assert services_with_positive_nps(per_service, min_sample=31).stars is None  # 30 answers are too few
    assert services_with_positive_nps({}, min_sample=1).level == FEW


def test_compute_from_counts():
    counts = Counter(
        {
            "ease_n": 40, "ease_pos": 37,  # 92,5 % → 5 stars
            "sat_n": 40, "sat_pos": 26,  # 65 % → 2 stars
            "answered": 200, "repeat": 3,  # 1,5 % → 3 stars
            "requests": 50, "handed": 10,  # 80 % solved without an operator
            "helped": 9, "not_helped": 3,
            "asked": 100, "clarify": 10, "options": 5, "out_of_scope": 15, "handoff": 12,
            "claimed": 4, "wait_seconds": 300,
            "callbacks_due": 4, "callbacks_done": 3,
            "nps_n": 4, "nps_pro": 2, "nps_det": 1,
            "nps_n:usn": 2, "nps_pro:usn": 2, "nps_n:-": 2, "nps_det:-": 1,  # "-" is no service
        }
    )  # fmt: skip
    standard, assistant = compute(counts, min_sample=30)
    by_key = {i.key: i for i in standard + assistant}
    assert [by_key[k].stars for k in ("ease", "satisfaction", "repeat")] == [5, 2, 3]
    assert by_key["nps_services"].stars is None  # 2 answers about a service: «мало данных»
    assert (by_key["nps_services"].value, by_key["nps_services"].sample) == (1.0, 2)
    assert by_key["solved"].value == pytest.approx(0.8)
    assert by_key["helped"].value == pytest.approx(0.75)
    assert by_key["out_of_scope"].value == pytest.approx(0.15)
    assert by_key["wait"].shown() == "1 мин 15 с"
    assert by_key["callbacks_kept"].value == pytest.approx(0.75)
    assert by_key["nps"].shown() == "+25"
    assert by_key["handoffs"].shown() == "12"


def test_a_filter_picks_channel_and_situation_and_leaves_whole_conversations_out_of_situations():
    day = {"asked|api|taxes": "3", "asked|telegram|taxes": "2", "asked|api|": "1", "requests|api|": "4"}
    f = Filter(datetime(2026, 11, 1).date(), datetime(2026, 11, 1).date())
    assert select(day, f) == Counter({"asked": 6, "requests": 4})
    assert select(day, Filter(f.start, f.end, channel="api")) == Counter({"asked": 4, "requests": 4})
    assert select(day, Filter(f.start, f.end, situation="taxes")) == Counter({"asked": 5})


CTX = FlowContext(conversation_id="c", client_id="u", channel="api", profile={}, now=datetime(2026, 11, 23, tzinfo=UTC))


def _saved(step) -> tuple:
    """The ratings saved, without the anonymous reference that ties a later comment to them."""
    return tuple(dataclasses.replace(e, ref="") for e in step.effects)


def test_the_optional_nps_question_comes_after_the_two_scales():
    flow = RatingFlow(ask_nps=True)
    first = flow.after_operator("anna", None)
    second = flow.step(first.state, FlowEvent(payload="s4"), CTX)
    third = flow.step(second.state, FlowEvent(payload="e3"), CTX)
    assert third.state is not None and third.state.step == "nps" and third.effects == ()
    titles = [b.title for b in third.replies[0].buttons]
    assert titles == [str(n) for n in range(11)] + ["Пропустить"]
    done = flow.step(third.state, FlowEvent(payload="n9"), CTX)
    assert _saved(done) == (SaveRating(satisfaction=4, ease=3, operator="anna", nps=9),)
    assert done.state is not None and done.state.step == "comment"  # then the optional comment
    skipped = flow.step(third.state, FlowEvent(payload="skip"), CTX)  # the two ratings are kept
    assert _saved(skipped) == (SaveRating(satisfaction=4, ease=3, operator="anna"),)
    unclear = flow.step(third.state, FlowEvent(text="11"), CTX)
    assert unclear.state == third.state and "от 0 до 10" in unclear.replies[0].text
    typed = flow.step(third.state, FlowEvent(text="0"), CTX)
    assert _saved(typed) == (SaveRating(satisfaction=4, ease=3, operator="anna", nps=0),)


def test_without_the_setting_no_nps_is_asked_after_ease():
    flow = RatingFlow()
    first = flow.after_operator("", None)
    second = flow.step(first.state, FlowEvent(payload="s2"), CTX)
    third = flow.step(second.state, FlowEvent(payload="e1"), CTX)
    assert _saved(third) == (SaveRating(2, 1, ""),) and third.state is not None and third.state.step == "comment"


async def test_two_folds_at_once_count_every_event_once(tmp_path, settings):
    """Should two replicas fold together (the lock expired mid-fold), the watched cursor
    drops the later batch and reads it again: no event is counted twice."""
    import asyncio
    from zoneinfo import ZoneInfo

    from bot.indicators import keys as indicator_keys
    from bot.indicators.fold import Fold
    from bot.store import connect
    from bot.store import keys as core_keys
    from bot.store.events import EventLog
    from bot.store.redis_server import EmbeddedRedis
    from knowledge_base.loader import load_knowledge_base

    server = EmbeddedRedis(tmp_path / "redis").start()
    redis = connect(server.url)
    try:
        log = EventLog(redis, "salt")
        for n in range(1200):  # three batches
            await log.turn(conversation_id=f"c{n % 7}", channel="api", text=None, payload=None,
                           intent="faq__usn", faq_id="usn", confidence=0.9, ranking=[], reply_kinds=["answer"],
                           decision="act", latency_ms=1.0)  # fmt: skip
        kb = load_knowledge_base(settings.kb_dir)
        folds = [Fold(redis, {t: kb[t].life_situation for t in kb.ids()}, ZoneInfo("UTC")) for _ in range(2)]
        await asyncio.gather(*(f._stream(core_keys.events(), f.turn) for f in folds))
        days = [k async for k in redis.scan_iter(f"{indicator_keys.INDICATORS.prefix}day:*")]
        asked = 0
        for key in days:
            asked += sum(int(v) for f, v in (await redis.hgetall(key)).items() if f.startswith("asked|"))
        assert asked == 1200
    finally:
        await redis.aclose()
        server.stop()
