"""Payments, the parts without I/O: УИН check digits, the QR payload, the fee
catalogue and the status machine."""

from __future__ import annotations

import pytest

from bot.payments import qr, uin
from bot.payments.catalogue import CatalogueError, format_rubles, load_catalogue
from bot.payments.orders import InvalidTransition, PaymentStatus, TRANSITIONS, transition
from bot.settings import ROOT

CATALOGUE = ROOT / "bot" / "payments" / "fees.yaml"


# ------------------------------------------------------------------- УИН
@pytest.mark.parametrize("body, digit", [
    # weights 1..10,1..9 over 19 digits; only the last digit is 1 → weight 9 → 9
    ("0000000000000000001", 9),
    # last digit 6 → 6·9 = 54 ≡ 10 (mod 11) → second pass, weight (18+2)%10+1 = 1 → 6
    ("0000000000000000006", 6),
    # first pass 10, second pass 10 → 0
    ("1881017700000000041", 0),
])
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
    return qr.PaymentDetails(payee=fee.payee, amount_kopecks=fee.amount_kopecks,
                             purpose=purpose or fee.purpose, uin=uin.make("18810177", 42))


def test_qr_payload_has_the_standard_header_and_field_order():
    data = qr.payload(_details(), "windows-1251")
    assert data.startswith(b"ST00011|")  # ST0001 + '1' = windows-1251
    text = data.decode("cp1251")
    keys = [part.split("=", 1)[0] for part in text.split("|")[1:]]
    assert keys == ["Name", "PersonalAcc", "BankName", "BIC", "CorrespAcc", "PayeeINN", "KPP", "CBC",
                    "OKTMO", "Sum", "Purpose", "UIN"]
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
    (S.created, S.pending), (S.created, S.paid), (S.created, S.expired),
    (S.pending, S.paid), (S.pending, S.failed), (S.pending, S.expired),
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
def _flow_and_ctx(seconds: int = 0, channel: str = "api"):
    from datetime import datetime, timezone

    from bot.flows.base import FlowContext
    from bot.payments.flow import PayFlow

    flow = PayFlow(load_catalogue(CATALOGUE), lambda ch: ["qr", "card"] + (["telegram"] if ch == "telegram" else []))
    ctx = FlowContext(conversation_id="c1", client_id="k1", channel=channel, profile={},
                      now=datetime.fromtimestamp(1_800_000_000 + seconds, timezone.utc))
    return flow, ctx


def test_pay_flow_proposes_the_fee_from_context_and_creates_the_order_by_effect():
    from bot.flows.base import FlowEvent

    flow, ctx = _flow_and_ctx()
    step = flow.start(ctx, FlowEvent(entities={"context_fee": "ooo_registration"}))
    assert step.state["stage"] == "propose" and "10\u00a0000" in step.replies[0].text
    step = flow.step(step.state, FlowEvent(text="да", intent="affirm"), ctx)
    assert step.state["stage"] == "confirm" and "Основание" in step.replies[0].text
    assert "демонстрационные реквизиты" in step.replies[0].text
    step = flow.step(step.state, FlowEvent(payload="ok"), ctx)
    assert [b.payload for b in step.replies[0].buttons][:2] == ["flow:pay:m:qr", "flow:pay:m:card"]
    assert step.effects[0].kind == "pay.create" and step.effects[0].data["fee"] == "ooo_registration"
    first_key = step.effects[0].data["key"]
    step = flow.step(step.state, FlowEvent(text="оплачу картой", intent="pay_fee"), ctx)
    assert step.effects[0].kind == "pay.start" and step.effects[0].data == {"method": "card"}
    step = flow.step(step.state, FlowEvent(text="прошла оплата?", intent="payment_status"), ctx)
    assert step.effects[0].kind == "pay.check"
    assert flow.step(step.state, FlowEvent(payload="x"), ctx).state is None  # cancelled

    flow, later = _flow_and_ctx(seconds=60)  # a new payment later gets a new order
    step = flow.start(later, FlowEvent(entities={"context_fee": "ooo_registration"}))
    step = flow.step(flow.step(step.state, FlowEvent(payload="f:ooo_registration"), later).state,
                     FlowEvent(payload="ok"), later)
    assert step.effects[0].data["key"] != first_key


def test_pay_flow_offers_all_fees_and_lets_questions_through():
    from bot.flows.base import FlowEvent

    flow, ctx = _flow_and_ctx()
    step = flow.start(ctx, FlowEvent(entities={"amount": "1200"}))  # two fees cost 1 200 ₽
    payloads = [b.payload for b in step.replies[0].buttons]
    assert payloads[:2] == ["flow:pay:f:ip_registration", "flow:pay:f:ooo_changes"]
    assert len(payloads) == len(flow.catalogue.fees) + 1 and all(len(p.encode()) <= 64 for p in payloads)
    question = flow.step(step.state, FlowEvent(text="какие налоги платит самозанятый", intent="faq"), ctx)
    assert question.passthrough
    typed = flow.step(step.state, FlowEvent(text="за ооо", intent="pay_fee"), ctx)
    assert typed.state["fee"] == "ooo_registration"
    assert [b.payload for b in flow.start(_flow_and_ctx(channel="telegram")[1], FlowEvent()).replies[0].buttons]
