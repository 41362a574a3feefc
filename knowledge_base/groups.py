"""Questions the assistant did not answer, grouped by meaning — the candidates for
new knowledge-base answers (issue 17, the knowledge-base loop).

The questions come from the anonymized turn log (bot/store/events.py: texts are
masked before they are written, and masked again here, as `make analytics` does):
  unanswered   a question the assistant answered with «не понял» (out of scope)
               or with options the client did not take
  not helped   the question before a «Не помогло» about the answer to it
Each distinct text is embedded with the retriever's e5 embedder and the texts are
clustered by scikit-learn's agglomerative clustering (average linkage, cosine
distance below a threshold); groups are listed largest first.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from .embeddings import Embedder

UNANSWERED = "unanswered"
NOT_HELPED = "not_helped"
UNANSWERED_DECISIONS = ("out_of_scope", "options")
NOT_HELPED_DECISIONS = ("button:nok", "resolved:no")
# e5 places texts of one meaning within ~0.1 cosine distance of each other (the
# retriever's calibration: a topic is "near" above 0.84..0.96 similarity)
DISTANCE = 0.1
MAX_TEXTS = 2000  # the most frequent distinct questions are grouped; the rest are rare


@dataclass(frozen=True)
class Question:
    text: str  # masked
    kind: str  # UNANSWERED or NOT_HELPED
    topic: str = ""  # the topic whose answer did not help


@dataclass
class Group:
    id: str
    size: int  # how many times questions of this group were asked
    examples: list[tuple[str, int]]  # (masked text, times), most frequent first
    kinds: Counter[str] = field(default_factory=Counter)
    topics: Counter[str] = field(default_factory=Counter)  # topics that did not help

    @property
    def texts(self) -> list[str]:
        return [text for text, _ in self.examples]


def normal(text: str) -> str:
    return " ".join(text.lower().split())


def questions_from(events: Iterable[dict[str, str]]) -> list[Question]:
    """The unanswered and «не помогло» questions of the turn log, oldest first."""
    found: list[Question] = []
    asked: dict[str, tuple[str, str]] = {}  # anonymous conversation → (its last answered question, topic)
    for e in events:
        decision, text, conv = e.get("decision", ""), normal(e.get("text", "")), e.get("conv", "")
        if decision in UNANSWERED_DECISIONS and text:
            found.append(Question(text, UNANSWERED))
        elif decision == "act" and text and e.get("faq_id"):
            asked[conv] = (text, e["faq_id"])
        elif decision in NOT_HELPED_DECISIONS and conv in asked:
            text, topic = asked.pop(conv)
            found.append(Question(text, NOT_HELPED, topic))
    return found


def group_id(texts: list[str]) -> str:
    """Stable while the group's most frequent question stays its first."""
    return hashlib.sha1(texts[0].encode()).hexdigest()[:10]


def clusters(vectors: np.ndarray, distance: float = DISTANCE) -> list[int]:
    """A cluster label for each row of L2-normalised vectors."""
    if len(vectors) < 2:
        return [0] * len(vectors)
    from sklearn.cluster import AgglomerativeClustering

    model = AgglomerativeClustering(n_clusters=None, metric="cosine", linkage="average", distance_threshold=distance)
    return [int(label) for label in model.fit_predict(vectors)]


def group_questions(
    questions: list[Question],
    embedder: Embedder,
    mask: Callable[[str], str] = lambda text: text,
    distance: float = DISTANCE,
    known: Iterable[str] = (),
) -> list[Group]:
    """Groups of questions by meaning, largest first. `mask` masks personal data once
    more; a text in `known` (already a question or paraphrase of a topic) is left out."""
    covered = {normal(t) for t in known}
    counts: Counter[str] = Counter()
    kinds: dict[str, Counter[str]] = {}
    topics: dict[str, Counter[str]] = {}
    masked: dict[str, str] = {}
    for q in questions:
        if q.text not in masked:
            masked[q.text] = normal(mask(q.text))  # once per distinct text: the masker is slow
        text = masked[q.text]
        if not text or text in covered:
            continue
        counts[text] += 1
        kinds.setdefault(text, Counter())[q.kind] += 1
        if q.topic:
            topics.setdefault(text, Counter())[q.topic] += 1
    texts = [text for text, _ in counts.most_common(MAX_TEXTS)]
    if not texts:
        return []
    labels = clusters(embedder.queries(texts), distance)
    members: dict[int, list[str]] = {}
    for text, label in zip(texts, labels, strict=True):
        members.setdefault(label, []).append(text)  # most frequent first: `texts` is ordered
    groups = []
    for group in members.values():
        g = Group(group_id(group), sum(counts[t] for t in group), [(t, counts[t]) for t in group])
        for t in group:
            g.kinds.update(kinds.get(t, Counter()))
            g.topics.update(topics.get(t, Counter()))
        groups.append(g)
    return sorted(groups, key=lambda g: (-g.size, g.examples[0][0]))
