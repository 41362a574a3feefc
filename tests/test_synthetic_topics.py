"""The growth benchmark's synthetic topics (benchmarks/synthetic_topics.py) are valid, distinct knowledge-base
entries that never take a real topic's id or wording; no training here (that is benchmarks/growth.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from benchmarks.synthetic_topics import PREFIX, REAL_TOPICS, capacity, synthetic_topics, write_knowledge_base
from bot.runtime import contract_topic_ids
from knowledge_base.loader import load_knowledge_base
from nlu import build, labels
from nlu.labels import faq_label


def _texts(entry) -> list[str]:
    return [" ".join(t.lower().rstrip("?").split()) for t in (entry.question, *entry.paraphrases)]


def test_the_templates_make_the_2000_topic_knowledge_base():
    assert capacity() >= 2000 - len(list(REAL_TOPICS.glob("*.yaml")))


def test_ids_and_wordings_are_distinct_and_never_the_real_ones():
    real = load_knowledge_base(REAL_TOPICS, contract_topic_ids())
    topics = synthetic_topics(capacity())
    ids = [e.id for e in topics]
    assert len(set(ids)) == len(ids)
    assert all(tid.startswith(PREFIX) for tid in ids)
    assert not set(ids) & set(real.ids())
    real_texts = {t for e in real.entries.values() for t in _texts(e)}
    owner: dict[str, str] = {}
    for entry in topics:
        assert len(entry.paraphrases) >= 5
        for text in _texts(entry):
            assert text not in real_texts, (entry.id, text)
            assert owner.setdefault(text, entry.id) == entry.id, (entry.id, owner[text], text)
    assert synthetic_topics(50) == topics[:50]  # the same topics on every run


def test_written_knowledge_base_passes_the_loader_and_feeds_the_nlu_build(tmp_path: Path):
    kb = write_knowledge_base(tmp_path, 120, contract_topic_ids())  # the loader validates every file
    assert len(kb) == 120
    assert set(load_knowledge_base(REAL_TOPICS).ids()) < set(kb.ids())
    synthetic = [tid for tid in kb.ids() if tid.startswith(PREFIX)]
    assert len(synthetic) == 120 - len(list(REAL_TOPICS.glob("*.yaml")))
    intents = {block["intent"] for block in yaml.safe_load(build.faq_data(tmp_path))["nlu"]}
    assert intents == {faq_label(tid) for tid in kb.ids()}
    domain = yaml.safe_load(build.domain(tmp_path))["intents"]
    assert len(domain) == len(set(domain))
    assert intents <= set(domain)


def test_above_the_per_topic_limit_topics_are_learnt_as_one_faq_class_each_weighing_as_one_class(monkeypatch):
    monkeypatch.setattr(labels, "PER_TOPIC_MAX", 2)
    y = ["faq__a"] * 6 + ["faq__b"] * 2 + ["faq__c"] * 4 + ["help"] * 3 + ["pay_fee"] * 1
    coarse = labels.coarse_training(y)
    assert coarse is not None
    names, weights = coarse
    assert names == ["faq"] * 12 + ["help"] * 3 + ["pay_fee"]
    by_class: dict[str, float] = {}
    for label, weight in zip(y, weights, strict=True):
        by_class[label] = by_class.get(label, 0.0) + weight
    assert by_class == pytest.approx(dict.fromkeys(by_class, len(y) / 5))  # every topic and action weighs alike
    faq = sum(w for n, w in zip(names, weights, strict=True) if n == "faq")
    assert faq == pytest.approx(3 * by_class["help"])  # the FAQ class weighs as its three topics did
    assert labels.coarse_training(y[:8] + y[12:]) is None  # two topics: per topic, as Rasa trains by default
