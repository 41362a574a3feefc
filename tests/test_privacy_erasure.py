"""«Удалите мои данные»: erasure on request through the HTTP API with the real
Rasa model and Redis, by a supervisor in the console and by the staff
command. The proof: after an erasure, a scan of EVERY Redis key finds none
of the client's strings outside what the law requires us to keep."""

from __future__ import annotations

import argparse

import httpx

from bot.app import create_app
from bot.applications import keys as app_keys
from bot.applications.service import change_status
from bot.consent.ledger import Ledger, record_personal_data_consent
from bot.consent.model import Action
from bot.consent.notifications import Sender
from bot.core.messages import Incoming
from bot.indicators import keys as indicator_keys
from bot.indicators.service import Indicators
from bot.payments import keys as pay_keys
from bot.privacy.__main__ import run as privacy_command
from bot.store.events import anonymous_id
from handoff import keys as handoff_keys
from handoff.users import UserStore
from tests import privacy_kit as kit
from tests.chat import Chat
from tests.console_kit import csrf_of, sign_in
from voice.desk import DefaultDesk

IDENTITY = {"surname", "inn", "ogrnip"}  # what a kept application may still name (docs/SECURITY.md)


def allowed_after_erasure(numbers: list[str]):
    """The documented exceptions: payment records, and a kept application's identity answers."""
    kept = {app_keys.application(n) for n in numbers}

    def allowed(key: str, what: str, _text: str) -> bool:
        return key.startswith(pay_keys.payment_order("")) or (key in kept and what in IDENTITY)

    return allowed


async def book_callback(chat: Chat, phone_typed: str | None) -> int:
    await chat.press("do:request_callback")
    if "Согласны" in chat.text():
        await chat.press("flow:callback:yes")
    if "Перезвонить на номер" in chat.text():
        await chat.press("flow:callback:saved")
    else:
        await chat.say(phone_typed)
    slot = next(b["payload"] for b in chat.buttons() if b["payload"].startswith("flow:callback:s"))
    await chat.press(slot)
    assert "перезвонит" in chat.text(), chat.text()
    return int(slot.removeprefix("flow:callback:s"))


async def book_appointment(chat: Chat) -> int:
    await chat.say("запишите меня на консультацию")
    await chat.press_title("Налоги и отчётность")
    slot = next(b["payload"] for b in chat.buttons() if b["payload"].startswith("flow:booking:s:"))
    await chat.press(slot)
    if "согласие на обработку персональных данных" in chat.text():
        await chat.press("flow:booking:pd_yes")
    await chat.press_title("Записаться")
    assert "вы записаны" in chat.text(), chat.text()
    return int(slot.rsplit(":", 1)[1])


async def test_an_erasure_request_is_understood_and_confirmed_first(api, runtime):
    for phrase in (
        "удалите мои данные",
        "сотрите всё, что вы обо мне знаете",
        "хочу чтобы вы уничтожили мои персональные данные",
        "забудьте меня",
    ):
        chat = Chat(api, client_id=kit.unique("ask-erase"))
        result = await chat.say(phrase)
        assert result["understanding"]["intent"] == "revoke_consent", (phrase, result["understanding"])
        assert chat.last["state"]["flow"] == "privacy", phrase
        text = chat.text()
        assert "Вот что я удалю" in text and "Что сохранится и почему" in text and "журнал" in text, phrase
        assert ":\n\n•" not in text, "a list starts right under its heading"
        assert [b["title"] for b in chat.buttons()][:2] == ["Да, удалить", "Нет, оставить"]
    await chat.say("нет")
    assert "ничего не удаляю" in chat.text() and chat.last["state"]["flow"] is None

    # withdrawing a consent is not an erasure
    chat = Chat(api, client_id=kit.unique("not-erase"))
    await chat.say("удалите моё согласие")
    assert chat.last["state"]["flow"] != "privacy" and "Вот что я удалю" not in chat.text()
    # a question in place of the answer erases nothing and is answered
    await chat.say("забудьте меня")
    await chat.say("как перейти на упрощенку")
    assert chat.answered_topic() == "usn" and chat.last["state"]["flow"] is None


