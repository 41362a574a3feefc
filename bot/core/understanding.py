"""Understanding = Rasa's intent ranking fused with the knowledge-base ranking.

Both run concurrently. If Rasa is unreachable the knowledge base alone still
answers FAQ questions and `keywords.py` still recognises a request for an
operator or a callback (the conversation never stops because NLU is down).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from pydantic import BaseModel

from bot import metrics
from knowledge_base.loader import KnowledgeBase
from knowledge_base.other_services import OtherService, OtherServices, load_other_services
from knowledge_base.retriever import Retriever
from nlu.client import NluResult, NluUnavailable, RasaClient
from nlu.labels import split_label

from .focus import is_long, request_sentences
from .keywords import action_intents, keyword_intents
from .messages import Candidate, Normalization, NormalizedWord, Understanding
from .normalize import Change, Lexicon, Normalizer, Speller

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
    topic_temperature: float  # a one-`faq` model's FAQ confidence is shared among topics this sharply

    @classmethod
    def load(cls, path: Path = CALIBRATION_FILE) -> Calibration:
        return cls.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))

    def kb_score(self, cosine: float) -> float:
        span = self.kb_ceiling - self.kb_floor
        return min(1.0, max(0.0, (cosine - self.kb_floor) / span))


ENTITY_NAMES = ("segment", "life_situation", "inn", "ogrn", "amount", "date", "phone", "email", "erase")


def fuse(
    nlu: NluResult | None,
    kb: list[tuple[str, float]],
    cal: Calibration,
    unknown_to_nlu: frozenset[str] = frozenset(),
) -> list[Candidate]:
    """One ranking of (intent, faq topic) candidates, best first. A topic in `unknown_to_nlu`
    (published since the NLU model was trained) is scored by the knowledge base alone:
    Rasa cannot vote for a topic it has not learnt."""
    scores: dict[tuple[str, str | None], float] = {}
    weight = cal.rasa_weight if nlu is not None else 0.0
    rasa = {split_label(label): conf for label, conf in (nlu.ranking if nlu else [])}
    if ("faq", None) in rasa:  # one `faq` intent: the retriever says which topic
        rasa = _topics_of_faq(rasa, kb, cal.topic_temperature)
    for (intent, topic), conf in rasa.items():
        scores[(intent, topic)] = weight * conf if topic else conf
    for topic, cosine in kb:
        key = ("faq", topic)
        scores[key] = scores.get(key, 0.0) + (1 - weight) * cal.kb_score(cosine)
        if topic in unknown_to_nlu:
            scores[key] = max(scores[key], cal.kb_score(cosine))
    # Rasa is overconfident on "off-topic" (it says ~1.0 to some real questions):
    # out of scope needs the knowledge base to agree that nothing matches well.
    if ("out_of_scope", None) in scores and kb:
        scores[("out_of_scope", None)] *= 1 - cal.kb_score(max(cosine for _, cosine in kb))
    ranked = sorted(scores.items(), key=lambda kv: -kv[1])
    return [Candidate(intent=i, faq_id=t, score=round(s, 4)) for (i, t), s in ranked]


def _topics_of_faq(
    rasa: dict[tuple[str, str | None], float], kb: list[tuple[str, float]], temperature: float
) -> dict[tuple[str, str | None], float]:
    """A one-`faq` model's ranking as a topic classifier's: its FAQ confidence is shared
    among the retriever's topics by softmax(cosine / temperature), nearer ones taking more."""
    out = dict(rasa)
    faq = out.pop(("faq", None))
    if kb:
        cosines = np.array([cosine for _, cosine in kb])
        shares = np.exp((cosines - cosines.max()) / temperature)
        shares /= shares.sum()
        out.update({("faq", topic): faq * float(share) for (topic, _), share in zip(kb, shares, strict=True)})
    return out


# What a sentence of a long message must be to be its request (not «спасибо», not a story).
NOT_A_REQUEST = {"out_of_scope", "greet", "thank", "goodbye", "affirm", "deny"}
ACTION_INTENTS = (
    "book_appointment",
    "pay_fee",
    "start_application",
    "give_consent",
    "revoke_consent",
    "request_callback",
)


