"""The quality indicators end to end: clients talk to the assistant through the
HTTP API (real Rasa, a Redis of this module's own so the counts are exact), an
operator serves one of them, both rate the service; a supervisor then reads the
indicators in the console, filters them and downloads CSV and XLSX. Nothing a
client said reaches the counters, the page or the files."""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import re
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import httpx
import openpyxl
import pytest
import pytest_asyncio

from bot.analytics import main as analytics_main
from bot.indicators import keys as indicator_keys
from bot.indicators.service import Indicators
from bot.store import keys as core_keys
from bot.store.redis_server import EmbeddedRedis
from handoff.users import Role
from tests.chat import Chat
from tests.conftest import API_KEY, serving
from tests.console_kit import browser_sign_in, signed_in
from tests.test_handoff_flow import scoped

PERSONAL = "Меня зовут Иванов Пётр, телефон +7 914 555 12 34, какая завтра погода"


@pytest_asyncio.fixture
async def site(tmp_path, settings, rasa_url, retriever):
    """The app on a Redis of its own (and that Redis's address), NPS asked, levels from 2 ratings on."""
    redis = EmbeddedRedis(tmp_path / "redis").start()
    try:
        async with serving(
            tmp_path, settings, redis.url, rasa_url, retriever, indicators_min_sample=2, rating_ask_nps=True
        ) as (runtime, base):
            yield runtime, base, redis.url
    finally:
        redis.stop()


async def rate(chat: Chat, satisfaction: int, ease: int, nps: int) -> None:
    for payload in (f"flow:rating:s{satisfaction}", f"flow:rating:e{ease}", f"flow:rating:n{nps}"):
        await chat.press(payload)
    assert "Спасибо за оценку" in chat.text()


def table(rows: list[tuple]) -> dict[str, tuple]:
    """Indicator title → (value, sample, level) from export rows (section, title, value, sample, level)."""
    return {row[1]: (row[2], row[3], row[4]) for row in rows if row and row[0] in ("Стандарт, таблица 1", "Помощник")}


