"""Understanding = Rasa's intent ranking fused with the knowledge-base ranking.

Both run concurrently. If Rasa is unreachable the knowledge base alone still
answers FAQ questions and `keywords.py` still recognises a request for an
operator or a callback (the conversation never stops because NLU is down).
"""

from __future__ import annotations

import asyncio
from typing import Any
import logging
from pathlib import Path

import yaml
from pydantic import BaseModel

from knowledge_base.retriever import Retriever
from nlu.client import NluResult, NluUnavailable, RasaClient
from nlu.labels import split_label

from .keywords import keyword_intents
from .messages import Candidate, Understanding

log = logging.getLogger("core.understanding")

CALIBRATION_FILE = Path(__file__).with_name("calibration.yaml")


class Calibration(BaseModel):
    rasa_weight: float
    kb_floor: float
    kb_ceiling: float
    answer: float
    margin: float
    clarify: float
    options: float
    out_of_scope: float
    short_words: int
    short_answer: float

    @classmethod
    def load(cls, path: Path = CALIBRATION_FILE) -> "Calibration":
        return cls.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))

    def kb_score(self, cosine: float) -> float:
        span = self.kb_ceiling - self.kb_floor
        return min(1.0, max(0.0, (cosine - self.kb_floor) / span))


ENTITY_NAMES = ("segment", "life_situation", "inn", "ogrn", "amount", "date", "phone", "email", "erase")


def fuse(nlu: NluResult | None, kb: list[tuple[str, float]], cal: Calibration) -> list[Candidate]:
    """One ranking of (intent, faq topic) candidates, best first."""
    scores: dict[tuple[str, str | None], float] = {}
    weight = cal.rasa_weight if nlu is not None else 0.0
    rasa = {split_label(label): conf for label, conf in (nlu.ranking if nlu else [])}
    for (intent, topic), conf in rasa.items():
        scores[(intent, topic)] = weight * conf if topic else conf
    for topic, cosine in kb:
        key = ("faq", topic)
        scores[key] = scores.get(key, 0.0) + (1 - weight) * cal.kb_score(cosine)
    # Rasa is overconfident on "off-topic" (it says ~1.0 to some real questions):
    # out of scope needs the knowledge base to agree that nothing matches well.
    if ("out_of_scope", None) in scores and kb:
        scores[("out_of_scope", None)] *= 1 - cal.kb_score(max(cosine for _, cosine in kb))
    ranked = sorted(scores.items(), key=lambda kv: -kv[1])
    return [Candidate(intent=i, faq_id=t, score=round(s, 4)) for (i, t), s in ranked]


class Understander:
    def __init__(self, nlu: RasaClient | None, retriever: Retriever, calibration: Calibration):
        self.nlu = nlu
        self.retriever = retriever
        self.cal = calibration

    async def _search(self, text: str, nlu: NluResult | None) -> list[Any]:
        # Rasa's e5 featurizer already embedded this text: reuse its vector when it
        # comes from the same encoder as our index (one e5 pass per turn, not two).
        if (nlu and nlu.embedding and nlu.embedding[0] == self.retriever.embedder.name
                and nlu.embedding[1].shape == self.retriever.vectors.shape[1:]):
            return self.retriever.search_vector(nlu.embedding[1], 10)
        return await asyncio.to_thread(self.retriever.search, text, 10)

    async def _parse(self, text: str) -> NluResult | None:
        if self.nlu is None:
            return None
        try:
            return await self.nlu.parse(text)
        except NluUnavailable as exc:
            log.warning("NLU unavailable, answering from the knowledge base only: %s", exc)
            return None

    async def understand(self, text: str) -> Understanding:
        nlu = await self._parse(text)
        kb = await self._search(text, nlu)
        ranking = fuse(nlu, [(s.topic_id, s.similarity) for s in kb], self.cal)
        if nlu is None:  # no NLU: a request for a person must still reach one
            ranking = keyword_intents(text) + ranking
        top = ranking[0]
        entities = {}
        for name in ENTITY_NAMES:
            value = nlu.entity(name) if nlu else None
            if value:
                entities[name] = value
        return Understanding(intent=top.intent, faq_id=top.faq_id, confidence=top.score,
                             ranking=ranking[:10], entities=entities)