class Language:
    """The normaliser and speller built from one knowledge base, shared by every
    understander of the process (the speller's dictionary takes seconds: it is
    built once, in the background; until then spelling is left as typed)."""

    def __init__(self, kb: KnowledgeBase):
        texts: list[str] = []
        for entry in kb.entries.values():
            texts += [entry.title, entry.question, entry.answer, *entry.paraphrases]
        self.lexicon = Lexicon(texts)
        self.normalizer = Normalizer(self.lexicon)
        self.speller: Speller | None = None
        self._warm = threading.Thread(target=self._build, name="speller", daemon=True)
        self._warm.start()

    def _build(self) -> None:
        self.normalizer.normalize("ghbdtn kak dela")  # loads the frequency lists and the dictionary
        self.speller = Speller(self.lexicon)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the speller is built (tests, benchmarks); True when it is."""
        self._warm.join(timeout)
        return self.speller is not None


_LANGUAGES: dict[tuple[str, ...], Language] = {}
_OTHER_VECTORS: dict[tuple[str, tuple[str, ...]], np.ndarray] = {}
# e5 cosine of a message to an example of another authority's service, and its lead over
# our best topic, for the service to be read by meaning (measured on eval/robustness.tsv
# and the dev and validation sets: «записаться на консультацию» is 0.95 to «записаться
# к врачу» but 0.94 to our own topic).
OTHER_BY_MEANING = 0.93
OTHER_LEAD = 0.02


def _language(kb: KnowledgeBase) -> Language:
    key = tuple(sorted(kb.ids()))
    if key not in _LANGUAGES:
        _LANGUAGES[key] = Language(kb)
    return _LANGUAGES[key]


def _normalization(text: str, changes: list[Change]) -> Normalization | None:
    if not changes:
        return None
    words = [NormalizedWord(kind=c.kind, original=c.original, normalized=c.normalized) for c in changes]
    return Normalization(text=text, changes=words)


class Understander:
    def __init__(
        self,
        nlu: RasaClient | None,
        retriever: Retriever,
        calibration: Calibration,
        other_services: OtherServices | None = None,
    ):
        self.nlu = nlu
        self.retriever = retriever
        self.cal = calibration
        self.language = _language(retriever.kb)
        self.other_services = other_services or load_other_services()
        self._vectors: dict[str, np.ndarray] = {}
        # topics changed since the NLU model was trained (knowledge_base/live.py keeps it)
        self.unknown_to_nlu: frozenset[str] = frozenset()

    async def _vector(self, text: str, nlu: NluResult | None) -> np.ndarray:
        if (
            nlu
            and nlu.embedding
            and nlu.embedding[0] == self.retriever.embedder.name
            and nlu.embedding[1].shape == self.retriever.vectors.shape[1:]
        ):
            return nlu.embedding[1]
        # without Rasa's vector, the search and the other-services check share one e5 pass
        if text not in self._vectors:
            if len(self._vectors) > 256:
                self._vectors.clear()
            self._vectors[text] = (await asyncio.to_thread(self.retriever.embedder.queries, [text]))[0]
        return self._vectors[text]

    async def _other_by_meaning(self, text: str, nlu: NluResult | None) -> OtherService | None:
        """Another authority's service by meaning (its examples, e5) when no pattern fits:
        it must be near certain and nearer than any topic of our knowledge base."""
        texts = [(s, e) for s in self.other_services.services for e in s.examples]
        if not texts:
            return None
        key = (self.retriever.embedder.name, tuple(e for _, e in texts))
        if key not in _OTHER_VECTORS:
            _OTHER_VECTORS[key] = await asyncio.to_thread(self.retriever.embedder.queries, list(key[1]))
        vector = await self._vector(text, nlu)
        sims = _OTHER_VECTORS[key] @ vector
        best = int(np.argmax(sims))
        ours = self.retriever.search_vector(vector, 1)
        lead = float(sims[best]) - (ours[0].similarity if ours else 0.0)
        return texts[best][0] if sims[best] >= OTHER_BY_MEANING and lead >= OTHER_LEAD else None

    async def _search(self, text: str, nlu: NluResult | None) -> list[Any]:
        # Rasa's e5 featurizer already embedded this text: `_vector` reuses its vector when
        # it comes from the same encoder as our index (one e5 pass per turn, not two).
        return self.retriever.search_vector(await self._vector(text, nlu), 10)

    async def _parse(self, text: str) -> NluResult | None:
        if self.nlu is None:
            return None
        try:
            return await self.nlu.parse(text)
        except NluUnavailable as exc:
            metrics.nlu_fallback(exc.reason)
            log.warning("NLU unavailable, answering from the knowledge base only: %s", exc)
            return None

    async def _read(self, text: str) -> tuple[NluResult | None, list[Candidate]]:
        nlu = await self._parse(text)
        kb = await self._search(text, nlu)
        ranking = fuse(nlu, [(s.topic_id, s.similarity) for s in kb], self.cal, self.unknown_to_nlu)
        if nlu is None:  # no NLU: a request for a person must still reach one
            ranking = keyword_intents(text) + ranking
        return nlu, ranking

    async def _read_spelled(self, text: str) -> tuple[NluResult | None, list[Candidate], str, list[Change]]:
        """Read `text`; if the speller would change it, read that too and keep the
        reading the NLU is more sure of (a correction must raise confidence)."""
        speller = self.language.speller
        fixed, fixes = speller.correct(text) if speller else (text, [])
        if not fixes:
            return (*await self._read(text), text, [])
        (nlu, ranking), (nlu2, ranking2) = await asyncio.gather(self._read(text), self._read(fixed))
        if ranking2 and ranking and ranking2[0].score > ranking[0].score:
            return nlu2, ranking2, fixed, fixes
        return nlu, ranking, text, []

    async def _read_long(self, text: str) -> tuple[NluResult | None, list[Candidate], str, list[str]]:
        """The most confident request among the sentences of a long message, and
        every action any of them asks for."""
        parts = request_sentences(text)
        reads = await asyncio.gather(*(self._read(p) for p in parts))
        best: tuple[float, int] | None = None
        actions: list[str] = []
        for i, (_, ranking) in enumerate(reads):
            top = ranking[0] if ranking else None
            if top is None or top.intent in NOT_A_REQUEST:
                continue
            if top.intent in ACTION_INTENTS and top.score >= self.cal.answer:
                actions.append(top.intent)
            # a question mark makes a sentence the likelier request among equals
            score = top.score + (0.05 if "?" in parts[i] else 0.0)
            if best is None or score > best[0]:
                best = (score, i)
        index = best[1] if best else len(parts) - 1 if "?" not in text else 0
        nlu, ranking = reads[index]
        return nlu, ranking, parts[index], actions

    async def understand(self, text: str) -> Understanding:
        normalized = self.language.normalizer.normalize(text)
        changes = list(normalized.changes)
        work = normalized.text
        focus: str | None = None
        actions = action_intents(work)
        if is_long(work):
            nlu, ranking, focus, sentence_actions = await self._read_long(work)
            actions += sentence_actions
        else:
            nlu, ranking, work, fixes = await self._read_spelled(work)
            changes += fixes
        top = ranking[0]
        entities = {}
        for name in ENTITY_NAMES:
            value = nlu.entity(name) if nlu else None
            if value:
                entities[name] = value
        other = self.other_services.match(focus or work)
        if other is None and top.intent in {"faq", "out_of_scope"}:
            other = await self._other_by_meaning(focus or work, nlu)
        return Understanding(
            intent=top.intent,
            faq_id=top.faq_id,
            confidence=top.score,
            ranking=ranking[:10],
            entities=entities,
            normalization=_normalization(work, changes),
            focus=focus,
            actions=[a for a in dict.fromkeys(actions) if a != top.intent],
            other_service=other.id if other else None,
        )
