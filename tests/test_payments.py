"""Payments end to end: real Redis, the real Rasa model, our app on a real
port and a local YooKassa stand-in (tests/yookassa_standin.py) speaking the
gateway's HTTP API — idempotency, webhook replay, reconciliation and the
conversation through the HTTP API."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import httpx
import pytest_asyncio
import uvicorn

from bot import modules
from bot.app import create_app
from bot.core.messages import Reply
from bot.flows.base import EffectContext
from bot.payments import effects
from bot.payments.flow import (
    CardPageIssued,
    CheckPayment,
    CreateOrder,
    OrderChecked,
    OrderCreated,
    ProviderDown,
    QrIssued,
    StartPayment,
)
from bot.payments.reconcile import reconcile_once
from bot.payments.status import PaymentMethod, PaymentStatus
from bot.payments.web import WEBHOOK_PATH
from bot.runtime import Runtime
from handoff import keys as handoff_keys
from handoff.keys import outbox
from tests.chat import Chat

try:
    from bot.consent.notifications import notification
except ImportError:  # the consent module is optional
    notification = None
from tests.conftest import API_KEY, free_port
from tests.yookassa_standin import YooKassaStandIn


class Pay:
    def __init__(self, runtime, standin, http):
        self.runtime, self.standin, self.http = runtime, standin, http
        self.svc = runtime.payments
        self.announced: list[tuple[str, str]] = []  # what the service sent clients outside a turn
        deliver = self.svc.notifier

        async def recording(order, replies) -> bool:
            self.announced.extend((order.conversation_id, r.text) for r in replies)
            return await deliver(order, replies)

        self.svc.notifier = recording

    def told(self, conversation_id: str) -> list[str]:
        return [text for cid, text in self.announced if cid == conversation_id]

    async def order_with_card_payment(self, key: str):
        order = await self.svc.create_order(
            "ip_registration", client_id=f"c-{key}", conversation_id=f"conv-{key}", channel="api", idempotency_key=key
        )
        order, started = await self.svc.start(order.id, PaymentMethod.card)
        return order, started.provider_payment_id


async def _until(predicate, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while not await predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


@pytest_asyncio.fixture(scope="module")
async def pay(settings, redis_server, rasa_url, retriever):
    standin = await YooKassaStandIn().start()
    port = free_port()
    conf = settings.model_copy(
        update={
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
    task = asyncio.create_task(server.serve())
    standin.notify_url = f"http://127.0.0.1:{port}{WEBHOOK_PATH}"
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}", headers={"X-Api-Key": API_KEY}, timeout=30
    ) as http:
        await _until(lambda: asyncio.sleep(0, result=server.started))
        yield Pay(runtime, standin, http)
    server.should_exit = True
    await task
    await standin.stop()
    await runtime.payments.gateway.close()
    await runtime.close()


# ------------------------------------------------------------ idempotency
async def test_concurrent_duplicate_creation_makes_one_order(pay):
    orders = await asyncio.gather(
        *(
            pay.svc.create_order(
                "ooo_registration",
                client_id="dup-client",
                conversation_id="dup",
                channel="api",
                idempotency_key="dup:1",
            )
            for _ in range(10)
        )
    )
    assert len({o.id for o in orders}) == 1 and len({o.uin for o in orders}) == 1
    assert [o.id for o in await pay.svc.orders.for_client("dup-client")] == [orders[0].id]


async def test_concurrent_card_starts_make_one_gateway_payment(pay):
    order = await pay.svc.create_order(
        "ip_registration", client_id="c-conc", conversation_id="conv-conc", channel="api", idempotency_key="conc:1"
    )
    before = pay.standin.creations()
    results = await asyncio.gather(*(pay.svc.start(order.id, PaymentMethod.card) for _ in range(5)))
    assert len({started.provider_payment_id for _, started in results}) == 1
    assert pay.standin.creations() == before + 1
    keys = {r["key"] for r in pay.standin.requests if r["method"] == "POST"}
    assert f"order-{order.id}-card" in keys
    order = await pay.svc.orders.get(order.id)
    assert order.status is PaymentStatus.pending and len(order.attempts) == 1


async def test_a_lost_gateway_response_is_retried_without_a_second_payment(pay):
    order = await pay.svc.create_order(
        "ip_registration", client_id="c-lost", conversation_id="conv-lost", channel="api", idempotency_key="lost:1"
    )
    before = pay.standin.creations()
    pay.standin.fail_next_create_responses = 1  # the gateway created it, but we got a 500
    _, started = await pay.svc.start(order.id, PaymentMethod.card)
    assert started.confirmation_url and pay.standin.creations() == before + 1
    posts = [r for r in pay.standin.requests if r["key"] == f"order-{order.id}-card"]
    assert len(posts) == 2  # retried with the same Idempotence-Key


# --------------------------------------------------------- effect handlers
async def test_the_flows_effects_report_what_happened_to_the_order(pay):
    """What the handlers tell the flow (tests/test_payments_units.py words it)."""
    handle = effects.handlers(pay.svc)
    ctx = EffectContext(
        conversation_id="conv-fx",
        client_id="c-fx",
        channel="api",
        profile={},
        now=datetime.now(UTC),
        defer=lambda job: None,
    )
    created = await handle[CreateOrder](CreateOrder(fee="ip_registration", key="fx:1"), ctx)
    assert isinstance(created, OrderCreated)
    assert await handle[CreateOrder](CreateOrder(fee="ip_registration", key="fx:1"), ctx) == created  # same order
    order = await pay.svc.orders.get(created.order)
    assert order.client_id == "c-fx" and order.conversation_id == "conv-fx"

    qr = await handle[StartPayment](StartPayment(order=order.id, method=PaymentMethod.qr), ctx)
    assert isinstance(qr, QrIssued) and qr.uin == order.uin and "КБК 18210807010018000110" in qr.requisites
    assert qr.image_url.endswith(f"/payments/qr/{order.id}.png")

    pay.standin.fail_next_create_responses = 3  # the gateway does not answer, whatever the retries
    assert await handle[StartPayment](StartPayment(order=order.id, method=PaymentMethod.card), ctx) == ProviderDown(
        PaymentMethod.card
    )
    card = await handle[StartPayment](StartPayment(order=order.id, method=PaymentMethod.card), ctx)
    assert isinstance(card, CardPageIssued) and "/checkout/" in card.url and card.amount == "1\u00a0200\u00a0₽"

    checked = await handle[CheckPayment](CheckPayment(order=order.id), ctx)
    assert isinstance(checked, OrderChecked) and checked.order.status is PaymentStatus.pending
    payment_id = (await pay.svc.orders.get(order.id)).attempt(PaymentMethod.card).provider_payment_id
    pay.standin.succeed(payment_id)  # paid, and the webhook is lost: the check asks the gateway
    checked = await handle[CheckPayment](CheckPayment(order=order.id), ctx)
    assert checked.order.status is PaymentStatus.paid and checked.order.payment_id == payment_id
    assert (await pay.svc.orders.get(order.id)).notified and pay.told("conv-fx") == []  # told in the turn, once
    closed = await handle[StartPayment](StartPayment(order=order.id, method=PaymentMethod.qr), ctx)
    assert isinstance(closed, OrderChecked) and closed.order.status is PaymentStatus.paid  # never paid twice


# ---------------------------------------------------------------- webhooks
async def test_webhook_replay_duplicate_and_out_of_order(pay):
    order, payment_id = await pay.order_with_card_payment("hook:1")
    stale = pay.standin.notification("payment.waiting_for_capture", pay.standin.snapshot(payment_id))
    # A forged «succeeded» while the gateway still says pending changes nothing.
    forged = pay.standin.notification("payment.succeeded", {**pay.standin.snapshot(payment_id), "status": "succeeded"})
    assert (await pay.standin.deliver(forged)).json()["status"] == "not_confirmed"
    assert (await pay.svc.orders.get(order.id)).status is PaymentStatus.pending

    # ... and does not make the genuine one look like a repeat: that one is applied
    succeeded = pay.standin.notification("payment.succeeded", pay.standin.succeed(payment_id))
    answers = await asyncio.gather(*(pay.standin.deliver(succeeded) for _ in range(3)))
    assert all(a.status_code == 200 for a in answers)
    assert "applied" in [a.json()["status"] for a in answers]
    assert (await pay.standin.deliver(succeeded)).json()["status"] == "duplicate"
    # Late, out-of-order notifications about an older state are ignored.
    assert (await pay.standin.deliver(stale)).status_code == 200
    canceled_claim = pay.standin.notification(
        "payment.canceled", {**pay.standin.snapshot(payment_id), "status": "canceled"}
    )
    assert (await pay.standin.deliver(canceled_claim)).status_code == 200

    order = await pay.svc.orders.get(order.id)
    assert order.status is PaymentStatus.paid and order.payment_id == payment_id and order.notified
    confirmations = pay.told(order.conversation_id)
    assert len(confirmations) == 1 and "Оплата получена" in confirmations[0] and order.uin in confirmations[0]


async def test_webhook_for_an_unknown_payment_is_acknowledged_and_ignored(pay):
    body = pay.standin.notification("payment.succeeded", {"id": "not-ours", "status": "succeeded"})
    answer = await pay.standin.deliver(body)
    assert answer.status_code == 200 and answer.json()["status"] == "unknown"
    assert (await pay.http.post(WEBHOOK_PATH, content=b"not json")).status_code == 200


async def test_a_canceled_payment_marks_the_order_failed_and_tells_the_client(pay):
    order, payment_id = await pay.order_with_card_payment("hook:cancel")
    await pay.standin.deliver(pay.standin.notification("payment.canceled", pay.standin.cancel(payment_id)))
    assert (await pay.svc.orders.get(order.id)).status is PaymentStatus.failed
    assert any("не прошёл" in t for t in pay.told(order.conversation_id))


# ---------------------------------------------------------- reconciliation
async def test_reconciliation_finds_a_payment_whose_webhook_was_lost(pay):
    order, payment_id = await pay.order_with_card_payment("rec:1")
    pay.standin.succeed(payment_id)  # no notification delivered
    counts = await reconcile_once(pay.svc)
    assert counts["paid"] >= 1
    assert (await pay.svc.orders.get(order.id)).status is PaymentStatus.paid
    await reconcile_once(pay.svc)  # a second pass changes nothing and sends nothing more
    assert len(pay.told(order.conversation_id)) == 1
    assert order.id not in await pay.svc.orders.open_ids()


async def test_unpaid_orders_expire_and_a_late_payment_is_still_recorded(pay):
    order, payment_id = await pay.order_with_card_payment("rec:late")
    counts = await reconcile_once(pay.svc, now=order.expires_at + 1)
    assert counts["expired"] >= 1 and (await pay.svc.orders.get(order.id)).status is PaymentStatus.expired
    await pay.standin.deliver(pay.standin.notification("payment.succeeded", pay.standin.succeed(payment_id)))
    assert (await pay.svc.orders.get(order.id)).status is PaymentStatus.paid
    assert any("Оплата получена" in t for t in pay.told(order.conversation_id))


# ------------------------------------------------------ conversation (API)
async def test_client_pays_by_card_after_the_registration_faq(pay):
    chat = Chat(pay.http)
    await chat.say("хочу открыть ип, что делать")
    assert chat.answered_topic() == "register_ip"
    await chat.say("хочу оплатить госпошлину")
    assert chat.last["state"]["flow"] == "pay"
    assert "регистрацию ИП" in chat.text() and "1\u00a0200" in chat.text()  # proposed from context
    await chat.press_title("Да, её")
    assert "Основание" in chat.text() and "электронной подаче" in chat.text()
    await chat.press_title("Всё верно")
    payloads = [b["payload"] for b in chat.buttons()]
    assert "flow:pay:m:qr" in payloads and "flow:pay:m:card" in payloads

    before = pay.standin.creations()
    await asyncio.gather(chat.press("flow:pay:m:card"), Chat(pay.http, cid=chat.cid).press("flow:pay:m:card"))
    assert pay.standin.creations() == before + 1  # a double tap never makes two payments
    assert "http://127.0.0.1" in chat.text() and "/checkout/" in chat.text()

    await chat.press_title("Проверить оплату")
    assert "пока не поступила" in chat.text()

    # The client pays on the gateway's page and leaves; the notification arrives.
    state = await pay.runtime.engine.conversations.load(f"api:{_key_id()}:{chat.cid}")
    order = await pay.svc.orders.get(state.flow_state["order"])
    payment_id = order.attempt(PaymentMethod.card).provider_payment_id
    await pay.standin.deliver(pay.standin.notification("payment.succeeded", pay.standin.succeed(payment_id)))
    assert len(pay.told(order.conversation_id)) == 1  # transactional notification, once
    if modules.installed(pay.runtime, "consent"):  # queued for the consent module's sender
        item = await notification(pay.runtime.redis, f"payment:{order.id}:paid")
        assert item["client_id"] == order.client_id and item["category"] == "transactional"
        assert "Оплата получена" in item["text"] and order.uin in item["text"]

    await chat.say("прошла ли моя оплата?")
    text = chat.text()
    assert "Оплата получена" in text and "1\u00a0200" in text and order.uin in text
    assert payment_id in text and "Госпошлина за государственную регистрацию" in text
    assert chat.last["state"]["flow"] is None


async def test_a_card_payment_the_webhook_confirms_is_followed_by_a_rating(pay):
    """The client pays on the gateway's page and never presses «Проверить оплату»: the
    webhook's confirmation ends the payment and asks for the rating, in the same conversation."""
    rates = pay.runtime.handoff
    saved, rates.rating_sample_rate = rates.rating_sample_rate, 1.0  # the suite's default is never
    try:
        chat = Chat(pay.http, client_id=f"rated-payer-{time.time_ns()}")
        await chat.say("оплатить госпошлину")
        await chat.press("flow:pay:f:ip_registration")
        await chat.press_title("Всё верно")
        await chat.press("flow:pay:m:card")
        cid = f"api:{_key_id()}:{chat.cid}"
        engine = pay.runtime.engine
        order = await pay.svc.orders.get((await engine.conversations.load(cid)).flow_state["order"])
        payment_id = order.attempt(PaymentMethod.card).provider_payment_id
        succeeded = pay.standin.notification("payment.succeeded", pay.standin.succeed(payment_id))
        await pay.standin.deliver(succeeded)

        assert len(pay.told(cid)) == 1  # the notice that the payment arrived, once
        sent = [Reply.model_validate_json(f["reply"]) for _, f in await pay.runtime.redis.xrange(outbox(cid))]
        asked = sent[-1]
        assert "оцените оплату" in asked.text
        assert "flow:rating:s4" in [b.payload for b in asked.buttons]
        state = await engine.conversations.load(cid)
        assert state.flow == "rating" and not state.suspended  # the payment is over, the rating waits
        assert "оцените оплату" in (await engine.conversations.history(cid, limit=1))[-1]["text"]

        await pay.standin.deliver(succeeded)  # a replayed webhook tells and asks nothing again
        assert len(pay.told(cid)) == 1 and len(await pay.runtime.redis.xrange(outbox(cid))) == len(sent)

        await chat.say("скорее удовлетворён")
        await chat.press("flow:rating:e4")
        await chat.press("flow:rating:skip")
        [(_, rating)] = await pay.runtime.redis.xrevrange(handoff_keys.handoff_ratings(), count=1)
        assert (rating["satisfaction"], rating["ease"], rating["context"]) == ("3", "4", "pay")
    finally:
        rates.rating_sample_rate = saved


