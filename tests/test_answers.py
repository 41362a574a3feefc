"""Typed answers to the assistant's own questions (bot/core/answers.py) and the
language check (bot/core/language.py), as tables."""

from __future__ import annotations

import pytest

from bot.core.answers import mentions_help, scale_value, yes_or_no
from bot.core.language import foreign
from handoff.rating import EASE, SATISFACTION


@pytest.mark.parametrize(
    "text",
    [
        "да",
        "Да.",
        "ДА!",
        "согласен",
        "Согласна",
        "согласны",
        "я согласна",
        "да, конечно",
        "конечно",
        "ага",
        "угу",
        "ок",
        "хорошо",
        "да, помогло",
        "помогло, спасибо",
        "даю согласие",
        "не возражаю",
        "я не против",
        "да, отменяйте",
        "подтверждаю",
        "верно",
        "да, всё верно",
        "yes",
    ],
)
def test_typed_yes(text):
    assert yes_or_no(text) is True


@pytest.mark.parametrize(
    "text",
    [
        "нет",
        "Нет.",
        "нет, спасибо",
        "неа",
        "не надо",
        "не нужно",
        "не согласен",
        "не согласна",
        "не помогло",
        "нет, не помогло",
        "да нет",
        "я против",
        "no",
    ],
)
def test_typed_no(text):
    assert yes_or_no(text) is False


@pytest.mark.parametrize(
    "text",
    [
        "",
        "а можно сначала записаться на консультацию?",
        "да?",
        "да, а сколько стоит патент",
        "нет почты",
        "Иванов Иван Иванович",
        "8 914 123-45-67",
        "да 5",
        "хочу оплатить госпошлину",
        "как согласовать вывеску",
    ],
)
def test_not_a_yes_or_no(text):
    assert yes_or_no(text) is None


@pytest.mark.parametrize(
    "text,scale,value",
    [
        ("скорее сложно", EASE, 2),
        ("Скорее легко", EASE, 3),
        ("легко", EASE, 4),
        ("сложно", EASE, 1),
        ("мне было скорее сложно", EASE, 2),
        ("3", EASE, 3),
        ("удовлетворён", SATISFACTION, 4),
        ("удовлетворена", SATISFACTION, 4),
        ("скорее удовлетворена", SATISFACTION, 3),
        ("скорее не удовлетворен", SATISFACTION, 2),
        ("не удовлетворена", SATISFACTION, 1),
        ("5", EASE, None),
        ("нормально", EASE, None),
        ("скорее сложно чем легко но вообще", EASE, None),
    ],
)
def test_scale_words(text, scale, value):
    assert scale_value(text, scale) == value


@pytest.mark.parametrize(
    "text,expected",
    [("да, помогло", True), ("не помогло", True), ("полезно, спасибо", True), ("да", False), ("помощь", False)],
)
def test_feedback_words(text, expected):
    assert mentions_help(text) is expected


@pytest.mark.parametrize(
    "text,expected",
    [
        ("How do I register a company?", True),
        ("hello, do you speak english", True),
        ("I need help with taxes", True),
        ("как открыть ИП", False),
        ("John Smith", False),
        ("ivanov@mail.ru", False),
        ("ok", False),
        ("kak otkryt ip", False),
        ("ООО Ромашка (Romashka LLC)", False),
    ],
)
def test_foreign_language(text, expected):
    assert foreign(text) is expected
