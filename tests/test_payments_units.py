"""Payments, the parts without I/O: УИН check digits, the QR payload, the fee
catalogue, the status machine and the payment flow's steps."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from bot.core.messages import ReplyKind
from bot.flows.base import FlowContext, FlowEvent
from bot.payments import qr, receipts, texts, uin
from bot.payments.catalogue import CatalogueError, format_rubles, load_catalogue
from bot.payments.flow import (
    CardPageIssued,
    CheckPayment,
    CreateOrder,
    InvoiceNotDelivered,
    InvoiceSent,
    OrderChecked,
    OrderCreated,
    PayFlow,
    PayState,
    ProviderDown,
    QrIssued,
    StartPayment,
)
from bot.payments.receipts import OrderFacts
from bot.payments.status import TRANSITIONS, InvalidTransition, PaymentMethod, PaymentStatus, transition
from bot.settings import ROOT

CATALOGUE = ROOT / "bot" / "payments" / "fees.yaml"


# ------------------------------------------------------------------- УИН
@pytest.mark.parametrize(
    "body, digit",
    [
        # weights 1..10,1..9 over 19 digits; only the last digit is 1 → weight 9 → 9
        ("0000000000000000001", 9),
        # last digit 6 → 6·9 = 54 ≡ 10 (mod 11) → second pass, weight (18+2)%10+1 = 1 → 6
        ("0000000000000000006", 6),
        # first pass 10, second pass 10 → 0
        ("1881017700000000041", 0),
    ],
)
def test_check_digit_follows_the_treasury_rule(body, digit):
    assert uin.check_digit(body) == digit


def test_issued_uins_are_20_digits_and_valid():
    for n in (1, 6, 41, 999, 10**11 - 1):
        code = uin.make("18810177", n)
        assert len(code) == 20 and uin.is_valid(code)
    assert uin.validate("1881 0177 0000 0000 0410") == "18810177000000000410"  # spaces people type


def test_25_digit_uins_are_checked_too():
    body = "0" * 8 + "1234567890123456"
    code = body + str(uin.check_digit(body))
    assert len(code) == 25 and uin.is_valid(code)


def test_a_corrupted_uin_is_rejected_with_a_fix_it_message():
    good = uin.make("18810177", 123456)
    wrong_check = good[:-1] + str((int(good[-1]) + 1) % 10)
    swapped = good[:16] + good[17] + good[16] + good[18:]  # «…3456» typed as «…3546»
    changed = good[:12] + str((int(good[12]) + 3) % 10) + good[13:]
    for bad in (wrong_check, swapped, changed):
        assert bad != good
        with pytest.raises(uin.UinError, match="контрольная цифра"):
            uin.validate(bad)
    with pytest.raises(uin.UinError, match="20 или 25 цифр"):
        uin.validate(good[:-2])
    with pytest.raises(uin.UinError, match="только из цифр"):
        uin.validate(good[:-1] + "A")
    with pytest.raises(uin.UinError, match="одних нулей"):
        uin.validate("0" * 20)


# --------------------------------------------------------------- catalogue
def test_catalogue_has_the_registration_fees_as_data():
    cat = load_catalogue(CATALOGUE)
    ip, ooo = cat.get("ip_registration"), cat.get("ooo_registration")
    assert ip.amount_kopecks == 120000 and ip.free_electronically and "176-ФЗ" in ip.legal_basis
    assert ooo.amount_kopecks == 1000000
    assert cat.requisites_are_sample  # the organisation must set its region's requisites
    assert all(f.payee.kbk and f.checked_on and f.source.url for f in cat.fees)
    assert format_rubles(120000) == "1\u00a0200\u00a0₽"


def test_catalogue_errors_name_the_file_the_fee_and_the_field(tmp_path):
    text = CATALOGUE.read_text(encoding="utf-8").replace('bic: "013002402"', 'bic: "01300"', 1)
    text = text.replace("amount_kopecks: 1000000", "amount_kopecks: -5", 1)
    broken = tmp_path / "fees.yaml"
    broken.write_text(text, encoding="utf-8")
    with pytest.raises(CatalogueError) as err:
        load_catalogue(broken)
    message = str(err.value)
    assert str(broken) in message
    assert "fee ooo_registration, field amount_kopecks" in message
    assert "field payee.bic" in message and "БИК" in message


# ---------------------------------------------------------------------- QR
def _details(purpose: str | None = None):
    fee = load_catalogue(CATALOGUE).get("ip_registration")
    return qr.PaymentDetails(
        payee=fee.payee, amount_kopecks=fee.amount_kopecks, purpose=purpose or fee.purpose, uin=uin.make("18810177", 42)
    )


def test_qr_payload_has_the_standard_header_and_field_order():
    data = qr.payload(_details(), "windows-1251")
    assert data.startswith(b"ST00011|")  # ST0001 + '1' = windows-1251
    text = data.decode("cp1251")
    keys = [part.split("=", 1)[0] for part in text.split("|")[1:]]
    assert keys == [
        "Name",
        "PersonalAcc",
        "BankName",
        "BIC",
        "CorrespAcc",
        "PayeeINN",
        "KPP",
        "CBC",
        "OKTMO",
        "Sum",
        "Purpose",
        "UIN",
    ]
    values = dict(part.split("=", 1) for part in text.split("|")[1:])
    assert values["Sum"] == "120000"  # kopecks
    assert values["UIN"] == uin.make("18810177", 42)
    assert values["Purpose"].startswith("Госпошлина за государственную регистрацию")
    assert len(values["BankName"]) <= 45


def test_qr_payload_in_utf8_says_so_and_fits_the_length_limit():
    data = qr.payload(_details(), "utf-8")
    assert data.startswith(b"ST00012|")  # '2' = utf-8
    assert len(data) <= qr.MAX_BYTES
    assert "Госпошлина" in data.decode("utf-8")  # purpose shortened, not dropped


def test_qr_payload_shortens_a_long_purpose_and_never_breaks_the_format():
    data = qr.payload(_details(purpose="Оплата | за " + "очень длинное назначение " * 10))
    assert len(data) <= qr.MAX_BYTES
    text = data.decode("cp1251")
    assert text.count("|") == 12  # the separator in the value was replaced
    assert text.endswith("UIN=" + uin.make("18810177", 42))


def test_qr_png_is_an_image_and_the_text_carries_the_same_requisites():
    details = _details()
    png = qr.png(qr.payload(details))
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 1000
    text = qr.requisites_text(details)
    for value in (details.payee.account, details.payee.bic, details.payee.kbk, details.payee.oktmo, details.uin):
        assert value in text
    assert "1\u00a0200\u00a0₽" in text


# ---------------------------------------------------------- status machine
S = PaymentStatus
ALLOWED = {
    (S.created, S.pending),
    (S.created, S.paid),
    (S.created, S.expired),
    (S.pending, S.paid),
    (S.pending, S.failed),
    (S.pending, S.expired),
    (S.expired, S.paid),  # a late payment is still recorded: never lost
    (S.paid, S.refunded),
}


@pytest.mark.parametrize("current", list(S))
@pytest.mark.parametrize("new", list(S))
def test_status_machine_table(current, new):
    if current is new or (current, new) in ALLOWED:
        assert transition(current, new) is new
    else:
        with pytest.raises(InvalidTransition):
            transition(current, new)


def test_status_values_are_validated_in_one_place():
    assert {s for pair in ALLOWED for s in pair} == set(S)
    assert set(TRANSITIONS) == set(S)
    with pytest.raises(ValueError):
        transition("pending", "lost")


# ------------------------------------------------------- flow (pure steps)
# The payment flow as tables: (state, event) → (next state, effects, what it says).
# Outcomes are events too: what the effect handlers report comes back here.
CAT = load_catalogue(CATALOGUE)
M = PaymentMethod
RUN = 1_800_000_000_000  # the flow run's start (ms), part of the order's idempotency key


def _methods(channel: str) -> list[PaymentMethod]:  # as PaymentService.methods: Telegram's own first
    return ([M.telegram] if channel == "telegram" else []) + [M.qr, M.card]


FLOW = PayFlow(CAT, _methods)


def _ctx(channel: str = "api", seconds: int = 0) -> FlowContext:
    return FlowContext(
        conversation_id="c1",
        client_id="k1",
        channel=channel,
        profile={},
        now=datetime.fromtimestamp(RUN / 1000 + seconds, UTC),
    )


def st(step: str, **fields) -> PayState:
    return PayState(step=step, run=RUN, **fields)


def facts(status: PaymentStatus) -> OrderFacts:
    return OrderFacts(
        id="o1",
        status=status,
        name="Госпошлина за регистрацию ООО",
        amount="10\u00a0000\u00a0₽",
        purpose="Госпошлина за государственную регистрацию ЮЛ",
        uin="18810177000000000410",
        date="01.02.2027 10:00",
        payment_id="pay-77",
    )


def _payloads(step) -> list[str]:
    return [b.payload for r in step.replies for b in r.buttons]


AWAIT = ["flow:pay:check", "flow:pay:methods", "flow:pay:x"]
METHODS = ["flow:pay:m:qr", "flow:pay:m:card"]
OOO = "ooo_registration"
PASS = "passthrough"


@pytest.mark.parametrize(
    "state, event, after, effects, says",
    [
        # choosing the fee
        (st("choose"), FlowEvent(payload=f"f:{OOO}"), st("confirm", fee=OOO), (), "Основание"),
        (st("choose"), FlowEvent(payload="other"), st("choose"), (), texts.CHOOSE_FEE),
        (st("choose"), FlowEvent(payload="f:no_such_fee"), st("choose"), (), texts.NOT_UNDERSTOOD_FEE),
        (st("choose"), FlowEvent(text="за ооо", intent="pay_fee"), st("confirm", fee=OOO), (), "Основание"),
        (st("choose"), FlowEvent(text="какие налоги платит самозанятый", intent="faq"), st("choose"), (), PASS),
        (st("propose", fee=OOO), FlowEvent(text="да", intent="affirm"), st("confirm", fee=OOO), (), "Основание"),
        (st("propose", fee=OOO), FlowEvent(text="нет", intent="deny"), st("choose"), (), texts.CHOOSE_FEE),
        # confirming it: the order is an effect, its key unique per run and attempt
        (
            st("confirm", fee=OOO),
            FlowEvent(payload="ok"),
            st("method", fee=OOO, attempt=1),
            (CreateOrder(fee=OOO, key=f"c1:{RUN}:1"),),
            None,
        ),
        (
            st("confirm", fee=OOO, attempt=1, order="old"),
            FlowEvent(text="да", intent="affirm"),
            st("method", fee=OOO, attempt=2),
            (CreateOrder(fee=OOO, key=f"c1:{RUN}:2"),),
            None,
        ),
        (st("confirm", fee=OOO), FlowEvent(text="нет", intent="deny"), st("choose"), (), texts.CHOOSE_FEE),
        (st("confirm", fee=OOO), FlowEvent(payload="m:qr"), st("confirm", fee=OOO), (), texts.NOT_UNDERSTOOD_STEP),
        (st("confirm", fee=OOO), FlowEvent(text="а сколько ждать", intent="faq"), st("confirm", fee=OOO), (), PASS),
        (st("confirm"), FlowEvent(payload="ok"), st("choose"), (), texts.CHOOSE_FEE),  # no fee: choose again
        # paying: a way chosen (pressed or typed), a check, back to the ways
        (
            st("method", fee=OOO, order="o1"),
            FlowEvent(payload="m:card"),
            st("await", fee=OOO, order="o1"),
            (StartPayment(order="o1", method=M.card),),
            None,
        ),
        (
            st("method", fee=OOO, order="o1"),
            FlowEvent(text="оплачу картой", intent="pay_fee"),
            st("await", fee=OOO, order="o1"),
            (StartPayment(order="o1", method=M.card),),
            None,
        ),
        (
            st("await", fee=OOO, order="o1"),
            FlowEvent(payload="m:qr"),
            st("await", fee=OOO, order="o1"),
            (StartPayment(order="o1", method=M.qr),),
            None,
        ),
        (
            st("method", order="o1"),
            FlowEvent(payload="m:telegram"),
            st("method", order="o1"),
            (),
            texts.NOT_UNDERSTOOD_STEP,
        ),  # not offered outside Telegram
        (
            st("await", order="o1"),
            FlowEvent(payload="check"),
            st("await", order="o1"),
            (CheckPayment(order="o1"),),
            None,
        ),
        (
            st("await", order="o1"),
            FlowEvent(text="прошла оплата?", intent="payment_status"),
            st("await", order="o1"),
            (CheckPayment(order="o1"),),
            None,
        ),
        (st("await", order="o1"), FlowEvent(payload="methods"), st("method", order="o1"), (), texts.CHOOSE_METHOD),
        (st("await", order="o1"), FlowEvent(payload="zzz"), st("await", order="o1"), (), texts.NOT_UNDERSTOOD_STEP),
        (st("await", order="o1"), FlowEvent(text="как открыть ип", intent="faq"), st("await", order="o1"), (), PASS),
        (st("method"), FlowEvent(payload="m:qr"), st("method"), (), texts.NOT_UNDERSTOOD_STEP),  # no order to pay
        # cancelling, at any step
        (st("confirm", fee=OOO), FlowEvent(payload="x"), None, (), texts.CANCELLED),
        (st("await", order="o1"), FlowEvent(text="не надо, передумал"), None, (), texts.CANCELLED),
    ],
)
def test_pay_flow_steps(state, event, after, effects, says):
    step = FLOW.step(state, event, _ctx())
    assert step.state == after and step.effects == effects
    assert step.passthrough is (says == PASS)
    if says is None:
        assert step.replies == ()
    elif says != PASS:
        assert says in step.replies[0].text
    assert all(len(p.encode()) <= 64 for p in _payloads(step))


QR = QrIssued(uin="18810177000000000410", requisites="КБК 18210807010018000110", image_url="http://h/qr.png")


@pytest.mark.parametrize(
    "state, outcome, after, says, buttons",
    [
        (
            st("method", fee=OOO, attempt=1),
            OrderCreated(order="o1"),
            st("method", fee=OOO, attempt=1, order="o1"),
            [texts.CHOOSE_METHOD],
            [*METHODS, "flow:pay:x"],
        ),
        (
            st("await", order="o1"),
            QR,
            st("await", order="o1"),
            ["Отсканируйте QR-код", "УИН 18810177000000000410"],
            AWAIT,
        ),
        (
            st("await", order="o1"),
            CardPageIssued(amount="1\u00a0200\u00a0₽", url="https://pay.example/checkout/1"),
            st("await", order="o1"),
            ["https://pay.example/checkout/1"],
            AWAIT,
        ),
        (st("await", order="o1"), InvoiceSent(amount="200\u00a0₽"), st("await", order="o1"), ["Отправил счёт"], AWAIT),
        (
            st("await", order="o1"),
            InvoiceNotDelivered(),
            st("method", order="o1"),
            [texts.TELEGRAM_UNAVAILABLE],
            METHODS,
        ),
        (st("await", order="o1"), ProviderDown(M.card), st("method", order="o1"), [texts.METHOD_UNAVAILABLE], METHODS),
        (
            st("await", order="o1"),
            OrderChecked(facts(PaymentStatus.pending)),
            st("await", order="o1"),
            ["пока не поступила"],
            AWAIT,
        ),
        (
            st("await", order="o1"),
            OrderChecked(facts(PaymentStatus.created)),
            st("await", order="o1"),
            ["пока не поступила"],
            AWAIT,
        ),
        (st("await", order="o1"), OrderChecked(facts(PaymentStatus.paid)), None, ["Оплата получена", "pay-77"], []),
        (st("await", order="o1"), OrderChecked(facts(PaymentStatus.failed)), None, ["не прошёл"], []),
        (st("await", order="o1"), OrderChecked(facts(PaymentStatus.expired)), None, ["истёк"], []),
        (st("await", order="o1"), OrderChecked(facts(PaymentStatus.refunded)), None, ["возвращён"], []),
    ],
)
def test_pay_flow_words_what_its_effects_report(state, outcome, after, says, buttons):
    step = FLOW.step(state, FlowEvent(outcome=outcome), _ctx())
    assert step.state == after and step.effects == () and not step.passthrough
    text = "\n".join(r.text for r in step.replies)
    assert all(s in text for s in says), text
    assert _payloads(step) == buttons
    if after is None:  # settled: told as information, the flow is over
        assert [r.kind for r in step.replies] == [ReplyKind.info]


def test_a_qr_comes_with_its_requisites_and_without_an_image_when_it_cannot_be_made():
    shown = FLOW.step(st("await", order="o1"), FlowEvent(outcome=QR), _ctx())
    image, after = shown.replies
    assert image.image_url == QR.image_url and QR.requisites in image.text
    assert texts.SAMPLE_WARNING in image.text  # sample requisites are never silent
    assert "УИН 18810177000000000410" in after.text
    no_qr = FLOW.step(st("await", order="o1"), FlowEvent(outcome=replace(QR, image_url=None)), _ctx())
    assert no_qr.replies[0].image_url is None and "сформировать не удалось" in no_qr.replies[0].text
    assert QR.requisites in no_qr.replies[0].text


def test_pay_flow_start_proposes_one_fee_or_offers_them_all():
    proposed = FLOW.start(_ctx(), FlowEvent(entities={"context_fee": OOO}))
    assert proposed.state == st("propose", fee=OOO) and "10\u00a0000" in proposed.replies[0].text
    assert _payloads(proposed) == [f"flow:pay:f:{OOO}", "flow:pay:other", "flow:pay:x"]
    by_amount = FLOW.start(_ctx(), FlowEvent(entities={"amount": "1200"}))  # two fees cost 1 200 ₽
    assert by_amount.state == st("choose")
    payloads = _payloads(by_amount)
    assert payloads[:2] == ["flow:pay:f:ip_registration", "flow:pay:f:ooo_changes"]
    assert len(payloads) == len(CAT.fees) + 1 and payloads[-1] == "flow:pay:x"
    later = FLOW.start(_ctx(seconds=60), FlowEvent())  # a later run: new order keys
    assert later.state.run == RUN + 60_000


def test_pay_flow_offers_the_ways_to_pay_of_the_channel():
    created = FLOW.step(st("method", fee=OOO, attempt=1), FlowEvent(outcome=OrderCreated("o1")), _ctx("telegram"))
    assert _payloads(created) == ["flow:pay:m:telegram", *METHODS, "flow:pay:x"]
    typed = FLOW.step(created.state, FlowEvent(text="оплачу в телеграме"), _ctx("telegram"))
    assert typed.effects == (StartPayment(order="o1", method=M.telegram),)
    assert FLOW.step(created.state, FlowEvent(text="оплачу в телеграме"), _ctx()).passthrough  # not offered in the API


@pytest.mark.parametrize(
    "state, says, buttons",
    [
        (st("choose"), texts.CHOOSE_FEE, None),
        (st("propose", fee=OOO), "Похоже, вам нужна", [f"flow:pay:f:{OOO}", "flow:pay:other", "flow:pay:x"]),
        (st("confirm", fee=OOO), "Основание", ["flow:pay:ok", "flow:pay:other", "flow:pay:x"]),
        (st("method", fee=OOO, order="o1"), texts.CHOOSE_METHOD, [*METHODS, "flow:pay:x"]),
        (st("await", fee=OOO, order="o1"), "Вернёмся к оплате «Госпошлина за регистрацию ООО»", AWAIT),
    ],
)
def test_pay_flow_asks_its_question_again_after_a_detour(state, says, buttons):
    step = FLOW.reprompt(state, _ctx())
    assert step.state == state and step.effects == ()
    assert says in step.replies[0].text
    if buttons is not None:
        assert _payloads(step) == buttons


@pytest.mark.parametrize(
    "told, ends",
    [
        ([facts(PaymentStatus.paid)], True),
        ([replace(facts(PaymentStatus.paid), id="other"), facts(PaymentStatus.expired)], True),
        ([facts(PaymentStatus.pending)], False),
        ([replace(facts(PaymentStatus.paid), id="other")], False),  # another order was paid, not this flow's
    ],
)
def test_the_flow_ends_when_the_client_was_told_its_order_is_settled(told, ends):
    state = st("await", fee=OOO, order="o1")
    step = FLOW.status_told(state, told)
    assert (step.state is None) is ends and step.replies == () and step.effects == ()


def test_cancel_says_so_and_ends():
    step = FLOW.cancel(st("await", order="o1"), _ctx())
    assert step.state is None and step.replies[0].text == texts.CANCELLED and step.effects == ()


def test_receipts_word_one_order_and_a_list():
    paid = receipts.status_reply(facts(PaymentStatus.paid))
    assert paid.kind is ReplyKind.info and "pay-77" in paid.text and "01.02.2027 10:00" in paid.text
    listed = receipts.status_list([facts(PaymentStatus.pending), facts(PaymentStatus.refunded)]).text
    assert listed.count("УИН 18810177000000000410") == 2 and "ожидает оплаты" in listed and "возвращён" in listed