async def test_client_gets_a_qr_code_with_the_same_requisites_as_text(pay):
    chat = Chat(pay.http)
    await chat.say("оплатить госпошлину")
    assert chat.last["state"]["flow"] == "pay"
    await chat.press("flow:pay:f:ooo_registration")
    await chat.press_title("Всё верно")
    await chat.press("flow:pay:m:qr")
    image = next(r for r in chat.last["replies"] if r.get("image_url"))
    assert "УИН" in image["text"] and "КБК 18210807010018000110" in image["text"]
    assert "демонстрационные реквизиты" in image["text"]  # sample requisites are never silent
    png = await pay.http.get(httpx.URL(image["image_url"]).path)
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert png.content[:4] == b"\x89PNG"
    await chat.press_title("Проверить оплату")
    assert "пока не поступила" in chat.text()
    await chat.press_title("Отменить")
    assert chat.last["state"]["flow"] is None
    missing = await pay.http.get("/payments/qr/0123456789abcdef01234567.png")
    assert missing.status_code == 404 and "Запросите оплату" in missing.json()["message"]


async def test_a_payment_set_aside_comes_back_with_its_question(pay):
    """Another flow's button pressed mid-payment (Engine.run_aside): when that flow ends,
    the payment asks its question again (PayFlow.reprompt)."""
    chat = Chat(pay.http)
    await chat.say("оплатить госпошлину")
    await chat.press("flow:pay:f:ooo_registration")
    engine = pay.runtime.engine
    other = engine.flows["callback"]

    async def detour(turn) -> None:
        await engine.run_aside(turn, other, other.cancel(None, engine.flow_context(turn)))

    state, said = await engine.system_turn(f"api:{_key_id()}:{chat.cid}", detour)
    assert state.flow == "pay" and state.flow_state["step"] == "confirm"
    assert "звонок заказывать не будем" in said[0].text and "Основание" in said[-1].text
    assert [b.payload for b in said[-1].buttons][:2] == ["flow:pay:ok", "flow:pay:other"]
    await chat.press("flow:pay:ok")  # and the payment goes on
    assert "flow:pay:m:qr" in [b["payload"] for b in chat.buttons()]


