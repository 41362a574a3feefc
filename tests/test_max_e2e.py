"""The MAX channel end to end: the real bot (maxapi, long polling and webhook)
against a local stand-in of the MAX Bot API (tests/max_standin.py, at the
network boundary), with the real core, Rasa model and Redis."""

from __future__ import annotations

import asyncio
import itertools
import json
import time

import httpx
import pytest
import pytest_asyncio

from bot.app import create_app
from bot.channels import max as max_channel
from bot.channels import messenger
from bot.core import texts
from bot.core.messages import Button, Reply, ReplyKind
from bot.payments import qr as qr_codes
from bot.runtime import Runtime
from handoff import texts as handoff_texts
from tests.max_standin import MaxStandIn, buttons_of, rows_of, texts_of

pytestmark = [pytest.mark.e2e, pytest.mark.rasa]

TOKEN = "max-polling-token"
WEBHOOK_TOKEN = "max-webhook-token"
SECRET = "max_webhook-secret"
_users = itertools.count(2001)


@pytest_asyncio.fixture(scope="module")
async def standin():
    s = await MaxStandIn(token=TOKEN).start()
    yield s
    await s.stop()


async def _runtime(settings, redis_server, rasa_url, retriever, **max_settings) -> Runtime:
    return await Runtime.create(settings.model_copy(update=max_settings), redis_server.url, rasa_url, retriever)


@pytest_asyncio.fixture(scope="module")
async def polling_bot(settings, redis_server, rasa_url, retriever, standin):
    """The bot as `make run` starts it with MAX_BOT_TOKEN set: long polling."""
    rt = await _runtime(settings, redis_server, rasa_url, retriever, max_bot_token=TOKEN, max_api_base=standin.url)
    jobs = [asyncio.create_task(job) for job in max_channel.background(rt)]
    assert len(jobs) == 1
    yield rt
    for job in jobs:
        job.cancel()
    await asyncio.gather(*jobs, return_exceptions=True)
    await rt.close()


@pytest.fixture
def user(polling_bot, standin):
    return standin.user(next(_users))


def _keyboard(messages: list[dict]) -> bool:
    return bool(messages) and bool(buttons_of(messages[-1]))


# ------------------------------------------------------------------ polling
async def test_bot_started_greets_with_buttons_typing_and_the_commands_menu(user, standin):
    user.start()
    got = await user.expect(_keyboard)
    assert "Здравствуйте" in texts_of(got) and "помощник" in texts_of(got)
    payloads = [b["payload"] for b in buttons_of(got[-1]) if b["type"] == "callback"]
    assert "faq:register_ip" in payloads and "do:ask_operator" in payloads
    assert all(m["format"] is None for m in got)  # plain text: nothing in core text is taken for markup
    assert all(len(row) <= 3 for row in rows_of(got[-1]))
    actions = [json.loads(c["body"]) for c in standin.calls if c["path"] == f"/chats/{user.chat_id}/actions"]
    assert {"action": "typing_on"} in actions
    [menu] = standin.called("/me/commands", "PATCH")[-1:]
    assert [c["name"] for c in json.loads(menu["body"])["commands"]] == list(messenger.COMMANDS)
    assert standin.called("/updates")  # long polling, after removing any webhook subscription
    assert standin.called("/subscriptions", "GET")


async def test_faq_answer_not_helped_then_an_option_and_every_press_is_acknowledged(user, standin):
    user.say("как перейти на упрощенку")
    got = await user.expect(lambda ms: texts.ASK_RESOLVED in texts_of(ms))
    assert "Источник:" in texts_of(got)
    assert [b["payload"] for b in buttons_of(got[-1])] == ["ok:usn", "nok:usn", "do:ask_operator"]

    press = user.press(texts.NO_HELPED)
    got = await user.expect(_keyboard)
    assert "Жаль" in texts_of(got)
    options = buttons_of(got[-1])
    assert 2 <= len(options) <= 4 and options[-1]["payload"] == "do:ask_operator"
    assert standin.callbacks[press["callback"]["callback_id"]] == {"notification": max_channel.CALLBACK_ANSWER}

    user.press(options[0]["payload"])
    got = await user.expect(lambda ms: texts.ASK_RESOLVED in texts_of(ms))
    assert buttons_of(got[-1])[0]["payload"] == "ok:" + options[0]["payload"].removeprefix("faq:")