async def test_erasure_leaves_nothing_but_what_the_law_requires(api, runtime, handoff, booking):
    who, token = kit.person(), kit.unique("erase")
    client = kit.scoped(token)
    a, b, c = (Chat(api, cid=f"{token}-{n}", client_id=token) for n in "abc")

    # A: a question with personal data typed in, a submitted application, a draft, consents
    # (with an Idempotency-Key: the reply is kept for a retry, with the turn and in the API's store)
    await a.say(
        f"мой ИНН {who.inn}, телефон {who.phone_typed}, email {who.email} — как перейти на упрощенку?",
        idempotency_key=f"{token}-first",
    )
    number = await kit.submit_microloan(a, who)
    await a.say("хочу подать заявку на консультацию")
    await a.press_title("Да, всё верно")
    await a.say("отмена")
    assert await runtime.applications.drafts(client, ["consultation"])
    await a.press("flow:consent:g:*")
    order = await runtime.payments.create_order(
        "ip_registration",
        client_id=client,
        conversation_id=kit.scoped(a.cid),
        channel="api",
        idempotency_key=f"{kit.scoped(a.cid)}:1:1",
    )
    await change_status(runtime.redis, runtime.applications, number, "in_review", by="tester")
    await Sender.for_runtime(runtime).drain()  # the status notification reaches the API outbox
    # B: a callback to a number, an appointment
    callback_slot = await book_callback(b, who.phone_typed)
    taken_before = int(await runtime.redis.get(handoff_keys.callback_slot(callback_slot)) or 0)
    appointment_slot = await book_appointment(b)
    assert await booking.book.places_taken("taxes", appointment_slot) == 1
    # C: with an operator
    await c.say("соедините с оператором")
    assert await handoff.claim("op-erase", kit.scoped(c.cid)) == kit.scoped(c.cid)
    assert (hits := await kit.scan(runtime.redis, {**who.needles(), "client id": token}))  # there is data to erase
    assert {what for _k, what, _t in hits} >= {"surname", "inn", "ogrnip", "phone", "email", "client id"}

    # the indicators remember the conversations by their anonymous ids (repeat requests): erased too
    await Indicators(runtime.redis, runtime.kb, runtime.settings).fold.catch_up()
    salt = runtime.engine.events.salt
    remembered = [indicator_keys.indicator_conv(anonymous_id(kit.scoped(x.cid), salt)) for x in (a, b, c)]
    assert await runtime.redis.exists(*remembered) == 3

    await a.say("удалите мои данные")
    confirm = a.text()
    assert number in confirm and "записи о платежах (1)" in confirm and "будет завершён" in confirm
    await a.press("flow:privacy:yes")
    done = a.text()
    assert "Готово: ваши персональные данные удалены" in done and "переписка (3 разговора)" in done
    assert "запись на консультацию «Налоги и отчётность»" in done and "место освобождено" in done
    assert "обратный звонок" in done and number in done and "402-ФЗ" in done

    # THE SCAN: no string of the client anywhere, except the documented exceptions
    leftovers = kit.without(
        await kit.scan(runtime.redis, {**who.needles(), "client id": token}), allowed_after_erasure([number])
    )
    assert leftovers == [], "\n".join(f"{k} [{w}]: {t}" for k, w, t in leftovers)
    assert await runtime.redis.exists(*remembered) == 0

    # what is kept is relinked to the pseudonym, without contacts
    pseudo = await runtime.privacy.pseudonym(client)
    app = await runtime.applications.get(number)
    assert app.client_id == pseudo and app.erased_at and app.conversation_id == ""
    assert "phone" not in app.answers and "email" not in app.answers and app.answers["inn"] == who.inn
    assert number in await runtime.redis.zrange(app_keys.application_client(pseudo), 0, -1)
    assert (await runtime.payments.orders.get(order.id)).client_id == pseudo
    ledger = Ledger(runtime.redis)
    assert await ledger.records(client) == []
    records = await ledger.records(pseudo)
    assert {r.client_id for r in records} == {pseudo}
    assert [r.action for r in records][-1] is Action.erase and records[-1].actor == "client"
    withdrawn = {r.scope for r in records if r.action is Action.withdraw}
    assert withdrawn >= {"applications", "callback", "appointments", "*"}
    audited = [r async for r in ledger.audit() if r.client_id == pseudo]
    assert len(audited) == len(records) and audited[-1].settings["deleted"]["appointments_cancelled"] == 1
    # places are given back; the operator's list is clean
    assert await booking.book.places_taken("taxes", appointment_slot) == 0
    assert int(await runtime.redis.get(handoff_keys.callback_slot(callback_slot)) or 0) == taken_before - 1
    assert kit.scoped(c.cid) not in await runtime.redis.smembers(handoff_keys.handoff_mine("op-erase"))
    assert not await handoff.queue.get(kit.scoped(c.cid))

    # the client can go on, as a new client
    await a.say("на что я давал согласие")
    assert "Вы пока не давали мне согласий" in a.text()
    await a.say("какой статус моей заявки")
    assert "Вы ещё не подавали заявок" in a.text()


