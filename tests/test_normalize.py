"""The normalisation stage (issue 18), without Rasa: wrong keyboard layout both ways,
transliterated Russian, spelling of domain words; fine text left as it is."""

from __future__ import annotations

import pytest

from bot.core.normalize import Lexicon, Normalizer, Speller
from bot.core.normalize.keyboard import to_latin, to_russian
from bot.core.normalize.translit import readings

DOMAIN = ["усн енп эцп самозанятый ип ооо патент микрозайм госпошлина оквэд"]


@pytest.fixture(scope="module")
def normalizer() -> Normalizer:
    return Normalizer(Lexicon(DOMAIN))


def test_keyboard_tables_are_inverse():
    text = "как закрыть ИП, если есть долги?"
    assert to_russian(to_latin(text)) == text


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        (to_latin("нужна ли касса самозанятому"), "нужна ли касса самозанятому"),
        (to_latin("Где получить ЭЦП"), "Где получить ЭЦП"),
        (to_latin("сколько стоит патент?"), "сколько стоит патент?"),
        ("ns ,jn&", "ты бот?"),  # the Russian «?» key is «&» in the Latin layout
    ],
)
def test_wrong_layout_russian(normalizer, typed, meant):
    result = normalizer.normalize(typed)
    assert result.text == meant
    assert {c.kind for c in result.changes} == {"layout"}


def test_latin_typed_in_russian_layout(normalizer):
    result = normalizer.normalize("не открывается " + to_russian("google"))
    assert result.text == "не открывается google"


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("gde poluchit elektronnuyu podpis", "где получить электронную подпись"),
        ("ya samozanyataya, nuzhen li chek", "я самозанятая, нужен ли чек"),
        ("kakoi nalog platit' na usn", "какой налог платить на усн"),
    ],
)
def test_transliteration(normalizer, typed, meant):
    result = normalizer.normalize(typed)
    assert result.text == meant
    assert {c.kind for c in result.changes} == {"translit"}


@pytest.mark.parametrize(
    "fine",
    [
        "пишите на ivan.sidorov@gmail.com",
        "ОКВЭД 62.01 и ИНН 7707083893",
        "торгую на Ozon и Wildberries, какой налог",
        "Where can I register a company?",
        "не работает сайт nalog.ru",
        "как открыть ИП",
        "у меня iPhone и Telegram",
    ],
)
def test_fine_text_unchanged(normalizer, fine):
    result = normalizer.normalize(fine)
    assert result.text == fine and not result.changed


def test_translit_readings_cover_common_habits():
    assert "перейти" in readings("pereiti")
    assert "закрыть" in readings("zakryt")
    assert "субсидию" in readings("subsidiyu")


def test_speller_fixes_domain_words_and_keeps_known_ones():
    speller = Speller(Lexicon(DOMAIN))
    fixed, changes = speller.correct("хочу микрозаим на патеннт")
    assert fixed == "хочу микрозайм на патент"
    assert [(c.original, c.normalized) for c in changes] == [("микрозаим", "микрозайм"), ("патеннт", "патент")]
    assert speller.correct("как открыть ип на енп")[1] == []  # short and domain words stay


def test_speller_splits_words_run_together_into_known_words():
    speller = Speller(Lexicon([*DOMAIN, "меры господдержки", "сдать налоговую отчетность"]))
    assert speller.correct("какие есть мергосподдержки")[0] == "какие есть мер господдержки"
    assert speller.correct("сдать налоговуюотчетность")[0] == "сдать налоговую отчетность"
    # a surname is no two common words: left as typed
    assert speller.correct("меня зовут гайдамакин")[1] == []
