"""Appointments (R-11) end to end through the HTTP API with the real Rasa
model and real Redis: book → confirm → history → move → cancel, two clients
racing for the last place, reminders on an injected clock. The booking flow's
pure steps as tables: tests/test_booking_flow.py."""

from __future__ import annotations

import asyncio
import hashlib
import time
from datetime import UTC, datetime, timedelta
from datetime import time as dt_time

from bot.booking import texts
from bot.booking.service import reminder_key
from bot.booking.topics import load_topics
from bot.consent import keys as consent_keys
from bot.settings import ROOT
from handoff import keys as handoff_keys
from tests.chat import Chat
from tests.conftest import API_KEY
from tests.schedule_kit import KAMCHATKA, MONDAY_MORNING

KEY_ID = hashlib.sha256(API_KEY.encode()).hexdigest()[:10]
TOPICS = load_topics(ROOT / "bot" / "booking" / "topics.yaml")


def scoped(client_id: str) -> str:
    return f"api:{KEY_ID}:{client_id}"


def unique(name: str) -> str:
    return f"{name}-{time.time_ns()}"


def slot_payloads(chat: Chat) -> list[str]:
    return [b["payload"] for b in chat.buttons() if b["payload"].startswith("flow:booking:s:")]


def evening_before(epoch: int) -> datetime:
    """18:00 (local) the day before the slot: when its reminder is due (BOOKING_REMINDER_EVENING_HOUR)."""
    day = datetime.fromtimestamp(epoch, KAMCHATKA).date() - timedelta(days=1)
    return datetime.combine(day, dt_time(18), KAMCHATKA).astimezone(UTC)


def epoch_of(payload: str) -> int:
    return int(payload.rsplit(":", 1)[1])


async def test_book_confirm_history_move_and_cancel(api, runtime, booking):
    chat = Chat(api, client_id=unique("book"))
    client = scoped(chat.client_id)

    await chat.say("запишите меня на консультацию")
    assert chat.last["state"]["flow"] == "booking" and "Выберите, пожалуйста, тему" in chat.text()
    await chat.press_title("Налоги и отчётность")
    slots = slot_payloads(chat)
    assert len(slots) > 3 and any(b["payload"].startswith("flow:booking:d:") for b in chat.buttons())
    assert "понедельник, 18 марта" in chat.text() and "по камчатскому времени" in chat.text()
    first = epoch_of(slots[0])
    assert datetime.fromtimestamp(first, KAMCHATKA) == datetime(2030, 3, 18, 10, 0, tzinfo=KAMCHATKA)

    await chat.press(slots[0])  # personal data is needed now: the consent is asked first
    assert "согласие на обработку персональных данных" in chat.text()
    await chat.press("flow:booking:pd_yes")
    assert "Записать вас?" in chat.text() and "понедельник, 18 марта, 10:00" in chat.text()
    assert "онлайн" in chat.text()
    await chat.press_title("Записаться")
    assert "вы записаны" in chat.text()
    assert "напоминание" not in chat.text()  # within the hour: the confirmation is the reminder
    assert chat.last["state"]["flow"] is None
    assert [b["title"] for b in chat.buttons()][:2] == ["Перенести", "Отменить запись"]
    [appt] = await booking.book.for_client(client)
    assert (appt.topic, appt.slot, appt.status) == ("taxes", first, "booked")
    assert await booking.book.places_taken("taxes", first) == 1
    assert appt.id in [a.id for a in await booking.upcoming()]  # staff see it

    await chat.say("покажите историю моих обращений")
    history = chat.text()
    assert "запись на консультацию «Налоги и отчётность» на понедельник, 18 марта, 10:00: действует" in history
    assert "дано согласие: обработка персональных данных для записи на консультацию" in history

    await chat.press(f"flow:booking:m:{appt.id}:taxes")  # «Перенести» under the booking, pressed later
    await chat.press_title("→")
    later = slot_payloads(chat)
    assert later and all(
        datetime.fromtimestamp(epoch_of(p), KAMCHATKA).date() > datetime(2030, 3, 18).date() for p in later
    )
    await chat.press(later[-1])  # far enough ahead for a reminder the day before
    assert "Перенести вашу консультацию «Налоги и отчётность»" in chat.text()
    await chat.press_title("Перенести")
    assert "запись перенесена" in chat.text() and "Прежнее время освобождено" in chat.text()
    assert "Накануне вечером я пришлю напоминание" in chat.text()
    evening_before = datetime.combine(
        datetime.fromtimestamp(epoch_of(later[-1]), KAMCHATKA).date() - timedelta(days=1), dt_time(18), KAMCHATKA
    )
    assert await booking.book.reminder_due(appt.id) == evening_before.timestamp()
    assert await booking.book.places_taken("taxes", first) == 0
    assert await booking.book.places_taken("taxes", epoch_of(later[-1])) == 1

    await chat.say("отмените мою запись")
    assert "Ваша запись" in chat.text() and "Налоги и отчётность" in chat.text()
    await chat.press_title("Отменить запись")
    assert "Отменить запись «Налоги и отчётность»" in chat.text()
    await chat.press_title("Да, отменить")
    assert "отменена, напоминания не будет" in chat.text()
    assert await booking.book.places_taken("taxes", epoch_of(later[-1])) == 0
    assert await booking.book.reminder_due(appt.id) is None
    await chat.say("отмените мою запись")
    assert "нет предстоящих записей" in chat.text()