async def test_withdrawal_deletes_exactly_the_data_of_that_consent(api, runtime, handoff, booking):
    who, token = kit.person(), kit.unique("exact")
    client = kit.scoped(token)
    chat = Chat(api, client_id=token)
    await chat.say("хочу подать заявку на консультацию")
    await chat.press_title("Согласен")
    await chat.say(who.full_name)
    await chat.say(who.phone_typed)
    await chat.press_title("Налоги")
    await chat.say("завтра")
    await chat.press_title("Пропустить")
    await chat.press_title("Отправить")
    callback_slot = await book_callback(chat, who.phone_typed)  # the number the application saved
    appointment_slot = await book_appointment(chat)

    async def withdraw(title: str) -> str:
        await chat.say("отзываю согласие")
        await chat.press_title(title)
        return chat.text()

    text = await withdraw("Персональные данные: обратный звонок")
    assert "отменён, номер удалён" in text and "Переписка в чате остаётся" in text
    profile = await runtime.engine.profiles.get(client)
    assert profile["phone"] == who.phone and profile["full_name"] == who.full_name  # given for the application too
    assert not [c for c in await handoff.callbacks.upcoming(include_done=True) if c.client_id == client]
    assert await booking.book.places_taken("taxes", appointment_slot) == 1

    text = await withdraw("Персональные данные: запись на консультацию")
    assert "«Налоги и отчётность»" in text and "место освобождено" in text
    assert await booking.book.places_taken("taxes", appointment_slot) == 0
    assert await booking.book.for_client(client) == []
    assert (await runtime.engine.profiles.get(client))["phone"] == who.phone

    text = await withdraw("Персональные данные: заявки")
    assert "ФИО" in text and "телефон" in text and "Сохраняются: поданные заявки" in text
    profile = await runtime.engine.profiles.get(client)
    assert "phone" not in profile and "full_name" not in profile
    del callback_slot


async def test_the_voice_line_erases_after_a_spoken_yes(runtime):
    """The core does it, so every channel has it: here a caller whose id is their number."""
    digits = kit.person().phone[1:]  # 7914…
    client, cid = f"phone:+{digits}", kit.unique("voice:erase")

    async def say(text: str) -> str:
        result = await runtime.engine.handle(
            Incoming(conversation_id=cid, channel="voice", client_id=client, text=text)
        )
        return "\n".join(r.text for r in result.replies)

    await record_personal_data_consent(runtime.redis, client, purpose="callback", text_version="1", channel="voice")
    await DefaultDesk(runtime.redis).book_callback(digits, cid, client_id=client)  # the stand-alone desk's queue
    assert "Вот что я удалю" in await say("забудьте меня")
    assert "ваши персональные данные удалены" in await say("да")
    assert await kit.scan(runtime.redis, {"number": digits[1:], "call": cid}) == []
    pseudo = await runtime.privacy.pseudonym(client)
    assert [(r.scope, r.action) for r in await Ledger(runtime.redis).records(pseudo)] == [
        ("callback", Action.grant),
        ("callback", Action.withdraw),
        ("*", Action.erase),
    ]


async def _console(runtime) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(runtime)), base_url="http://console")


async def _login(console: httpx.AsyncClient, name: str, password: str) -> None:
    done = await sign_in(console, name, password)
    assert done.status_code == 303 and done.headers["location"] == "/console", done.text


