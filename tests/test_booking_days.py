"""Issue 13, bookings: the whole working day is offered, a day at a time with
paging; the client's own words («в четверг после обеда», «завтра утром») pick
the slots; a reminder goes the evening before, or a few hours before for a
booking under a day ahead; consultants see today's and upcoming bookings in the
console and the CLI and mark attended / no-show. Through the HTTP API, the
console over HTTP and the CLI as a subprocess, on a fixed clock (Monday 18 March
2030, 9:00 in Kamchatka; office hours from handoff/schedule.yaml)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest_asyncio

from bot.app import create_app
from bot.booking.service import reminder_key
from bot.consent import keys as consent_keys
from bot.runtime import Runtime
from bot.settings import ROOT
from tests.chat import Chat
from tests.conftest import API_KEY
from tests.console_kit import csrf_of, signed_in
from tests.schedule_kit import KAMCHATKA, MONDAY_MORNING, Clock


def local(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, KAMCHATKA)


def slots(chat: Chat) -> list[int]:
    return [int(b["payload"].rsplit(":", 1)[1]) for b in chat.buttons() if b["payload"].startswith("flow:booking:s:")]


def day_button(chat: Chat, arrow: str) -> dict:
    return next(b for b in chat.buttons() if b["payload"].startswith("flow:booking:d:") and arrow in b["title"])


@pytest_asyncio.fixture(scope="module")
async def app(settings, redis_server, rasa_url, retriever):
    runtime = await Runtime.create(settings, redis_server.url, rasa_url, retriever)
    clock = Clock(MONDAY_MORNING)
    runtime.booking.clock = clock
    transport = httpx.ASGITransport(app=create_app(runtime))
    async with httpx.AsyncClient(transport=transport, base_url="http://assistant", headers={"X-Api-Key": API_KEY}) as c:
        yield runtime, c, clock
    await runtime.close()


@pytest_asyncio.fixture
async def at_monday(app):
    runtime, api, clock = app
    clock.now = MONDAY_MORNING
    return runtime, api, clock


def client(name: str) -> str:
    return f"{name}-{time.time_ns()}"


async def _start(api, topic: str = "taxes", name: str = "days") -> Chat:
    chat = Chat(api, client_id=client(name))
    await chat.press("flow:booking:book")
    await chat.press(f"flow:booking:t:{topic}")
    return chat


async def _book(chat: Chat, epoch: int) -> str:
    await chat.press(f"flow:booking:s:{epoch}")
    if "согласие на обработку персональных данных" in chat.text():
        await chat.press("flow:booking:pd_yes")
    await chat.press_title("Записаться")
    assert "вы записаны" in chat.text(), chat.text()
    return chat.text()


# --------------------------------------------------------------------- slots
async def test_the_whole_working_day_is_offered_with_paging_by_day(at_monday):
    _runtime, api, _ = at_monday
    chat = await _start(api)
    monday = [local(e) for e in slots(chat)]
    assert monday[0].strftime("%d %H:%M") == "18 10:00"  # an hour's lead from 9:00
    assert monday[-1].strftime("%H:%M") == "17:30" and {t.day for t in monday} == {18}  # to the end of the day
    assert "понедельник, 18 марта" in chat.text() and "10:00" in [b["title"] for b in chat.buttons()]
    await chat.press(day_button(chat, "→")["payload"])
    tuesday = [local(e) for e in slots(chat)]
    assert tuesday[0].strftime("%d %H:%M") == "19 09:00" and tuesday[-1].strftime("%H:%M") == "17:30"
    assert "вторник, 19 марта" in chat.text()
    await chat.press(day_button(chat, "←")["payload"])
    assert [local(e) for e in slots(chat)] == monday

    # A slot whose places are all taken is not offered (taxes: one consultant).
    full = int(tuesday[2].timestamp())
    other = await _start(api, name="taker")
    await other.press(day_button(other, "→")["payload"])
    await _book(other, full)
    await chat.press(day_button(chat, "→")["payload"])
    assert full not in slots(chat) and int(tuesday[3].timestamp()) in slots(chat)


async def test_the_clients_words_choose_the_day_and_time(at_monday):
    _runtime, api, _ = at_monday
    chat = await _start(api)
    await chat.say("в четверг после обеда")
    thursday = [local(e) for e in slots(chat)]
    assert thursday and {t.date().isoformat() for t in thursday} == {"2030-03-21"}
    assert all(t.hour >= 13 for t in thursday) and "в четверг после обеда" in chat.text()
    await chat.say("а завтра утром?")
    morning = [local(e) for e in slots(chat)]
    assert {t.day for t in morning} == {19} and all(t.hour < 12 for t in morning) and morning
    await _book(chat, int(morning[0].timestamp()))

    # Said with the request, before the topic is known.
    first = Chat(api, client_id=client("wish"))
    await first.say("запишите меня на консультацию в четверг после обеда")
    assert first.last["state"]["flow"] == "booking" and "в четверг после обеда" in first.text()
    await first.press("flow:booking:t:support")
    assert {local(e).day for e in slots(first)} == {21} and all(local(e).hour >= 13 for e in slots(first))


# ----------------------------------------------------------------- reminders
async def test_reminders_the_evening_before_or_hours_before_a_booking_within_a_day(at_monday):
    runtime, api, _clock = at_monday
    svc = runtime.booking
    soon_chat = await _start(api, name="soon")
    today_15 = next(e for e in slots(soon_chat) if local(e).hour == 15)
    said = await _book(soon_chat, today_15)
    assert "За несколько часов до начала" in said
    [soon] = await svc.book.for_client(_scoped(soon_chat))
    assert await svc.book.reminder_due(soon.id) == today_15 - 3 * 3600

    later_chat = await _start(api, name="later")
    await later_chat.say("в среду в 10")
    wednesday_10 = slots(later_chat)[0]
    assert local(wednesday_10) == datetime(2030, 3, 20, 10, 0, tzinfo=KAMCHATKA)
    said = await _book(later_chat, wednesday_10)
    assert "Накануне вечером" in said
    [later] = await svc.book.for_client(_scoped(later_chat))
    evening = datetime(2030, 3, 19, 18, 0, tzinfo=KAMCHATKA)
    assert await svc.book.reminder_due(later.id) == evening.timestamp()

    mine = {soon.id, later.id}

    async def due(now: datetime) -> list[str]:
        return [k for k in await svc.send_due_reminders(now=now) if k.split(":")[1] in mine]

    assert await due(datetime.fromtimestamp(today_15 - 3 * 3600 - 60, UTC)) == []
    assert await due(datetime.fromtimestamp(today_15 - 3 * 3600 + 1, UTC)) == [reminder_key(soon)]
    assert await due((evening - timedelta(minutes=1)).astimezone(UTC)) == []
    assert await due((evening + timedelta(seconds=1)).astimezone(UTC)) == [reminder_key(later)]
    item = await runtime.redis.hgetall(consent_keys.notification(reminder_key(later)))
    assert "Напоминаем" in item["text"] and "среда, 20 марта, 10:00" in item["text"]


def _scoped(chat: Chat) -> str:
    import hashlib

    return f"api:{hashlib.sha256(API_KEY.encode()).hexdigest()[:10]}:{chat.client_id}"


# ----------------------------------------------------------- consultants
async def test_consultants_see_bookings_and_mark_attended_or_no_show(at_monday, redis_server):
    runtime, api, clock = at_monday
    chat = await _start(api, name="visit")
    eleven = next(e for e in slots(chat) if local(e).hour == 11)
    await _book(chat, eleven)
    [appt] = await runtime.booking.book.for_client(_scoped(chat))

    async with httpx.AsyncClient(transport=api._transport, base_url="http://assistant") as web:
        await signed_in(web, runtime.redis, "consultant13", "consultant-password-13")
        page = await web.get("/console/bookings")
        assert page.status_code == 200 and "Сегодня, понедельник, 18 марта" in page.text
        assert "Налоги и отчётность" in page.text and _scoped(chat) in page.text and "11:00" in page.text
        assert f"/console/bookings/{appt.id}/visit" not in page.text  # not started yet: nothing to mark
        clock.now = datetime.fromtimestamp(eleven + 600, UTC)
        page = await web.get("/console/bookings")
        assert f"/console/bookings/{appt.id}/visit" in page.text
        done = await web.post(
            f"/console/bookings/{appt.id}/visit", data={"csrf": csrf_of(page.text), "status": "attended"}
        )
        after = await web.get(done.headers["location"])
        assert "Отмечено: пришёл" in after.text and "consultant13" in after.text
        forged = await web.post(f"/console/bookings/{appt.id}/visit", data={"csrf": "x", "status": "no_show"})
        assert forged.status_code == 403
    marked = await runtime.booking.book.get(appt.id)
    assert (marked.status, marked.visit_by) == ("attended", "consultant13")

    env = {**os.environ, "REDIS_URL": redis_server.url}

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "bot.booking", *args], capture_output=True, text=True, env=env, cwd=ROOT, timeout=60
        )

    listed = cli("today", "--day", "2030-03-18")
    assert listed.returncode == 0, listed.stderr
    line = next(x for x in listed.stdout.splitlines() if appt.id in x)
    assert "11:00" in line and "Налоги и отчётность" in line and "пришёл" in line
    corrected = cli("mark", appt.id, "no_show", "--by", "Петров")
    assert corrected.returncode == 0 and "не пришёл" in corrected.stdout, corrected.stderr
    assert (await runtime.booking.book.get(appt.id)).status == "no_show"
    assert cli("mark", "nosuch", "attended", "--by", "Петров").returncode == 1
