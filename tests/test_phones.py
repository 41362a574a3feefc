"""One phone normaliser (bot/core/phones.py): Russian numbers written any usual
way become E.164; a number with a digit missing, another country's number or
an unknown code is refused with a reason that says what to write; stored
numbers are shown in full or masked the same way everywhere."""

from __future__ import annotations

import pytest

from bot.applications.validators import Invalid, parse_phone, show_phone
from bot.core import phones
from bot.core.numbers import digits_of
from bot.core.phones import NotAPhone, Problem
from voice.session import normalize_phone as voice_digits


@pytest.mark.parametrize(
    "written, stored",
    [
        ("8 (914) 123-45-67", "+79141234567"),
        ("+7 914 1234567", "+79141234567"),
        ("9141234567", "+79141234567"),
        ("89141234567", "+79141234567"),
        ("7 914 123 45 67", "+79141234567"),
        ("+7(914)123-45-67", "+79141234567"),
        ("8.914.123.45.67", "+79141234567"),
        ("7 4152 12-34-56", "+74152123456"),  # a landline with a four-digit area code
        ("+7 (3012) 12-34-56", "+73012123456"),
        ("8 800 555-35-35", "+78005553535"),  # toll-free
        ("8005553535", "+78005553535"),
    ],
)
def test_russian_numbers_written_any_usual_way_are_stored_as_e164(written, stored):
    assert phones.parse(written) == stored


@pytest.mark.parametrize(
    "written, problem, digits, says",
    [
        ("8 (914) 123-45-6", Problem.length, 10, "насчитал 10"),  # not +7 891 412-34-56
        ("7 914 123 45 6", Problem.length, 10, "насчитал 10"),
        ("+7 914 123 45 6", Problem.length, 10, "насчитал 10"),
        ("891412345", Problem.length, 9, "насчитал 9"),
        ("8 914 123 45 678", Problem.length, 12, "насчитал 12"),
        ("", Problem.length, 0, "Не вижу в сообщении номера"),
        ("٨٩١٤١٢٣٤٥٦٧", Problem.length, 0, "Не вижу"),  # only ASCII digits are digits
        ("+1 202 555 0143", Problem.foreign, 0, "другой страны"),
        ("+44 20 7946 0958", Problem.foreign, 0, "другой страны"),
        ("+7 701 123 4567", Problem.foreign, 0, "другой страны"),  # Kazakhstan shares +7
        ("8 701 123 45 67", Problem.foreign, 0, "другой страны"),
        ("+7 114 123-45-67", Problem.code, 0, "код"),
        ("восемь девятьсот", Problem.letters, 0, "только цифры"),
        ("+7 914 123 45 67 доб. 5", Problem.letters, 0, "только цифры"),
    ],
)
def test_what_is_not_a_russian_number_is_refused_with_a_reason(written, problem, digits, says):
    with pytest.raises(NotAPhone) as refused:
        phones.parse(written)
    assert (refused.value.problem, refused.value.digits) == (problem, digits)
    assert says in refused.value.reason
    assert "+7 914 123-45-67" in refused.value.reason or problem is Problem.code  # what to write instead


@pytest.mark.parametrize(
    "sentence, stored",
    [
        ("мой номер 8 914 123-45-67, звоните после 15", "+79141234567"),
        ("Перезвоните на +7 (914) 123 45 67 пожалуйста", "+79141234567"),
        ("позвоните мне", None),
        ("номер 8 914 123 45 6", None),
        ("+1 202 555 0100", None),
    ],
)
def test_in_a_sentence_the_number_is_found(sentence, stored):
    assert phones.e164(sentence) == stored


def test_a_form_field_must_be_the_number_alone():
    with pytest.raises(NotAPhone) as refused:
        phones.parse("мой номер 8 914 123-45-67")
    assert refused.value.problem is Problem.letters


@pytest.mark.parametrize(
    "stored, shown, masked",
    [
        ("+79141234567", "+7 914 123-45-67", "+7 *** ***-45-67"),
        ("+74152123456", "+7 415 212-34-56", "+7 *** ***-34-56"),
        ("", "", "—"),
    ],
)
def test_stored_numbers_are_shown_in_full_or_masked(stored, shown, masked):
    assert (phones.display(stored), phones.masked(stored)) == (shown, masked)


def test_every_channel_reads_a_number_the_same_way():
    """The applications' field, the callback flow and the voice line's keypad agree."""
    for written in ("8 (914) 123-45-67", "9141234567", "+7 914 1234567"):
        assert parse_phone(written) == phones.e164(written) == "+" + voice_digits(digits_of(written))
    assert show_phone("+79141234567") == phones.display("+79141234567")
    with pytest.raises(Invalid, match="насчитал 10"):
        parse_phone("8 (914) 123-45-6")
    assert voice_digits("8914123456") is None  # a digit short on the keypad