ALWAYS_OPEN = {
    "timezone": "Asia/Kamchatka",
    "timezone_title": "по камчатскому времени",
    "week": {d: ["00:00-24:00"] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
}


async def test_an_operator_takes_a_max_conversation_replies_and_resolves(user, polling_bot):
    from handoff.schedule import Schedule

    svc = polling_bot.handoff
    saved = svc.schedule
    svc.set_schedule(Schedule.model_validate(ALWAYS_OPEN))
    cid = f"max:{user.chat_id}"
    try:
        user.say("оператор")
        await user.expect(lambda ms: "оператор" in texts_of(ms).lower())
        state = await polling_bot.engine.conversations.load(cid)
        assert state.with_operator is True and state.client_id == f"max:{user.user_id}"

        assert await svc.claim("olga", cid) == cid
        got = await user.expect(lambda ms: "подключился оператор" in texts_of(ms))
        assert texts_of(got) == handoff_texts.CLAIMED
        await svc.reply("olga", cid, "Здравствуйте! Госпошлину за ИП <при электронной подаче> платить не нужно.")
        got = await user.expect(lambda ms: "Госпошлину" in texts_of(ms))
        assert texts_of(got) == "👤 Оператор\nЗдравствуйте! Госпошлину за ИП <при электронной подаче> платить не нужно."

        await svc.resolve("olga", cid)
        got = await user.expect(lambda ms: "оцените" in texts_of(ms))
        assert "flow:rating:s4" in [b["payload"] for b in buttons_of(got[-1])]
        user.press("flow:rating:s4")
        await user.expect(lambda ms: "насколько легко" in texts_of(ms))
    finally:
        svc.set_schedule(saved)


async def test_commands_map_to_core_payloads(user):
    user.say("/help")
    got = await user.expect(_keyboard)
    assert texts.CAPABILITIES.splitlines()[0] in texts_of(got)
    user.say("/cancel")
    assert texts_of(await user.expect(_keyboard)) == texts.NOTHING_TO_CANCEL


async def test_a_sticker_gets_a_friendly_explanation_with_the_way_to_a_human(user):
    user.send_sticker()
    got = await user.expect(_keyboard)
    assert texts_of(got) == messenger.UNSUPPORTED_MEDIA
    assert [b["payload"] for b in buttons_of(got[-1])] == ["do:ask_operator"]


class _TextAsSpeech:
    """A transcriber whose "audio" is UTF-8 text: the seam, not the recogniser, is under test."""

    def __init__(self):
        self.heard: list[bytes] = []

    async def transcribe(self, audio: bytes, mime_type: str) -> str | None:
        self.heard.append(audio)
        return audio.decode()


async def test_voice_messages_are_transcribed_shown_and_answered(user, polling_bot):
    channel = max_channel.channel(polling_bot)
    saved = channel.transcriber
    try:
        channel.transcriber = None  # no recogniser and no transcript from MAX: ask for text
        user.send_voice("v0.ogg", b"\x00\x01")
        assert texts_of(await user.expect(_keyboard)) == messenger.VOICE_UNSUPPORTED

        user.send_voice("v1.ogg", b"\x00\x01", transcription="как закрыть ип")  # MAX's own transcript
        got = await user.expect(lambda ms: texts.ASK_RESOLVED in texts_of(ms))
        assert "Распознал: «как закрыть ип»" in texts_of(got)

        transcriber = _TextAsSpeech()
        messenger.set_transcriber(polling_bot, transcriber)  # as the voice module does
        user.send_voice("v2.ogg", "как получить электронную подпись <срочно>".encode(), transcription="неверно")
        got = await user.expect(lambda ms: texts.ASK_RESOLVED in texts_of(ms))
        assert transcriber.heard == ["как получить электронную подпись <срочно>".encode()]  # downloaded from MAX
        assert "Распознал: «как получить электронную подпись <срочно>»" in texts_of(got)
        assert buttons_of(got[-1])[0]["payload"] == "ok:digital_signature"
    finally:
        channel.transcriber = saved


async def test_a_crash_in_a_turn_is_answered_politely_and_the_bot_keeps_working(user, polling_bot):
    async def explode(engine, turn, msg):
        if msg.text == "сломайся":
            raise RuntimeError("boom")
        return False

    polling_bot.engine.interceptors.append(explode)
    try:
        user.say("сломайся")
        got = await user.expect(_keyboard)
    finally:
        polling_bot.engine.interceptors.remove(explode)
    assert texts_of(got) == "⚠️ " + texts.ERROR_GENERIC
    assert [b["payload"] for b in buttons_of(got[-1])] == ["do:ask_operator"]
    user.say("как закрыть ип")
    assert "Источник:" in texts_of(await user.expect(lambda ms: texts.ASK_RESOLVED in texts_of(ms)))


async def test_a_rate_limit_is_waited_out_and_the_reply_arrives(user, standin):
    standin.flood[user.chat_id] = 1
    user.say("/help")
    await user.expect(_keyboard)
    assert standin.flood[user.chat_id] == 0
    tries = [c for c in standin.called("/messages", "POST") if c["query"].get("chat_id") == str(user.chat_id)]
    assert len(tries) == 2 and tries[0]["body"] == tries[1]["body"]


async def test_operator_messages_notifications_links_and_long_texts_reach_a_max_chat(user, polling_bot, standin):
    send = polling_bot.outbound.send
    cid, client = f"max:{user.chat_id}", f"max:{user.user_id}"
    pay = Reply(
        kind=ReplyKind.flow,
        text="Оплатите госпошлину картой на защищённой странице.",
        buttons=[
            Button(title="Перейти к оплате", url="https://pay.example.org/checkout/1"),
            Button(title="Проверить оплату", payload="flow:pay:check"),
        ],
    )
    assert await send("max", cid, client, [pay])
    [got] = await user.expect(_keyboard)
    assert [(b["type"], b.get("url") or b.get("payload")) for b in buttons_of(got)] == [
        ("link", "https://pay.example.org/checkout/1"),
        ("callback", "flow:pay:check"),
    ]

    long = Reply(
        kind=ReplyKind.answer,
        text="\n\n".join(f"Абзац {i}. " + "Подробности ответа. " * 60 for i in range(8)),
        buttons=[Button(title="Да", payload="ok:x")],
    )
    assert await send("max", cid, client, [long])
    got = await user.expect(_keyboard)
    assert len(got) >= 3 and all(len(m["body"]["text"]) <= 4000 for m in got)
    assert all(not buttons_of(m) for m in got[:-1]) and all(m["body"]["text"].startswith("Абзац") for m in got)

    standin.blocked.add(user.chat_id)  # the user stopped the bot: the sender says it could not deliver
    try:
        assert not await send("max", cid, client, [Reply(kind=ReplyKind.info, text="Напоминание")])
    finally:
        standin.blocked.discard(user.chat_id)
    assert not await send("max", "tg:123", client, [pay])


async def test_a_notification_goes_to_the_max_chat_the_client_wrote_from(user, polling_bot):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from bot.consent.notifications import Sender, notify

    user.say("/help")  # the client is known in MAX now: proactive messages come here
    await user.expect(_keyboard)
    text = "Ваша заявка МБ-2026-000123 одобрена <проверено>."
    await notify(polling_bot, f"max:{user.user_id}", "transactional", text, key=f"max-test:{user.user_id}")
    zone = ZoneInfo(polling_bot.settings.notify_timezone)
    noon = datetime.now(zone).replace(hour=12, minute=0).timestamp()  # outside the quiet hours
    await Sender.for_runtime(polling_bot, clock=lambda: noon).drain()
    got = await user.expect(lambda ms: "МБ-2026-000123" in texts_of(ms))
    assert text in texts_of(got) and all(m["format"] is None for m in got)


async def test_a_payment_qr_goes_as_an_image_beside_its_text_and_the_text_alone_when_it_fails(
    user, polling_bot, standin
):
    png = qr_codes.png(b"ST00012|Name=Test|PersonalAcc=40102810945370000078")
    standin.files["qr-max.png"] = png
    reply = Reply(
        kind=ReplyKind.flow,
        text="Отсканируйте QR-код <в приложении банка>.",
        image_url=f"{standin.url}/files/qr-max.png",
        buttons=[Button(title="Проверить оплату", payload="flow:pay:check")],
    )
    cid, client = f"max:{user.chat_id}", f"max:{user.user_id}"
    assert await polling_bot.outbound.send("max", cid, client, [reply])
    [got] = await user.expect(_keyboard)
    assert got["body"]["text"] == "Отсканируйте QR-код <в приложении банка>."
    [image] = [a for a in got["body"]["attachments"] if a["type"] == "image"]
    assert standin.photos[image["payload"]["token"]] == png  # the PNG itself was uploaded
    assert [b["payload"] for b in buttons_of(got)] == ["flow:pay:check"]

    standin.fail_uploads = 1  # the upload server fails: the text, with its button, still arrives
    assert await polling_bot.outbound.send("max", cid, client, [reply])
    [got] = await user.expect(_keyboard)
    assert got["body"]["text"] == reply.text and [a["type"] for a in got["body"]["attachments"]] == ["inline_keyboard"]


# ------------------------------------------------------------------ webhook
@pytest_asyncio.fixture(scope="module")
async def webhook_standin():
    s = await MaxStandIn(token=WEBHOOK_TOKEN).start()
    yield s
    await s.stop()


@pytest_asyncio.fixture(scope="module")
async def webhook_replicas(settings, redis_server, rasa_url, retriever, webhook_standin):
    """Two replicas of the production setup (webhook mode) on one Redis."""
    replicas = []
    for _ in range(2):
        rt = await _runtime(
            settings,
            redis_server,
            rasa_url,
            retriever,
            max_bot_token=WEBHOOK_TOKEN,
            max_api_base=webhook_standin.url,
            max_webhook_url="https://bot.example.org/",
            max_webhook_secret=SECRET,
        )
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(rt)), base_url="http://replica")
        replicas.append((rt, client))
    yield replicas
    for rt, client in replicas:
        await client.aclose()
        await max_channel.channel(rt).bot.close_session()
        await rt.close()