async def test_a_supervisor_erases_from_the_console_and_an_operator_cannot(api, runtime):
    users = UserStore(runtime.redis)
    await users.add("sv-erase", "supervisor password 1", "supervisor")
    await users.add("op-erase2", "operator password 1", "operator")
    who, token = kit.person(), kit.unique("console")
    chat = Chat(api, cid=f"{token}-a", client_id=token)
    number = await kit.submit_microloan(chat, who)
    page_url = f"/console/c/{kit.scoped(chat.cid)}"

    async with await _console(runtime) as operator:
        await _login(operator, "op-erase2", "operator password 1")
        refused = await operator.get(page_url + "/erase")
        assert refused.status_code == 403 and "руководитель смены" in refused.text
        queue = await operator.get("/console")
        refused = await operator.post(page_url + "/erase", data={"csrf": csrf_of(queue.text), "confirm": "yes"})
        assert refused.status_code == 403
    assert await runtime.engine.profiles.get(kit.scoped(token))  # nothing was erased

    async with await _console(runtime) as supervisor:
        await _login(supervisor, "sv-erase", "supervisor password 1")
        conversation = await supervisor.get(page_url)
        assert "Удалить данные клиента по его просьбе" in conversation.text
        confirm = await supervisor.get(page_url + "/erase")
        assert confirm.status_code == 200 and number in confirm.text and "402-ФЗ" not in confirm.text
        assert "Будет удалено" in confirm.text and "журнал ваших согласий" in confirm.text
        forged = await supervisor.post(page_url + "/erase", data={"csrf": "forged", "confirm": "yes"})
        assert forged.status_code == 403
        unticked = await supervisor.post(page_url + "/erase", data={"csrf": csrf_of(confirm.text)})
        assert unticked.status_code == 303 and "error=" in unticked.headers["location"]
        assert await runtime.engine.profiles.get(kit.scoped(token))
        done = await supervisor.post(page_url + "/erase", data={"csrf": csrf_of(confirm.text), "confirm": "yes"})
        assert done.status_code == 303 and done.headers["location"].startswith("/console?note=")

    leftovers = kit.without(
        await kit.scan(runtime.redis, {**who.needles(), "client id": token}), allowed_after_erasure([number])
    )
    assert leftovers == [], leftovers
    pseudo = await runtime.privacy.pseudonym(kit.scoped(token))
    erase = [r async for r in Ledger(runtime.redis).audit() if r.client_id == pseudo][-1]
    assert (erase.action, erase.actor, erase.settings["by"], erase.channel) == (
        Action.erase,
        "staff",
        "sv-erase",
        "console",
    )


async def test_the_staff_command_erases_a_client(api, runtime, capsys):
    who, token = kit.person(), kit.unique("cli")
    chat = Chat(api, client_id=token)
    await chat.say(f"перезвоните мне на {who.phone_typed}, я {who.full_name}")
    await chat.press("flow:consent:g:taxes")
    client = kit.scoped(token)
    assert await kit.scan(runtime.redis, {"phone": who.needles()["phone typed"], "client id": token})

    args = argparse.Namespace(command="erase", client_id=client, by="", yes=True)
    assert await privacy_command(args, runtime.redis, runtime.settings) == 2  # a name is required
    args.by, args.yes = "Мария Иванова", False
    assert await privacy_command(args, runtime.redis, runtime.settings, ask=lambda _q: "нет") == 1
    assert "Ничего не удалено" in capsys.readouterr().out
    assert await runtime.engine.profiles.get(client)
    assert await privacy_command(args, runtime.redis, runtime.settings, ask=lambda _q: "да") == 0
    assert "Данные клиента удалены" in capsys.readouterr().out

    assert await kit.scan(runtime.redis, {**who.needles(), "client id": token}) == []
    args = argparse.Namespace(command="pseudonym", client_id=client)
    assert await privacy_command(args, runtime.redis, runtime.settings) == 0
    pseudo = capsys.readouterr().out.strip()
    assert pseudo == await runtime.privacy.pseudonym(client)
    erase = (await Ledger(runtime.redis).records(pseudo))[-1]
    assert (erase.action, erase.settings["by"], erase.channel) == (Action.erase, "Мария Иванова", "cli")
