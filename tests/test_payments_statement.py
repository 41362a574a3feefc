"""Reading bank statements and amounts for the staff tools (bot/payments/staff.py), and
the fee keywords and questions inside the payment (pure)."""

from __future__ import annotations

import pytest

from bot.core.answers import asks_something
from bot.payments import uin
from bot.payments.catalogue import load_catalogue
from bot.payments.staff import StatementError, parse_rubles, read_statement
from bot.settings import ROOT

UIN = uin.make("00000000", 17)
CATALOGUE = load_catalogue(ROOT / "bot" / "payments" / "fees.yaml")


@pytest.mark.parametrize(
    "text, kopecks",
    [("1200", 120000), ("1 200,00", 120000), ("10\u00a0000,50 ₽", 1000050), ("200.5", 20050), ("1200 руб.", 120000)],
)
def test_amounts_in_rubles_as_people_and_banks_write_them(text, kopecks):
    assert parse_rubles(text) == kopecks


@pytest.mark.parametrize("text", ["", "abc", "12,345", "-5"])
def test_what_is_no_amount_is_refused(text):
    assert parse_rubles(text) is None


def test_a_statement_gives_the_uin_from_its_column_or_from_the_purpose():
    rows = read_statement(
        "\ufeffДата;Номер;Сумма;Назначение платежа;УИН\n"
        f"01.12.2026;1;1 200,00;Госпошлина;{UIN}\n"
        f"01.12.2026;2;200,00;КБК 18210807010018000110 УИН {UIN};\n"
        "01.12.2026;3;500,00;Оплата по счёту 17;\n"
        ";;;;\n"
    )
    assert [(r.line, r.uin, r.amount_kopecks, r.reference) for r in rows] == [
        (2, UIN, 120000, "1"),
        (3, UIN, 20000, "2"),  # the КБК in the purpose has no check digit: not taken for the УИН
        (4, "", 50000, "3"),
    ]
    assert read_statement(f"uin,amount\n{UIN},1200.00\n")[0].amount_kopecks == 120000


@pytest.mark.parametrize("text", ["", "Дата;Плательщик\n01.12;ООО Ромашка\n"])
def test_a_file_that_is_no_statement_says_what_it_needs(text):
    with pytest.raises(StatementError):
        read_statement(text)


@pytest.mark.parametrize(
    "text, fees",
    [
        ("госпошлина за регистрацию ип", ["ip_registration"]),
        ("за ооо", ["ooo_registration"]),
        ("выписка из егрюл", ["egrul_extract"]),
        ("нужен тип документа", []),  # «ип» inside a word is no fee
    ],
)
def test_fee_keywords_match_words_not_parts_of_words(text, fees):
    assert [f.id for f in CATALOGUE.match_text(text)] == fees


@pytest.mark.parametrize(
    "text, question",
    [
        ("а как закрыть ип вообще?", True),
        ("а как закрыть ип вообще", True),
        ("подскажите, сколько стоит выписка", True),
        ("за ип", False),
        ("регистрация ооо", False),
    ],
)
def test_a_question_is_told_from_a_fee_choice(text, question):
    assert asks_something(text) is question