async def test_webhook_mode_subscribes_with_its_secret(webhook_replicas, webhook_standin):
    rt, _ = webhook_replicas[0]
    job = asyncio.create_task(max_channel.channel(rt).run())
    try:
        deadline = time.monotonic() + 20
        while not webhook_standin.subscriptions:
            assert time.monotonic() < deadline, "the webhook was not subscribed"
            await asyncio.sleep(0.05)
    finally:
        job.cancel()
        await asyncio.gather(job, return_exceptions=True)
    [sub] = webhook_standin.subscriptions
    assert sub["url"] == "https://bot.example.org/max/webhook" and sub["secret"] == SECRET
    assert set(sub["update_types"]) == set(max_channel.UPDATE_TYPES)
    assert not webhook_standin.called("/updates")  # no polling in webhook mode


async def test_webhook_rejects_a_wrong_secret(webhook_replicas, webhook_standin):
    _, client = webhook_replicas[0]
    chat = webhook_standin.user(next(_users))
    for headers in ({max_channel.SECRET_HEADER: "guess-guess"}, {}):
        resp = await client.post(max_channel.WEBHOOK_PATH, json=chat.message("/help"), headers=headers)
        assert resp.status_code == 403 and "MAX_WEBHOOK_SECRET" in resp.json()["message"]
    assert await chat.drain(0.3) == []


