"""Issue 6 end to end in Telegram: a client pays a fee from the chat — by QR
(the requisites as text; the emulator refuses the photo, as a Telegram hiccup
would) and by card through the YooKassa stand-in, whose webhook marks the
order paid; the confirmation reaches the chat as a transactional notification
(no proactive consent needed) through the consent module's sender."""

from __future__ import annotations

import asyncio
import itertools
import time

import pytest
import pytest_asyncio
import uvicorn

from bot import modules
from bot.app import create_app
from bot.channels import telegram
from bot.payments.status import PaymentMethod, PaymentStatus
from bot.payments.web import WEBHOOK_PATH
from bot.runtime import Runtime
from tests.conftest import free_port
from tests.emulator.harness import BotApiProxy, Emulator, TgUser, buttons_of, texts_of
from tests.yookassa_standin import YooKassaStandIn

pytestmark = [pytest.mark.e2e, pytest.mark.rasa]

TOKEN = "777001:PAY-telegram"
_users = itertools.count(71_001)


def _text(items: list[dict]) -> str:
    return "\n".join(texts_of(items))


async def _until(check, what: str, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result:
            return result
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


@pytest_asyncio.fixture(scope="module")
async def shop(emulator_ready, settings, redis_server, rasa_url, retriever):
    """The bot in Telegram long polling, the app on a real port (the gateway's webhook),
    the Bot API emulator and the YooKassa stand-in."""
    emulator = await Emulator(free_port()).start()
    proxy = await BotApiProxy(emulator.url).start(free_port())
    standin = await YooKassaStandIn().start()
    port = free_port()
    conf = settings.model_copy(
        update={
            "telegram_bot_token": TOKEN,
            "telegram_api_base": proxy.url,
            "yookassa_api_url": standin.base_url,
            "yookassa_shop_id": standin.shop_id,
            "yookassa_secret_key": standin.secret_key,
            "payments_public_base_url": f"http://127.0.0.1:{port}",
        }
    )
    runtime = await Runtime.create(conf, redis_server.url, rasa_url, retriever)
    server = uvicorn.Server(
        uvicorn.Config(create_app(runtime), host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    jobs = [asyncio.create_task(server.serve()), *(asyncio.create_task(j) for j in telegram.background(runtime))]
    standin.notify_url = f"http://127.0.0.1:{port}{WEBHOOK_PATH}"
    await _until(lambda: asyncio.sleep(0, result=server.started), "uvicorn to start")
    try:
        yield runtime, standin, emulator, proxy
    finally:
        server.should_exit = True
        for job in jobs[1:]:
            job.cancel()
        await asyncio.gather(*jobs, return_exceptions=True)
        await standin.stop()
        await runtime.payments.gateway.close()
        await runtime.close()
        await proxy.stop()
        await emulator.stop()


@pytest_asyncio.fixture
async def user(shop):
    emulator = shop[2]
    u = TgUser(emulator.url, TOKEN, next(_users))
    yield u
    await u.close()


async def _press(user: TgUser, payload: str) -> None:
    """Press the newest button with this payload (titles repeat across messages)."""
    for item in reversed(user.inbox):
        for b in buttons_of(item):
            if b["callback_data"] == payload:
                assert await user.press(b["text"]) == payload
                return
    raise AssertionError(f"no button {payload!r}; the bot sent: {texts_of(user.inbox)}")


async def _choose_fee_and_confirm(user: TgUser) -> None:
    await user.say("хочу оплатить госпошлину")
    got = await user.expect(
        lambda ms: any(b["callback_data"].startswith("flow:pay:f:") for m in ms for b in buttons_of(m))
    )
    assert "flow:pay:f:ooo_registration" in [b["callback_data"] for b in buttons_of(got[-1])]
    await _press(user, "flow:pay:f:ooo_registration")
    got = await user.expect(lambda ms: "Основание" in _text(ms))
    assert "Всё верно, к оплате" in [b["text"] for b in buttons_of(got[-1])]
    await user.press("Всё верно")
    got = await user.expect(lambda ms: "flow:pay:m:card" in [b["callback_data"] for m in ms for b in buttons_of(m)])
    assert "flow:pay:m:qr" in [b["callback_data"] for b in buttons_of(got[-1])]


async def test_a_client_pays_by_qr_in_telegram_and_gets_the_requisites_as_text(shop, user):
    proxy = shop[3]
    await _choose_fee_and_confirm(user)
    photos = len(proxy.called("sendPhoto"))
    await _press(user, "flow:pay:m:qr")
    # the requisites, then what to do after paying with its buttons (two messages: wait for both)
    got = await user.expect(lambda ms: "УИН" in _text(ms) and any(buttons_of(m) for m in ms))
    assert len(proxy.called("sendPhoto")) == photos + 1  # the QR image was tried (the emulator refuses it)
    text = _text(got)
    assert "КБК 18210807010018000110" in text and "демонстрационные реквизиты" in text
    assert "Проверить оплату" in [b["text"] for m in got for b in buttons_of(m)]
    await user.press("Проверить оплату")
    assert "пока не поступила" in _text(await user.expect(lambda ms: "пока не поступила" in _text(ms)))


async def test_a_client_pays_by_card_in_telegram_and_the_confirmation_arrives(shop, user):
    runtime, standin, _, _ = shop
    svc = runtime.payments
    await _choose_fee_and_confirm(user)
    before = standin.creations()
    await _press(user, "flow:pay:m:card")
    got = await user.expect(lambda ms: "/checkout/" in _text(ms))
    assert standin.creations() == before + 1

    state = await runtime.engine.conversations.load(f"tg:{user.chat_id}")
    order = await svc.orders.get(state.flow_state["order"])
    attempt = order.attempt(PaymentMethod.card)
    payment_id = attempt.provider_payment_id
    assert attempt.confirmation_url and attempt.confirmation_url.replace("&", "&amp;") in _text(got)

    # The client pays on the gateway's page; the gateway calls our webhook.
    answer = await standin.deliver(standin.notification("payment.succeeded", standin.succeed(payment_id)))
    assert answer.status_code == 200
    assert (await svc.orders.get(order.id)).status is PaymentStatus.paid
    if modules.installed(runtime, "consent"):  # queued durably; the consent module's sender delivers it
        from bot.consent.notifications import Sender, notification

        item = await notification(runtime.redis, f"payment:{order.id}:paid")
        assert item["category"] == "transactional"
        sender = Sender.for_runtime(runtime)  # transactional: no consent, no quiet hours
        await _until(lambda: sender.drain(), "the sender to handle the confirmation")
        assert (await notification(runtime.redis, f"payment:{order.id}:paid"))["status"] == "sent"
    got = await user.expect(lambda ms: "Оплата получена" in _text(ms))
    assert order.uin in _text(got)
