"""Issue 13, payments: what the client meant is kept (a fee named in the request is
preselected, an FAQ answer that offers to pay has the button, a question inside
the payment is answered, not taken for a fee), and a QR payment is confirmed —
by a supervisor in the console, by the CLI, from a bank statement, or by the
ГИС ГМП stand-in — with an audit entry and the client notified, dates in the
organisation's time zone. Through the HTTP API and the console over HTTP."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
import pytest_asyncio

from bot.app import create_app
from bot.consent.notifications import notification
from bot.payments import staff
from bot.payments.gisgmp import LocalPaymentInfo
from bot.payments.reconcile import reconcile_once
from bot.payments.status import PaymentMethod, PaymentStatus
from bot.runtime import Runtime
from bot.settings import ROOT
from tests.chat import Chat
from tests.conftest import API_KEY
from tests.console_kit import csrf_of, signed_in
from tests.schedule_kit import ALWAYS_OPEN

ZONE = ZoneInfo("Asia/Kamchatka")


def _conversation(chat: Chat) -> str:
    return f"api:{hashlib.sha256(API_KEY.encode()).hexdigest()[:10]}:{chat.cid}"


@pytest_asyncio.fixture(scope="module")
async def app(settings, redis_server, rasa_url, retriever, tmp_path_factory):
    schedule = tmp_path_factory.mktemp("pay13") / "schedule.yaml"
    schedule.write_text(ALWAYS_OPEN, encoding="utf-8")
    own = settings.model_copy(update={"handoff_schedule_file": schedule, "notify_timezone": "Europe/Moscow"})
    runtime = await Runtime.create(own, redis_server.url, rasa_url, retriever)
    transport = httpx.ASGITransport(app=create_app(runtime))
    async with httpx.AsyncClient(transport=transport, base_url="http://assistant", headers={"X-Api-Key": API_KEY}) as c:
        yield runtime, c
    await runtime.close()


def _web(app) -> httpx.AsyncClient:
    _runtime, api = app
    return httpx.AsyncClient(transport=api._transport, base_url="http://assistant")


async def _qr_order(runtime, api, fee: str = "ooo_registration"):
    """A client who chose to pay by QR code: their conversation and order."""
    chat = Chat(api)
    await chat.say("оплатить госпошлину")
    await chat.press(f"flow:pay:f:{fee}")
    await chat.press_title("Всё верно")
    await chat.press("flow:pay:m:qr")
    assert "УИН" in chat.text()
    state = await runtime.engine.conversations.load(_conversation(chat))
    return chat, await runtime.payments.orders.get(state.flow_state["order"])


# --------------------------------------------------------------- conversation
async def test_a_pay_request_naming_the_fee_starts_the_payment_with_it(app):
    _runtime, api = app
    chat = Chat(api)
    await chat.say("хочу оплатить госпошлину за регистрацию ооо")
    assert chat.last["state"]["flow"] == "pay", chat.text()
    assert "регистрацию ООО" in chat.text() and "10\u00a0000" in chat.text()
    assert next(b["payload"] for b in chat.buttons()) == "flow:pay:f:ooo_registration"


async def test_an_faq_answer_that_offers_to_pay_has_a_pay_button(app):
    _runtime, api = app
    chat = Chat(api)
    await chat.say("сколько стоит госпошлина за регистрацию ип или ооо")
    assert chat.answered_topic() == "registration_fee"
    answer = next(r for r in chat.last["replies"] if r["kind"] == "answer")
    assert "оплатить госпошлину прямо здесь" in answer["text"]
    assert [b["payload"] for b in answer["buttons"]] == ["do:pay_fee"]
    await chat.press("do:pay_fee")
    assert chat.last["state"]["flow"] == "pay"
    assert "flow:pay:f:ip_registration" in [b["payload"] for b in chat.buttons()]


async def test_the_pay_button_proposes_the_fee_the_question_named(app):
    _runtime, api = app
    chat = Chat(api)
    await chat.say("сколько стоит госпошлина за регистрацию ооо")
    assert chat.answered_topic() == "registration_fee"
    await chat.press("do:pay_fee")
    assert chat.last["state"]["flow"] == "pay"
    assert next(b["payload"] for b in chat.buttons()) == "flow:pay:f:ooo_registration", chat.text()
    assert "flow:pay:f:ip_registration" not in [b["payload"] for b in chat.buttons()]


async def test_a_question_inside_the_payment_is_answered_not_taken_for_a_fee(app):
    runtime, api = app
    chat = Chat(api)
    await chat.say("оплатить госпошлину")
    assert chat.last["state"]["flow"] == "pay"
    await chat.say("а как закрыть ип вообще?")
    assert "Проверьте, пожалуйста, данные платежа" not in chat.text()  # no fee was chosen
    assert chat.answered_topic() == "close_ip"
    state = await runtime.engine.conversations.load(_conversation(chat))
    assert state.flow == "pay" and state.flow_state["fee"] is None


# ------------------------------------------------------------------- staff
async def test_a_supervisor_marks_a_qr_payment_received_in_the_console(app):
    runtime, api = app
    chat, order = await _qr_order(runtime, api)
    async with _web(app) as web:
        await signed_in(web, runtime.redis, "oper13", "operator-password-13")
        refused = await web.get("/console/payments")
        assert refused.status_code == 403 and "руководитель смены" in refused.text
    async with _web(app) as web:
        await signed_in(web, runtime.redis, "boss13", "supervisor-password-13", role="supervisor")
        page = await web.get("/console/payments")
        assert page.status_code == 200 and order.uin in page.text
        token = csrf_of(page.text)
        wrong = await web.post("/console/payments/mark", data={"csrf": token, "uin": order.uin, "amount": "1200"})
        assert "сумма не совпадает" in (await web.get(wrong.headers["location"])).text
        assert (await runtime.payments.orders.get(order.id)).status is PaymentStatus.pending
        done = await web.post("/console/payments/mark", data={"csrf": token, "uin": order.uin, "amount": "10 000,00"})
        after = await web.get(done.headers["location"])
        assert "отмечен как полученный" in after.text and "boss13" in after.text  # the audit line

    paid = await runtime.payments.orders.get(order.id)
    assert paid.status is PaymentStatus.paid and paid.paid_method is PaymentMethod.qr
    item = await notification(runtime.redis, f"payment:{order.id}:paid")  # the client is told, once
    assert item["client_id"] == order.client_id and "Оплата получена" in item["text"] and order.uin in item["text"]
    local = datetime.fromtimestamp(paid.paid_at, ZONE).strftime("%d.%m.%Y %H:%M")
    assert local in item["text"]  # the organisation's zone (the schedule's), not the server's
    await chat.say("прошла ли моя оплата?")
    assert "Оплата получена" in chat.text() and local in chat.text()
    entries = await staff.audit(runtime.redis)
    assert [(e.by, e.source, e.result) for e in entries[:2]] == [
        ("boss13", "console", "marked"),
        ("boss13", "console", "amount_differs"),
    ]


async def test_a_bank_statement_marks_the_matching_payments(app):
    runtime, api = app
    _, first = await _qr_order(runtime, api, "ip_registration")
    _, second = await _qr_order(runtime, api, "egrul_extract")
    statement = (
        "Дата;Номер;Сумма;Назначение платежа;УИН\n"
        f"01.12.2026;101;1 200,00;Госпошлина за регистрацию ИП;{first.uin}\n"
        f"01.12.2026;102;200,00;Плата за выписку УИН {second.uin};\n"
        "01.12.2026;103;500,00;Оплата по счёту 17;\n"
    )
    async with _web(app) as web:
        token = await signed_in(web, runtime.redis, "boss13b", "supervisor-password-13", role="supervisor")
        token = csrf_of((await web.get("/console/payments")).text)
        resp = await web.post(
            "/console/payments/statement",
            data={"csrf": token},
            files={"file": ("vypiska.csv", statement.encode("windows-1251"), "text/csv")},
        )
        page = (await web.get(resp.headers["location"])).text
    assert "строк 3, отмечено оплаченными 2" in page and "в строке выписки нет УИН" in page
    for order in (first, second):
        assert (await runtime.payments.orders.get(order.id)).status is PaymentStatus.paid
        assert await notification(runtime.redis, f"payment:{order.id}:paid")


async def test_the_cli_marks_a_payment_and_imports_a_statement(app, redis_server, tmp_path):
    runtime, api = app
    _, order = await _qr_order(runtime, api, "ip_registration")
    _, other = await _qr_order(runtime, api, "ooo_changes")
    env = {**os.environ, "REDIS_URL": redis_server.url}

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "bot.payments", *args], capture_output=True, text=True, env=env, cwd=ROOT, timeout=60
        )

    refused = cli("mark", order.uin, "--amount", "1300", "--by", "Иванова")
    assert refused.returncode == 1 and "сумма не совпадает" in refused.stdout
    done = cli("mark", order.uin, "--amount", "1200", "--by", "Иванова")
    assert done.returncode == 0 and "отмечен как полученный" in done.stdout, done.stderr
    assert (await runtime.payments.orders.get(order.id)).status is PaymentStatus.paid
    assert await notification(runtime.redis, f"payment:{order.id}:paid")
    csv_file = tmp_path / "statement.csv"
    csv_file.write_text(f"uin,amount\n{other.uin},1200.00\n", encoding="utf-8")
    imported = cli("statement", str(csv_file), "--by", "Иванова")
    assert imported.returncode == 0 and "отмечено оплаченными: 1" in imported.stdout, imported.stderr
    assert (await runtime.payments.orders.get(other.id)).status is PaymentStatus.paid
    sources = [(e.by, e.source) for e in await staff.audit(runtime.redis, limit=3)]
    assert sources == [("Иванова", "statement"), ("Иванова", "cli"), ("Иванова", "cli")]


async def test_a_payment_reported_by_gis_gmp_is_confirmed_by_reconciliation(app):
    runtime, api = app
    svc = runtime.payments
    _, order = await _qr_order(runtime, api, "egrul_extract")
    standin = LocalPaymentInfo()
    qr = svc.providers[PaymentMethod.qr]
    saved, qr.info = qr.info, standin
    try:
        await reconcile_once(svc)
        assert (await svc.orders.get(order.id)).status is PaymentStatus.pending  # nothing arrived yet
        standin.receive(order.uin, order.amount_kopecks, "10471020010005233009202600000001")
        await reconcile_once(svc)
    finally:
        qr.info = saved
    paid = await svc.orders.get(order.id)
    assert paid.status is PaymentStatus.paid and paid.payment_id == "10471020010005233009202600000001"
    assert "Оплата получена" in (await notification(runtime.redis, f"payment:{order.id}:paid"))["text"]