async def test_webhook_update_is_processed_once_across_replicas(webhook_replicas, webhook_standin):
    chat = webhook_standin.user(next(_users))
    update = chat.message("как открыть ип")
    headers = {max_channel.SECRET_HEADER: SECRET}
    (rt, first), (_, second) = webhook_replicas
    assert (await first.post(max_channel.WEBHOOK_PATH, json=update, headers=headers)).status_code == 200
    got = await chat.drain(0)  # processed before the 200: the replies are already there
    assert texts.ASK_RESOLVED in texts_of(got) and "Источник:" in texts_of(got)
    for replica in (second, first):  # MAX's retry, or the same update at another replica
        assert (await replica.post(max_channel.WEBHOOK_PATH, json=update, headers=headers)).status_code == 200
    assert await chat.drain(0.3) == []
    history = await rt.engine.conversations.history(f"max:{chat.chat_id}")
    assert [h["text"] for h in history if h["from"] == "client"] == ["как открыть ип"]

    start = chat.start()  # the «Начать» button through the webhook: the greeting, once
    for replica in (first, second):
        assert (await replica.post(max_channel.WEBHOOK_PATH, json=start, headers=headers)).status_code == 200
    got = await chat.drain(0.3)
    assert sum("Здравствуйте" in (m["body"]["text"] or "") for m in got) == 1


