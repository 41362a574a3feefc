"""Semantic search over the knowledge base with an on-disk index cache.

A topic published from the console replaces its vectors in place (`replace`):
the index changes at once, without re-embedding the other topics.

Every entry is represented by its question, title and paraphrases (all
embedded as queries: client questions are compared with client-style
questions). A topic's score is its best-matching text's cosine similarity.
"""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .embeddings import Embedder
from .loader import KnowledgeBase
from .models import Entry


@dataclass(frozen=True)
class TopicScore:
    topic_id: str
    similarity: float


class Retriever:
    def __init__(self, kb: KnowledgeBase, embedder: Embedder, cache_dir: Path | None = None):
        self.kb = kb
        self.embedder = embedder
        texts, owners = [], []
        for entry in kb.entries.values():
            for text in entry.search_texts():
                texts.append(text)
                owners.append(entry.id)
        self.topic_ids = kb.ids()
        index_of = {tid: i for i, tid in enumerate(self.topic_ids)}
        self.owner = np.array([index_of[o] for o in owners])
        self.vectors = self._load_or_build(texts, cache_dir)

    def _load_or_build(self, texts: list[str], cache_dir: Path | None) -> np.ndarray:
        digest = hashlib.sha256(json.dumps([self.embedder.name, texts], ensure_ascii=False).encode()).hexdigest()[:16]
        path = Path(cache_dir) / f"kb-index-{digest}.npy" if cache_dir else None
        if path and path.exists():
            return np.load(path)
        vectors = self.embedder.queries(texts)
        if path:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp.npy")
            np.save(tmp, vectors)
            tmp.replace(path)  # atomic: a half-written index is never loaded
        return vectors

    def search_vector(self, query_vector: np.ndarray, k: int = 10) -> list[TopicScore]:
        sims = self.vectors @ query_vector
        best = np.full(len(self.topic_ids), -1.0, dtype=np.float32)
        np.maximum.at(best, self.owner, sims)
        order = np.argsort(-best)[:k]
        return [TopicScore(self.topic_ids[i], float(best[i])) for i in order]

    def search(self, text: str, k: int = 10) -> list[TopicScore]:
        return self.search_vector(self.embedder.queries([text])[0], k)

    def embed(self, entry: Entry) -> np.ndarray:
        """The vectors of one topic's texts (slow: call it off the event loop)."""
        return self.embedder.queries(entry.search_texts())

    def replace(self, entry: Entry, vectors: np.ndarray) -> None:
        """Add a topic, or swap an existing topic's texts for `entry`'s (their `embed`).
        The index is rebuilt aside and swapped in one assignment, so a search running in
        another thread sees the old index or the new one, never half of each."""
        ids = list(self.topic_ids)
        if entry.id not in ids:
            ids.append(entry.id)
        index = ids.index(entry.id)
        keep = self.owner != index
        owner = np.concatenate([self.owner[keep], np.full(len(vectors), index)])
        matrix = np.concatenate([self.vectors[keep], vectors.astype(self.vectors.dtype)])
        self.topic_ids, self.owner, self.vectors = ids, owner, matrix

    def with_entry(self, kb: KnowledgeBase, entry: Entry, vectors: np.ndarray) -> Retriever:
        """A copy with one topic added or replaced (the console's preview of a draft);
        this retriever is left as it is."""
        other = copy.copy(self)
        other.kb = kb
        other.replace(entry, vectors)
        return other
