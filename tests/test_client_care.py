"""Issue 13, «Others», through the HTTP API (and the console): consent for an individual
service (§4.5.4.1 form 2), the history with applications and callbacks but no form
answers, the operator who introduces themselves (§4.6.8.2), and the time-zone label
that follows HANDOFF_TIMEZONE."""

from __future__ import annotations

import hashlib
import time
from urllib.parse import quote

import httpx
import pytest
import yaml

from bot.app import create_app
from bot.consent.ledger import Ledger
from bot.runtime import Runtime
from handoff import keys as handoff_keys
from handoff.users import UserStore
from tests.chat import Chat
from tests.conftest import API_KEY
from tests.console_kit import csrf_of, signed_in, wait_for
from tests.schedule_kit import SATURDAY_NOON, Clock

KEY_ID = hashlib.sha256(API_KEY.encode()).hexdigest()[:10]


def scoped(name: str) -> str:
    return f"api:{KEY_ID}:{name}"


async def test_a_client_consents_to_messages_about_one_service(api, runtime):
    chat = Chat(api, client_id="service-consent")
    await chat.press("do:give_consent")
    await chat.press_title("Об отдельной услуге")
    assert "flow:consent:cs:grant_young" in [b["payload"] for b in chat.buttons()]
    await chat.press("flow:consent:cs:grant_young")
    assert "Прошу подтвердить согласие" in chat.text() and "«Грант молодым предпринимателям»" in chat.text()
    await chat.say("согласна")
    assert "Готово" in chat.text() and "Грант молодым предпринимателям" in chat.text()
    state = await Ledger(runtime.redis).state(scoped("service-consent"))
    grant = state.grants["service:grant_young"]
    assert grant.text_id == "proactive_service" and grant.channel == "api"
    await chat.say("мои согласия")
    assert "Грант молодым предпринимателям" in chat.text()


async def test_an_operator_offers_the_consent_for_a_service_and_the_client_gives_it(served, redis_server):
    runtime, base = served
    cid = f"offer{int(time.time() * 1000)}"
    async with httpx.AsyncClient(base_url=base, headers={"X-Api-Key": API_KEY}, timeout=30) as client:
        handed = (
            await client.post(f"/api/v1/conversations/{cid}/messages", json={"text": "соедините с оператором"})
        ).json()
        assert handed["state"]["with_operator"] is True
        async with httpx.AsyncClient(base_url=base, timeout=30, follow_redirects=True) as web:
            token = await signed_in(web, runtime.redis, "olga", "operator olga password")
            full = scoped(cid)
            await web.post("/console/claim", data={"csrf": token, "cid": full})
            page = await web.get(f"/console/c/{quote(full, safe='')}")
            assert "Предложить клиенту согласие" in page.text
            sent = await web.post(
                f"/console/c/{quote(full, safe='')}/consent-service",
                data={"csrf": csrf_of(page.text), "service": "microloan"},
            )
            assert sent.status_code == 200 and "Согласие появится, когда клиент его подтвердит" in sent.text
        assert not (await Ledger(runtime.redis).state(full)).grants  # the operator cannot give it for them

        async def offered():
            got = (await client.get(f"/api/v1/conversations/{cid}/messages")).json()["replies"]
            return [r for r in got if "Прошу подтвердить согласие" in r["text"]]

        [offer] = await wait_for(offered, "the consent text in the client's channel")
        agree = next(b["payload"] for b in offer["buttons"] if "Согласен" in b["title"])
        await client.post(f"/api/v1/conversations/{cid}/messages", json={"payload": agree})
    assert "service:microloan" in (await Ledger(runtime.redis).state(full)).grants


async def test_history_lists_applications_and_callbacks_but_not_form_answers(api, runtime, handoff):
    chat = Chat(api, client_id="history-client")
    client_id = scoped("history-client")
    await chat.say("как открыть ип")
    await chat.say("хочу подать заявку на консультацию")
    await chat.press_title("Согласен")
    await chat.say("Константинопольская Мария Игоревна")  # a form's answer, not a question
    await chat.press("do:cancel")
    app, _ = await runtime.applications.create(
        form="consultation",
        title="Заявка на консультацию",
        client_id=client_id,
        conversation_id=scoped(chat.cid),
        channel="api",
        answers={"full_name": "Константинопольская Мария Игоревна"},
        review_days=5,
        submit_key=f"history-{time.time()}",
    )
    assert await handoff.book_callback(client_id=client_id, phone="+79141234567", channel="api")
    await chat.say("покажите историю моих обращений")
    text = chat.text()
    assert f"заявка № {app.number}" in text and "обратный звонок" in text
    assert "Константинопольская" not in text
    assert "как открыть ип" in text  # a question is still there