async def test_an_update_whose_process_died_is_answered_on_redelivery_once(
    webhook_replicas, webhook_standin, monkeypatch
):
    """A replica dies mid-update twice: before its turn was saved (its claim is left behind)
    and after saving but before sending. MAX redelivers: the client gets the answer once and
    the history has the message once — never dropped as «already processed», never doubled."""
    (rt, first), (_, second) = webhook_replicas
    headers = {max_channel.SECRET_HEADER: SECRET}
    ch = max_channel.channel(rt)

    # 1. died before the turn: the update's claim stays until it expires
    chat = webhook_standin.user(next(_users))
    update = chat.message("как закрыть ип")
    await rt.redis.set(ch.claim_key(ch.parse(update)), messenger.IN_FLIGHT + "dead", ex=1)
    assert (await second.post(max_channel.WEBHOOK_PATH, json=update, headers=headers)).status_code == 200
    got = await chat.drain(0)
    assert sum("Источник:" in (m["body"]["text"] or "") for m in got) == 1

    # 2. died after the turn was saved, before its replies went out
    chat = webhook_standin.user(next(_users))
    update = chat.message("как открыть ип")

    async def died(*_args, **_kwargs):
        raise SystemExit("killed")

    with monkeypatch.context() as patch:
        patch.setattr(ch, "send", died)
        with pytest.raises(BaseException, match="killed"):
            await first.post(max_channel.WEBHOOK_PATH, json=update, headers=headers)
    assert await chat.drain(0.2) == []
    assert (await second.post(max_channel.WEBHOOK_PATH, json=update, headers=headers)).status_code == 200
    got = await chat.drain(0)
    assert texts.ASK_RESOLVED in texts_of(got) and "Источник:" in texts_of(got)
    history = await rt.engine.conversations.history(f"max:{chat.chat_id}")
    assert [h["text"] for h in history if h["from"] == "client"] == ["как открыть ип"]
    assert (await first.post(max_channel.WEBHOOK_PATH, json=update, headers=headers)).status_code == 200
    assert await chat.drain(0.3) == []  # handled now: a further redelivery is dropped


async def test_webhook_ignores_malformed_and_unknown_updates(webhook_replicas):
    _, client = webhook_replicas[0]
    headers = {max_channel.SECRET_HEADER: SECRET}
    for body in (
        {"nonsense": True},
        {
            "update_type": "dialog_muted",
            "timestamp": 1,
            "chat_id": 1,
            "user": {"user_id": 1, "first_name": "И", "is_bot": False},
            "muted_until": 2,
        },
    ):
        assert (await client.post(max_channel.WEBHOOK_PATH, json=body, headers=headers)).status_code == 200
    assert (await client.post(max_channel.WEBHOOK_PATH, content=b"{", headers=headers)).status_code == 200