async def test_buttons_under_a_booking_run_aside_of_another_flow_which_comes_back(api, runtime, booking):
    chat = Chat(api, client_id=unique("aside"))
    await chat.press("flow:booking:book")
    await chat.press("flow:booking:t:taxes")
    await chat.press(slot_payloads(chat)[0])
    await chat.press("flow:booking:pd_yes")
    await chat.press_title("Записаться")
    [appt] = await booking.book.for_client(scoped(chat.client_id))

    await chat.say("перезвоните мне")  # another flow: it asks its own question
    assert chat.last["state"]["flow"] == "callback"
    callback_question = chat.last["replies"][-1]["text"]

    await chat.press(f"flow:booking:c:{appt.id}")  # «Отменить запись» under the booking
    assert "Отменить запись «Налоги и отчётность»" in chat.text()
    # the cancel question stands (a typed «да» answers it); the callback waits, not asked on top of it
    assert chat.last["state"]["flow"] == "booking" and callback_question not in chat.text()
    await chat.press("flow:booking:keep")
    assert chat.text().startswith(texts.KEEP) and chat.last["state"]["flow"] == "callback"
    assert chat.last["replies"][-1]["text"] == callback_question
    assert await booking.book.places_taken("taxes", appt.slot) == 1

    await chat.press(f"flow:booking:m:{appt.id}:taxes")  # «Перенести»: the booking goes on, the callback waits
    assert chat.last["state"]["flow"] == "booking" and callback_question not in chat.text()
    await chat.press(slot_payloads(chat)[-1])
    await chat.press_title("Перенести")
    assert "запись перенесена" in chat.text() and chat.last["replies"][-1]["text"] == callback_question
    assert chat.last["state"]["flow"] == "callback"

    await chat.press(f"flow:booking:cy:{appt.id}")
    assert "отменена, напоминания не будет" in chat.text() and chat.last["state"]["flow"] == "callback"
    assert (await booking.book.get(appt.id)).status == "cancelled"
    await chat.press("flow:callback:yes")  # the callback goes on where it was
    assert "номер телефона" in chat.text()


async def test_two_clients_race_for_the_last_place(api, runtime, booking):
    legal = TOPICS["legal"]
    assert legal.capacity == 1
    chats = [Chat(api, client_id=unique("race")) for _ in range(2)]
    for chat in chats:
        await chat.press("flow:booking:book")
        await chat.press("flow:booking:t:legal")
    offered = [slot_payloads(c) for c in chats]
    assert offered[0][0] == offered[1][0]
    for chat in chats:
        await chat.press(offered[0][0])
        await chat.press("flow:booking:pd_yes")
        assert "Записать вас?" in chat.text()

    results = await asyncio.gather(*(c.press("flow:booking:ok") for c in chats))
    texts_ = ["\n".join(r["text"] for r in res["replies"]) for res in results]
    assert sum("вы записаны" in t for t in texts_) == 1
    loser = next(t for t in texts_ if "вы записаны" not in t)
    assert "только что заняли" in loser and offered[0][0] not in [
        b["payload"]
        for res in results
        if "только что заняли" in res["replies"][0]["text"]
        for r in res["replies"]
        for b in r["buttons"]
    ]
    assert await booking.book.places_taken("legal", epoch_of(offered[0][0])) == 1


async def test_concurrent_bookings_never_exceed_capacity(runtime, booking):
    topic = TOPICS["registration"]
    slot = (
        await booking.book.free_slots(
            booking.schedule, topic, MONDAY_MORNING, after=int((MONDAY_MORNING + timedelta(days=3)).timestamp())
        )
    )[0]
    epoch = int(slot.timestamp())
    got = await asyncio.gather(
        *(
            booking.book.book(
                topic,
                epoch,
                client_id=f"c{n}",
                conversation_id=f"cv{n}",
                channel="api",
                now=MONDAY_MORNING,
                tz=KAMCHATKA,
            )
            for n in range(8)
        )
    )
    assert sum(a is not None for a in got) == topic.capacity
    assert await booking.book.places_taken(topic.id, epoch) == topic.capacity


