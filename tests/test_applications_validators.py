"""Table tests of the pure form checks (no Redis, no NLU)."""

from __future__ import annotations

from datetime import date

import pytest

from bot.applications import validators as v
from bot.applications.forms import FormsError, load_forms
from bot.applications.reading import asks_for_help
from bot.applications.status import ApplicationStatus as S
from bot.applications.status import TransitionError, check_transition
from bot.applications.store import normalize_number
from bot.settings import ROOT

TODAY = date(2026, 3, 10)


@pytest.mark.parametrize("inn", ["7707083893", "500100732259", "7736050003", "5001 0073 2259"])
def test_valid_inn(inn):
    assert v.parse_inn(inn) == "".join(ch for ch in inn if ch.isdigit())


@pytest.mark.parametrize(
    "text,fragment",
    [
        ("7707083894", "контрольная цифра"),  # last digit changed
        ("500100732258", "контрольная цифра"),  # 12 digits, second control digit wrong
        ("500100732269", "контрольная цифра"),  # 12 digits, first control digit wrong
        ("50010073225", "В ИНН ИП 12 цифр, а вы ввели 11"),
        ("123456789", "вы ввели 9"),
        ("77070838ab", "только из цифр"),
        ("", "цифрами"),
    ],
)
def test_corrupted_inn_says_how_to_fix(text, fragment):
    with pytest.raises(v.Invalid) as err:
        v.parse_inn(text)
    assert fragment in err.value.message
    if text and text.isdigit():  # the number itself is wrong: say where to look it up
        assert "nalog.ru" in err.value.message


@pytest.mark.parametrize("ogrn", ["1027700132195", "1037739010891", "304500116000157", "3045001 1600 0157"])
def test_valid_ogrn_and_ogrnip(ogrn):
    assert v.parse_ogrn(ogrn) == "".join(ch for ch in ogrn if ch.isdigit())


@pytest.mark.parametrize(
    "text,fragment",
    [
        ("1027700132194", "в ОГРН опечатка"),
        ("304500116000158", "в ОГРНИП опечатка"),
        ("10277001321", "вы ввели 11"),
        ("30450011600015", "вы ввели 14"),
    ],
)
def test_corrupted_ogrn(text, fragment):
    with pytest.raises(v.Invalid) as err:
        v.parse_ogrn(text)
    assert fragment in err.value.message and "egrul.nalog.ru" in err.value.message


@pytest.mark.parametrize(
    "text,expected",
    [
        ("+7 914 123-45-67", "+79141234567"),
        ("89141234567", "+79141234567"),
        ("8 (914) 123 45 67", "+79141234567"),
        ("9141234567", "+79141234567"),
        ("7 4152 12-34-56", "+74152123456"),
    ],
)
def test_phone_normalised(text, expected):
    assert v.parse_phone(text) == expected


@pytest.mark.parametrize(
    "text,fragment", [("891412345", "насчитал 9"), ("+7 114 123-45-67", "код"), ("восемь девятьсот", "только цифры")]
)
def test_bad_phone(text, fragment):
    with pytest.raises(v.Invalid, match=fragment):
        v.parse_phone(text)


@pytest.mark.parametrize(
    "text,expected",
    [
        ("Ivan.Petrov@Mail.RU", "Ivan.Petrov@mail.ru"),
        (" anna@yandex.ru ", "anna@yandex.ru"),
        ("info@мойбизнес.рф", "info@мойбизнес.рф"),
    ],
)
def test_email(text, expected):
    assert v.parse_email(text) == expected


@pytest.mark.parametrize(
    "text,fragment",
    [
        ("ivan.mail.ru", "«@»"),
        ("ivan@@mail.ru", "один"),
        ("ivan@mail", "домен"),
        ("@mail.ru", "имя ящика"),
        ("iv an@ma..il.ru", "неправильно"),
    ],
)
def test_bad_email(text, fragment):
    with pytest.raises(v.Invalid, match=fragment):
        v.parse_email(text)


@pytest.mark.parametrize(
    "text,expected",
    [
        ("05.03.2026", date(2026, 3, 5)),
        ("5.3.2026", date(2026, 3, 5)),
        ("05/03/2026", date(2026, 3, 5)),
        ("5 марта 2026", date(2026, 3, 5)),
        ("1 мая 2026 г.", date(2026, 5, 1)),
        ("завтра", date(2026, 3, 11)),
        ("сегодня", TODAY),
        ("Послезавтра", date(2026, 3, 12)),
    ],
)
def test_dates(text, expected):
    assert v.parse_date(text, TODAY) == expected


@pytest.mark.parametrize(
    "text,kwargs,fragment",
    [
        ("31.02.2026", {}, "нет в календаре"),
        ("в пятницу", {}, "ДД.ММ.ГГГГ"),
        ("01.01.2027", {"when": "past"}, "ещё не наступила"),
        ("вчера", {"when": "future"}, "уже прошла"),
        ("01.01.1990", {"when": "past", "max_age_years": 25}, "не больше 25 лет"),
    ],
)
def test_bad_dates(text, kwargs, fragment):
    with pytest.raises(v.Invalid, match=fragment):
        v.parse_date(text, TODAY, **kwargs)


def test_age_limit_is_inclusive():
    assert v.parse_date("11.03.2000", TODAY, max_age_years=25)  # 25 years old: still eligible