async def test_the_operator_introduces_themselves_by_name_and_position(api, runtime, handoff):
    await UserStore(runtime.redis).add(
        "irina", "operator irina password", full_name="Ирина Соколова", position="консультант по налогам"
    )
    chat = Chat(api, client_id="meets-operator")
    await chat.say("соедините меня с оператором")
    await handoff.claim("irina", scoped(chat.cid))
    resp = await api.get(f"/api/v1/conversations/{chat.cid}/messages")
    said = "\n".join(r["text"] for r in resp.json()["replies"])
    assert "Меня зовут Ирина Соколова, я консультант по налогам" in said
    assert "irina" not in said  # the login name is not for clients


async def test_clients_are_told_the_time_zone_of_handoff_timezone(
    tmp_path, settings, redis_server, rasa_url, retriever
):
    schedule = tmp_path / "schedule.yaml"
    schedule.write_text(
        yaml.safe_dump(
            {
                "timezone": "Asia/Kamchatka",
                "timezone_title": "по камчатскому времени",
                "week": {d: ["09:00-18:00"] for d in ("mon", "tue", "wed", "thu", "fri")},
            },
            allow_unicode=True,
        ),
        encoding="utf-8",
    )
    own = settings.model_copy(update={"handoff_schedule_file": schedule, "handoff_timezone": "Europe/Moscow"})
    runtime = await Runtime.create(own, redis_server.url, rasa_url, retriever)
    try:
        runtime.handoff.clock = Clock(SATURDAY_NOON)
        transport = httpx.ASGITransport(app=create_app(runtime))
        async with httpx.AsyncClient(transport=transport, base_url="http://a", headers={"X-Api-Key": API_KEY}) as api:
            chat = Chat(api, client_id="moscow-client")
            await chat.say("соедините меня с оператором")
            assert "не работают" in chat.text()
            assert "по московскому времени" in chat.text() and "камчат" not in chat.text()
    finally:
        await runtime.close()


@pytest.fixture
def always_rate(runtime):
    """Every completed service is followed by a rating (the suite's default is never)."""
    svc = runtime.handoff
    saved = svc.rating_sample_rate
    svc.rating_sample_rate = 1.0
    yield svc
    svc.rating_sample_rate = saved


async def last_ratings(runtime, count: int = 2) -> list[dict]:
    return [fields for _, fields in await runtime.redis.xrevrange(handoff_keys.handoff_ratings(), count=count)]


async def test_a_helpful_answer_is_rated_in_words_with_a_comment_and_not_again_that_day(api, runtime, always_rate):
    chat = Chat(api, client_id=f"rates-{time.time_ns()}")
    await chat.say("как закрыть ип")
    assert chat.answered_topic() == "close_ip"
    await chat.press("ok:close_ip")
    assert chat.last["state"]["flow"] == "rating" and "оцените мой ответ" in chat.text()
    await chat.say("удовлетворена")
    assert "легко" in chat.text()
    await chat.say("скорее сложно")
    assert "Спасибо за оценку" in chat.text() and "Без комментария" in [b["title"] for b in chat.buttons()]
    [rating] = await last_ratings(runtime, 1)
    assert (rating["satisfaction"], rating["ease"], rating["context"]) == ("4", "2", "answer")
    await chat.say("Не хватило образца заявления. Моя почта ivanova.anna@example.ru")
    assert "комментарий сохранён" in chat.text() and chat.last["state"]["flow"] is None
    [comment, rated] = await last_ratings(runtime)
    assert comment["ref"] == rated["ref"] and "образца заявления" in comment["comment"]
    assert "ivanova.anna" not in comment["comment"]  # ratings are anonymous: personal data masked

    await chat.say("сколько стоит регистрация ооо")
    await chat.press(f"ok:{chat.answered_topic()}")
    assert chat.last["state"]["flow"] is None and "оцените" not in chat.text()  # never twice a day


async def test_a_booking_made_is_followed_by_a_rating(api, runtime, booking, always_rate):
    chat = Chat(api, client_id=f"books-{time.time_ns()}")
    await chat.say("запишите меня на консультацию")
    await chat.press_title("Меры поддержки")  # a topic and a slot no other test books
    slot = [b["payload"] for b in chat.buttons() if b["payload"].startswith("flow:booking:s:")][-1]
    await chat.press(slot)
    await chat.press("flow:booking:pd_yes")
    await chat.press_title("Записаться")
    assert "вы записаны" in chat.text() and "оцените запись на консультацию" in chat.text()
    await chat.press("flow:rating:s3")
    await chat.press("flow:rating:e4")
    await chat.press("flow:rating:skip")  # no comment
    [rating] = await last_ratings(runtime, 1)
    assert (rating["satisfaction"], rating["ease"], rating["context"]) == ("3", "4", "booking")