async def test_reminder_is_queued_the_day_before_and_never_for_cancelled_or_moved(runtime, booking):
    topic, book = TOPICS["support"], booking.book
    later = int((MONDAY_MORNING + timedelta(days=7)).timestamp())
    slots = await book.free_slots(booking.schedule, topic, MONDAY_MORNING, limit=3, after=later)
    kept, cancelled, moved = [int(s.timestamp()) for s in slots]
    client = unique("remind")
    made = [
        await book.book(
            topic, e, client_id=client, conversation_id="cv", channel="api", now=MONDAY_MORNING, tz=KAMCHATKA
        )
        for e in (kept, cancelled, moved)
    ]
    assert all(made)
    assert await book.cancel(made[1].id, client, now=MONDAY_MORNING)
    new_slot = int(
        (await book.free_slots(booking.schedule, topic, MONDAY_MORNING, after=moved + 86400 * 2))[0].timestamp()
    )
    assert await book.move(made[2], topic, new_slot, now=MONDAY_MORNING, tz=KAMCHATKA) == 1

    mine = {a.id for a in made}

    async def due(now: datetime) -> list[str]:  # other tests' reminders share the queue
        return [k for k in await booking.send_due_reminders(now=now) if k.split(":")[1] in mine]

    day_before = evening_before(max(kept, cancelled, moved)) + timedelta(seconds=1)
    too_early = evening_before(min(kept, cancelled, moved)) - timedelta(minutes=1)
    assert await due(too_early) == []
    queued = await due(day_before)
    kept_appt = await book.get(made[0].id)
    assert queued == [reminder_key(kept_appt)]
    item = await runtime.redis.hgetall(consent_keys.notification(reminder_key(kept_appt)))
    assert item["category"] == "trigger" and item["scope"] == "personal_data:appointments"
    assert "Напоминаем" in item["text"] and "Меры поддержки" in item["text"]
    assert not await runtime.redis.exists(consent_keys.notification(reminder_key(await book.get(made[1].id))))
    assert await due(day_before) == []  # never twice

    moved_appt = await book.get(made[2].id)
    moved_due = evening_before(new_slot) + timedelta(seconds=1)
    assert await due(moved_due) == [reminder_key(moved_appt)]


async def test_leave_feedback_starts_the_rating(api, runtime):
    chat = Chat(api, client_id=unique("fb"))
    await chat.say("хочу оставить отзыв")
    assert chat.last["state"]["flow"] == "rating"
    assert "Оценки хранятся обезличенно" in chat.text() and "Оператор завершил" not in chat.text()
    assert [b["title"] for b in chat.buttons()][:4] == [
        "4 — Удовлетворён",
        "3 — Скорее удовлетворён",
        "2 — Скорее не удовлетворён",
        "1 — Не удовлетворён",
    ]
    await chat.press("flow:rating:s4")
    assert "насколько легко" in chat.text()
    await chat.press("flow:rating:e2")
    assert "Спасибо за оценку" in chat.text() and "улучшать" in chat.text()
    last = (await runtime.redis.xrevrange(handoff_keys.handoff_ratings(), count=1))[0][1]
    assert (last["satisfaction"], last["ease"], last["context"]) == ("4", "2", "assistant")


async def test_history_lists_questions_payments_and_consents_newest_first(api, runtime):
    chat = Chat(api, client_id=unique("hist"))
    await chat.say("покажите историю моих обращений")
    assert "Пока в истории ничего нет" in chat.text()

    await chat.say("как перейти на упрощенку")
    assert chat.answered_topic() == "usn"
    await runtime.payments.create_order(
        "ip_registration",
        client_id=scoped(chat.client_id),
        conversation_id=chat.cid,
        channel="api",
        idempotency_key=unique("k"),
    )
    await chat.press("flow:consent:g:*")
    assert "Готово" in chat.text()

    await chat.say("покажите историю моих обращений")
    text = chat.text()
    question = text.index("вопрос: «как перейти на упрощенку»")
    payment = text.index("платёж «")
    consent = text.index("дано согласие")
    assert consent < payment < question  # newest first
    assert f"→ ответ по теме «{runtime.kb['usn'].title}»" in text
    assert "Всего: 1 действие с согласиями, 1 платёж, 1 вопрос." in text
