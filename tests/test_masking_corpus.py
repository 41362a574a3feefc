"""The masker on a labelled corpus of client messages (R-21): recall ≥ 0.98 on personal
data, precision ≥ 0.95 on what it masks (definitions in bot/core/masking/quality.py)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from bot.core.masking import find_personal_data, mask_personal_data
from bot.core.masking.quality import load_corpus, parse_line, score

CORPUS = Path(__file__).resolve().parent / "data" / "personal_data_corpus.tsv"


@pytest.fixture(scope="module")
def corpus():
    return load_corpus(CORPUS)


@pytest.fixture(scope="module")
def result(corpus):
    return score(corpus, find_personal_data)


def test_the_corpus_is_big_and_varied_enough(corpus):
    cases = Counter(ex.case for ex in corpus)
    assert sum(n for case, n in cases.items() if case != "clean") >= 200
    assert cases["clean"] >= 60 and all(not ex.gold for ex in corpus if ex.case == "clean")
    kinds = Counter(g.kind for ex in corpus for g in ex.gold)
    for kind in ("имя", "адрес", "телефон", "инн", "огрн", "снилс", "паспорт", "дата", "email"):
        assert kinds[kind] >= 5, kind


def test_markup_parses_to_exact_spans():
    ex = parse_line("x", "я [Иванов Пётр](имя), тел. [+7 (914) 123-45-67](телефон)")
    assert ex.text == "я Иванов Пётр, тел. +7 (914) 123-45-67"
    assert [ex.text[g.start : g.end] for g in ex.gold] == ["Иванов Пётр", "+7 (914) 123-45-67"]


def test_recall_on_personal_data(result):
    missed = "\n".join(f"{span!r} in {text!r}" for text, span in result.missed)
    assert result.recall >= 0.98, f"recall {result.recall:.3f}; not masked:\n{missed}"


def test_precision_of_what_is_masked(result):
    wrong = "\n".join(f"{span!r} in {text!r}" for text, span in result.wrongly_masked)
    assert result.precision >= 0.95, f"precision {result.precision:.3f}; masked beyond the labels:\n{wrong}"


def test_messages_without_personal_data_come_through_unchanged(corpus, result):
    changed = [
        (ex.text, mask_personal_data(ex.text))
        for ex in corpus
        if ex.case == "clean"
        if mask_personal_data(ex.text) != ex.text
    ]
    assert len(changed) <= 0.05 * result.clean_messages, changed


def test_placeholders_name_the_right_kind(result):
    assert result.kind_accuracy >= 0.9


def test_masking_again_changes_nothing(corpus):
    """`make analytics` masks the stored (already masked, lower-cased) texts once more."""
    for ex in corpus:
        once = mask_personal_data(ex.text)
        assert mask_personal_data(once) == once
        assert mask_personal_data(once.lower()) == once.lower()