async def test_status_question_without_payments_says_what_to_do(pay):
    chat = Chat(pay.http)
    await chat.say("прошла ли моя оплата?")
    assert "не нашёл ваших платежей" in chat.text()


async def test_a_typed_uin_with_a_typo_gets_a_fix_it_answer(pay):
    chat = Chat(pay.http)
    await chat.say("прошла ли оплата по уин 18810177000000000411")
    assert chat.kinds()[0] == "error" and "контрольная цифра" in chat.text()


def _key_id() -> str:
    import hashlib

    return hashlib.sha256(API_KEY.encode()).hexdigest()[:10]


# ----------------------------------------------------------- Telegram pieces
async def test_telegram_pre_checkout_and_successful_payment(pay):
    from bot.payments import telegram_payments as tp

    order = await pay.svc.create_order(
        "egrul_extract", client_id="tg:7", conversation_id="tg:7", channel="telegram", idempotency_key="tg:7:1"
    )
    invoice = tp.invoice(order, "TEST:provider")
    assert invoice["currency"] == "RUB" and invoice["prices"][0].amount == order.amount_kopecks == 20000
    assert invoice["payload"] == f"pay:{order.id}" and len(invoice["payload"].encode()) <= 128
    assert len(invoice["title"]) <= 32 and order.uin in invoice["description"]

    assert await tp.pre_checkout(pay.svc, invoice["payload"], "RUB", 20000) == (True, None)
    ok, error = await tp.pre_checkout(pay.svc, invoice["payload"], "RUB", 19900)
    assert not ok and "не совпадает" in error
    ok, error = await tp.pre_checkout(pay.svc, "pay:unknown", "RUB", 20000)
    assert not ok and error

    paid = await asyncio.gather(
        *(tp.successful_payment(pay.svc, invoice["payload"], "RUB", 20000, "tg-charge-1") for _ in range(3))
    )  # replayed updates
    assert all(o.status is PaymentStatus.paid and o.payment_id == "tg-charge-1" for o in paid)
    assert pay.told("tg:7") == []  # the client is in the chat: the channel confirms in the turn
    ok, error = await tp.pre_checkout(pay.svc, invoice["payload"], "RUB", 20000)
    assert not ok and "уже оплачено" in error  # never charged twice


async def test_telegram_payments_plug_into_the_telegram_channel(settings, redis_server, rasa_url, retriever):
    conf = settings.model_copy(
        update={"telegram_bot_token": "123456:ABC-def", "telegram_payments_provider_token": "TEST:provider"}
    )
    runtime = await Runtime.create(conf, redis_server.url, rasa_url, retriever)
    try:
        svc = runtime.payments
        assert next(m.value for m in svc.methods("telegram")) == "telegram"
        assert "telegram" not in [m.value for m in svc.methods("api")]
        assert svc.invoice_sender is not None
        ahead = runtime.telegram.dp.sub_routers[0]  # ahead of the channel's catch-all
        assert ahead is runtime.telegram.extensions and ahead.sub_routers[0].name == "payments"
        assert "pre_checkout_query" in runtime.telegram.allowed_updates
    finally:
        await runtime.telegram.bot.session.close()
        await runtime.close()