async def test_indicators_from_real_conversations_on_the_page_and_in_the_exports(site):
    runtime, base, _ = site
    handoff = runtime.handoff
    async with httpx.AsyncClient(base_url=base, headers={"X-Api-Key": API_KEY}, timeout=60) as api:
        # A: answered, «Помогло», then feedback the client chose to leave
        a = Chat(api)
        await a.say("как перейти на усн")
        assert a.answered_topic() == "usn"
        await a.press("ok:usn")
        await a.press("do:leave_feedback")
        await rate(a, 4, 4, 10)
        # B: answered, «Не помогло», an operator, rated after the operator
        b = Chat(api)
        await b.say("как зарегистрировать ип")
        topic_b = b.answered_topic()
        assert topic_b and topic_b != "usn"
        await b.press(f"nok:{topic_b}")
        await b.say("соедините меня с оператором")
        assert b.kinds() == ["handoff"]
        await handoff.claim("anna", scoped(b))
        await handoff.resolve("anna", scoped(b))
        await rate(b, 2, 1, 3)
        # C: off-topic, with personal data in it
        c = Chat(api)
        await c.say("какая завтра погода в москве")
        assert c.answered_topic() is None
        await c.say(PERSONAL)  # (it offers a callback: a phone was mentioned)

    async with httpx.AsyncClient(base_url=base, timeout=60, follow_redirects=False) as web:
        await signed_in(web, runtime.redis, "olga", "a long enough password", Role.operator)
        refused = await web.get("/console/indicators")
        assert refused.status_code == 403 and "руководитель смены" in refused.text
        assert (await web.get("/console/indicators.xlsx")).status_code == 403

    async with httpx.AsyncClient(base_url=base, timeout=60, follow_redirects=False) as web:
        await signed_in(web, runtime.redis, "vera", "a long enough password", Role.supervisor)
        page = await web.get("/console/indicators")
        assert page.status_code == 200, page.text[:300]
        html = page.text
        assert "Показатели качества" in html and 'href="/console/indicators.xlsx?' in html
        assert "ниже 1 звезды" in html and "★★★★★" in html  # ease 50 % of 2; no repeats among 2 answers
        again = Indicators(runtime.redis, runtime.kb, runtime.settings)
        assert await again.fold.catch_up() == 0  # the page folded everything: a view reads counters only

        book = openpyxl.load_workbook(io.BytesIO((await web.get("/console/indicators.xlsx")).content))
        assert book.sheetnames == ["Показатели", "По неделям"]
        got = table([tuple(r) for r in book["Показатели"].iter_rows(values_only=True)])
        assert got["Простота (оценки «Легко» и «Скорее легко») (%)"] == (50.0, 2, "ниже 1 звезды")
        assert got["Удовлетворённость (оценки «Удовлетворён» и «Скорее удовлетворён») (%)"] == (
            50.0,
            2,
            "ниже 1 звезды",
        )
        assert got["Доля услуг с положительным NPS (%)"] == (50.0, 2, "ниже 1 звезды")  # usn +100, the other −100
        assert got["Повторные запросы той же услуги в течение 4 недель (%)"] == (0.0, 2, "★★★★★")
        assert got["Решено без оператора (%)"][:2] == (66.7, 3)  # A and C without an operator, B with
        assert got["Ответ помог («Помогло») (%)"][:2] == (50.0, 2)
        assert got["NPS (вопрос 0–10)"][:2] == (0.0, 2)  # one promoter, one detractor
        assert got["Запросы оператора"][:2] == (1.0, 1)
        assert got["Среднее ожидание оператора (с)"][1] == 1
        off_topic, asked = got["Вне тематики (нет ответа) (%)"][:2]
        assert asked >= 2 and off_topic == round(100 / asked, 1)  # C's question, of those the assistant decided on

        # one life situation: usn's (taxes) has one rating — too few for a level
        taxes = await web.get("/console/indicators.csv", params={"situation": "taxes"})
        assert taxes.headers["content-type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(taxes.content.decode("utf-8-sig")), delimiter=";"))
        assert "ситуация: taxes" in rows[0][0]
        ease = table([tuple(r) for r in rows])["Простота (оценки «Легко» и «Скорее легко») (%)"]
        assert ease == ("100,0", "1", "мало данных")
        # another channel: nothing at all, and still no level
        other = await web.get("/console/indicators", params={"channel": "telegram"})
        assert other.status_code == 200 and other.text.count("мало данных") >= 4
        bad = await web.get("/console/indicators", params={"start": "вчера"})
        assert bad.status_code == 200 and "Не удалось прочитать период" in bad.text

        # nothing the client said is in the counters, the page or the files
        stored = [
            json.dumps(await runtime.redis.hgetall(key), ensure_ascii=False)
            async for key in runtime.redis.scan_iter(f"{indicator_keys.INDICATORS.prefix}*")
            if await runtime.redis.type(key) == "hash"
        ]
        xlsx_text = json.dumps([list(r) for ws in book for r in ws.iter_rows(values_only=True)], ensure_ascii=False)
        for text in (*stored, html, taxes.text, xlsx_text):
            assert "Иванов" not in text and "555 12 34" not in text and "погода" not in text


async def test_a_topic_answered_again_within_four_weeks_is_a_repeat(site):
    """The fold on real turn events of one conversation, moved in time: a second
    answer of the same topic on a later day within 28 days is a repeat; the same
    day is not counted twice; after 4 weeks it is a new request."""
    runtime, base, _ = site
    async with httpx.AsyncClient(base_url=base, headers={"X-Api-Key": API_KEY}, timeout=60) as api:
        chat = Chat(api)
        await chat.say("как перейти на усн")
        assert chat.answered_topic() == "usn"
    events = [e for _, e in await runtime.redis.xrange(core_keys.events())]
    answer = next(e for e in events if e["decision"] == "act" and e["faq_id"] == "usn")
    fold = Indicators(runtime.redis, runtime.kb, runtime.settings).fold
    counts: Counter = Counter()
    convs: dict = {}
    day = timedelta(days=1).total_seconds()
    for shift in (0, 0.01, 10, 10.02, 45, 60):  # days after the first answer
        fold.turn({**answer, "ts": str(float(answer["ts"]) + shift * day)}, counts, convs)
    totals = Counter()
    for (_, name), n in counts.items():
        totals[name.split("|")[0]] += n
    # answered on days 0, 10, 45 and 60; repeats: day 10 (10 after 0) and day 60 (15 after 45)
    assert (totals["answered"], totals["repeat"]) == (4, 2)
    assert all(name.split("|")[2] == "taxes" for _, name in counts if name.startswith("answered"))


async def test_the_cli_prints_the_indicators_and_writes_the_files(site, tmp_path, capsys):
    runtime, base, redis_url = site
    async with httpx.AsyncClient(base_url=base, headers={"X-Api-Key": API_KEY}, timeout=60) as api:
        chat = Chat(api)
        await chat.say("как перейти на усн")
        await chat.press("do:leave_feedback")
        await rate(chat, 3, 2, 8)
    options = argparse.Namespace(
        start=None, end=None, channel="api", situation="", csv=str(tmp_path / "r.csv"), xlsx=str(tmp_path / "r.xlsx")
    )
    settings = runtime.settings.model_copy(update={"redis_url": redis_url})
    assert await analytics_main(settings, options) == 0
    out = capsys.readouterr().out
    assert "канал: api" in out and "Простота (оценки «Легко» и «Скорее легко»): 0,0 % · 1 · мало данных" in out
    assert "Удовлетворённость (оценки «Удовлетворён» и «Скорее удовлетворён»): 100,0 % · 1 · мало данных" in out
    rows = list(csv.reader(io.StringIO((tmp_path / "r.csv").read_text("utf-8-sig")), delimiter=";"))
    assert table([tuple(r) for r in rows])["NPS (вопрос 0–10)"][:2] == ("0,0", "1")  # 8 is a passive
    assert openpyxl.load_workbook(tmp_path / "r.xlsx").sheetnames == ["Показатели", "По неделям"]


CHROMIUM = "/usr/bin/chromium"


@pytest.mark.e2e
@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian chromium is not installed")
async def test_a_supervisor_filters_sees_the_charts_and_downloads_the_xlsx_in_the_browser(site, tmp_path):
    from playwright.async_api import async_playwright, expect

    from tests.test_console_e2e import ARGS

    runtime, base, _ = site
    await runtime.handoff.users.add("vera", "a long enough password", Role.supervisor)
    async with httpx.AsyncClient(base_url=base, headers={"X-Api-Key": API_KEY}, timeout=60) as api:
        chat = Chat(api)
        await chat.say("как перейти на усн")
        await chat.press("do:leave_feedback")
        await rate(chat, 4, 3, 9)
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        page = await browser.new_page(accept_downloads=True)
        try:
            await browser_sign_in(page, base, "vera", "a long enough password")
            await page.get_by_role("link", name="Показатели").first.click()
            await expect(page.get_by_role("heading", name="Показатели качества")).to_be_visible()
            await page.get_by_label("Жизненная ситуация").select_option("taxes")
            await page.get_by_role("button", name="Показать").click()
            await expect(page).to_have_url(re.compile(r"situation=taxes"))
            ease = page.locator('#standard tr[data-key="ease"]')
            await expect(ease).to_contain_text("100,0 %")
            await expect(ease).to_contain_text("мало данных")  # one rating, two needed for a level
            chart = page.get_by_role("img", name="Простота («Легко» и «Скорее легко»)")
            await expect(chart).to_be_visible()
            await expect(chart.locator("circle.point")).to_have_count(1)  # this week only
            await page.screenshot(path=str(tmp_path / "indicators.png"), full_page=True)
            async with page.expect_download() as info:
                await page.get_by_role("link", name="Скачать XLSX").click()
            download = await info.value
            assert download.suggested_filename.endswith(".xlsx")
            saved = tmp_path / download.suggested_filename
            await download.save_as(saved)
            book = openpyxl.load_workbook(saved)
            got = table([tuple(r) for r in book["Показатели"].iter_rows(values_only=True)])
            assert got["Простота (оценки «Легко» и «Скорее легко») (%)"] == (100.0, 1, "мало данных")
            assert "ситуация: taxes" in book["Показатели"]["A1"].value
        finally:
            await browser.close()


async def test_callbacks_kept_counts_the_calls_an_operator_marked_made(site):
    """Two callbacks whose time has come (booked three days ago for the next free
    slots): an operator marks one made in the console; the supervisor's indicators
    count 1 of 2 kept."""
    runtime, base, _ = site
    callbacks = runtime.handoff.callbacks
    booked_at = datetime.now(UTC) - timedelta(days=3)
    made, missed = [
        await callbacks.book(client_id=f"api:cb{i}", phone="+79145551234", channel="api", now=booked_at)
        for i in range(2)
    ]
    assert made and missed and max(made.slot, missed.slot) < time.time()
    async with httpx.AsyncClient(base_url=base, timeout=60, follow_redirects=False) as web:
        token = await signed_in(web, runtime.redis, "olga", "a long enough password", Role.operator)
        assert made.id in (await web.get("/console/callbacks")).text
        done = await web.post(f"/console/callbacks/{made.id}/done", data={"csrf": token})
        assert done.status_code == 303 and "Отмечено" in (await web.get(done.headers["location"])).text
    async with httpx.AsyncClient(base_url=base, timeout=60, follow_redirects=False) as web:
        await signed_in(web, runtime.redis, "vera", "a long enough password", Role.supervisor)
        period = {
            "start": (booked_at - timedelta(days=1)).date().isoformat(),
            "end": (date.today() + timedelta(days=1)).isoformat(),
        }
        csv_page = await web.get("/console/indicators.csv", params=period)
        rows = list(csv.reader(io.StringIO(csv_page.content.decode("utf-8-sig")), delimiter=";"))
        assert table([tuple(r) for r in rows])["Обратные звонки выполнены (%)"][:2] == ("50,0", "2")
