"""How contract names map onto Rasa intent labels.

Rasa's training data names each FAQ topic as its own intent `faq__<topic id>`.
Up to `PER_TOPIC_MAX` topics the classifier learns them so, and its ranking
already separates topics. Above, it learns one class `faq` for all of them
(`coarse_training`): a per-topic classifier's cost grows with examples x
intents (at 400 topics one training took 17 minutes and 3 GB; 2,000 would
take hours and over 12 GB), so there Rasa only tells a question from a
request and the app's retriever picks the topic (bot/core/understanding.py:fuse
reads both kinds of model). The API reports `intent: faq` with the topic id
either way, as the contract asks.

Imported by the Rasa components too (nlu/components, Python 3.10): plain Python only.
"""

from __future__ import annotations

from collections import Counter

FAQ = "faq"
FAQ_PREFIX = "faq__"
PER_TOPIC_MAX = 500


def per_topic(topics: int) -> bool:
    """Whether a knowledge base of `topics` topics is classified one intent per topic."""
    return topics <= PER_TOPIC_MAX


def faq_label(topic_id: str) -> str:
    return FAQ_PREFIX + topic_id


def split_label(label: str) -> tuple[str, str | None]:
    """`faq__usn` -> ("faq", "usn"); `pay_fee` -> ("pay_fee", None); `faq` -> ("faq", None)."""
    if label.startswith(FAQ_PREFIX):
        return FAQ, label[len(FAQ_PREFIX) :]
    return label, None


def coarse_training(labels: list[str]) -> tuple[list[str], list[float]] | None:
    """None when the topics are learnt one intent each. Otherwise the labels with every topic
    as `faq`, and a weight per example that still weighs each topic as one class (sklearn's
    "balanced" over the topic labels): the FAQ class keeps the weight its topics had together,
    as in a per-topic model, instead of counting as one class against each action."""
    counts = Counter(labels)
    if per_topic(sum(label.startswith(FAQ_PREFIX) for label in counts)):
        return None
    weights = [len(labels) / (len(counts) * counts[label]) for label in labels]
    return [split_label(label)[0] for label in labels], weights