@pytest.mark.parametrize(
    "text,expected",
    [
        ("500 тыс", 500_000),
        ("1,5 млн", 1_500_000),
        ("250 000 ₽", 250_000),
        ("300к", 300_000),
        ("1 500 000 руб.", 1_500_000),
        ("2.5 миллиона", 2_500_000),
        ("полмиллиона", 500_000),
        ("120000", 120_000),
    ],
)
def test_amounts(text, expected):
    assert v.parse_amount(text) == expected


@pytest.mark.parametrize(
    "text,kwargs,fragment",
    [
        ("много", {}, "500 тыс"),
        ("0", {}, "больше нуля"),
        ("50 тыс", {"minimum": 100_000}, "минимум — 100"),
        ("7 млн", {"maximum": 5_000_000}, "не больше 5"),
    ],
)
def test_bad_amounts(text, kwargs, fragment):
    with pytest.raises(v.Invalid, match=fragment):
        v.parse_amount(text, **kwargs)


@pytest.mark.parametrize("text,expected", [("да", True), ("Нет", False), ("да, прошёл", True), ("не прошёл", False)])
def test_yes_no(text, expected):
    assert v.parse_yes_no(text) is expected


def test_full_name_needs_two_words_without_digits():
    assert v.parse_full_name("  Иванова   Анна Сергеевна ") == "Иванова Анна Сергеевна"
    with pytest.raises(v.Invalid, match="фамилию и имя"):
        v.parse_full_name("Анна")
    with pytest.raises(v.Invalid, match="цифр"):
        v.parse_full_name("Анна 123")


@pytest.mark.parametrize(
    "text", ["Иванова Анна Сергеевна", "Иванов И.И.", "Салтыков-Щедрин Михаил", "Д'Артаньян Шарль", "Анна Ким"]
)
def test_names_that_are_names(text):
    assert v.parse_full_name(text) == text


@pytest.mark.parametrize(
    "text,fragment",
    [
        ("а можно сначала записаться на консультацию?", "вопрос"),
        ("Иванов Иван?", "вопрос"),
        ("да, помогло", "только буквы"),
        ("Иванов Иван Иванович Петрович Сидоров", "два или три слова"),
        ("Иванов @ivan", "только буквы"),
    ],
)
def test_names_that_are_not(text, fragment):
    with pytest.raises(v.Invalid, match=fragment):
        v.parse_full_name(text)


@pytest.mark.parametrize(
    "text,kwargs,expected",
    [
        ("3 мая 2001 года", {"when": "past"}, date(2001, 5, 3)),
        ("1 февраля 85", {"when": "past"}, date(1985, 2, 1)),
        ("неделю назад", {}, date(2026, 3, 3)),
        ("3-го мая 2001 г", {"when": "past"}, date(2001, 5, 3)),
        ("2001-05-03", {}, date(2001, 5, 3)),
    ],
)
def test_dates_in_other_words(text, kwargs, expected):
    assert v.parse_date(text, TODAY, **kwargs) == expected


@pytest.mark.parametrize(
    "current,new,ok",
    [
        (S.submitted, S.in_review, True),
        (S.in_review, S.need_info, True),
        (S.need_info, S.in_review, True),
        (S.in_review, S.approved, True),
        (S.submitted, S.rejected, True),
        (S.submitted, S.approved, False),
        (S.approved, S.rejected, False),
        (S.rejected, S.in_review, False),
    ],
)
def test_status_transitions(current, new, ok):
    if ok:
        check_transition(current, new)
    else:
        with pytest.raises(TransitionError):
            check_transition(current, new)


@pytest.mark.parametrize(
    "text,expected",
    [
        ("МБ-2026-000123", "МБ-2026-000123"),
        ("заявка mb-2026-123", "МБ-2026-000123"),
        ("мб 2026 000045", "МБ-2026-000045"),
    ],
)
def test_application_number_typed_loosely(text, expected):
    assert normalize_number(text) == expected


def test_project_forms_load():
    forms = load_forms(ROOT / "bot" / "applications" / "forms.yaml")
    assert {"grant_young", "microloan"} <= set(forms.by_id)
    assert forms.for_topic("grant_young").id == "grant_young"
    assert forms.match_text("хочу подать заявку на микрозайм").id == "microloan"


def test_a_broken_form_file_names_the_form_and_field(tmp_path):
    path = tmp_path / "forms.yaml"
    path.write_text(
        "forms:\n  - id: grant\n    title: Заявка на грант\n    button: Грант\n"
        "    description: Описание гранта для проверки.\n    fields:\n"
        "      - name: inn\n        title: ИНН\n        prompt: Ваш ИНН, пожалуйста\n        type: innn\n"
        "        help: Где взять ИНН\n",
        encoding="utf-8",
    )
    with pytest.raises(FormsError) as err:
        load_forms(path)
    assert "form grant" in str(err.value) and "field inn" in str(err.value) and "type" in str(err.value)


@pytest.mark.parametrize(
    "text,expected",
    [
        ("подсказка", True),
        ("а где взять огрнип?", True),
        ("где найти инн?", True),
        ("что это?", True),
        ("где взять", True),
        ("как зарегистрировать ип?", False),
        ("а можно сначала записаться на консультацию?", False),
        ("где взять деньги на бизнес", False),  # not a question about the field: no «?»
    ],
)
def test_questions_about_the_field_itself(text, expected):
    assert asks_for_help(text) is expected
