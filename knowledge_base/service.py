"""What the console's knowledge-base pages use: the groups of unanswered questions,
the preview of a draft, publishing and the audit (`runtime.content`)."""

from __future__ import annotations

import asyncio
import copy
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from . import groups as grouping
from .editing import Checked
from .live import LiveKnowledge
from .loader import KnowledgeBase
from .models import Entry
from .publish import Publisher

if TYPE_CHECKING:
    from bot.runtime import Runtime

    from .embeddings import Embedder


class _Remembered:
    """The retriever's embedder, remembering what it embedded (a group page is viewed
    again and again over the same questions)."""

    def __init__(self, embedder: Embedder):
        self.embedder = embedder
        self.name = embedder.name
        self.seen: dict[str, np.ndarray] = {}

    def queries(self, texts: list[str]) -> np.ndarray:
        new = [t for t in dict.fromkeys(texts) if t not in self.seen]
        if new:
            if len(self.seen) > 20_000:
                self.seen.clear()
            self.seen.update(zip(new, self.embedder.queries(new), strict=True))
        return np.stack([self.seen[t] for t in texts])


@dataclass(frozen=True)
class Preview:
    text: str
    decision: str  # act | clarify | options | out_of_scope
    topic: str  # the topic it would answer or suggest first ("" when none)


class ContentService:
    def __init__(self, runtime: Runtime):
        from bot.core import masking

        settings = runtime.settings
        engine = runtime.engine
        self.redis = runtime.redis
        self.kb: KnowledgeBase = runtime.kb
        self.understander = engine.understander
        self.retriever = self.understander.retriever
        self.events = engine.events
        self.distance = settings.kb_group_distance
        self.live = LiveKnowledge(runtime.redis, runtime.kb, self.retriever, self.understander)
        retrain = None
        # Rasa must be installed here (`make serve`); a separate Rasa image learns new topics
        # when it is rebuilt from the topic files, and until then the knowledge base scores them
        rasa_here = (settings.rasa_venv / "bin" / "rasa").exists()
        if settings.kb_retrain_nlu and runtime.nlu is not None and rasa_here:
            from nlu.retrain import Retrainer

            retrain = Retrainer(
                runtime.redis, settings.kb_dir, settings.rasa_venv, runtime.nlu.base_urls, settings.rasa_token
            )
        self.publisher = Publisher(runtime.redis, settings.kb_dir, self.live, retrain)
        self._embedder = _Remembered(self.retriever.embedder)
        self._masked: dict[str, str] = {}
        self._mask = masking.mask_personal_data

    def _mask_once(self, text: str) -> str:
        if text not in self._masked:
            self._masked[text] = self._mask(text)
        return self._masked[text]

    async def groups(self) -> list[grouping.Group]:
        await self.live.sync()
        events = await self.events.read_all()
        questions = grouping.questions_from(events)
        known = [t for e in self.kb.entries.values() for t in e.search_texts()]
        return await asyncio.to_thread(
            grouping.group_questions, questions, self._embedder, self._mask_once, self.distance, known
        )

    async def group(self, group_id: str) -> grouping.Group | None:
        return next((g for g in await self.groups() if g.id == group_id), None)

    async def preview(self, entry: Entry, texts: list[str]) -> list[Preview]:
        """How the assistant would answer each text with `entry` published: a temporary
        knowledge base, index and understander; the running ones are not touched."""
        from bot.core.dialogue import decide

        vectors = await asyncio.to_thread(self.retriever.embed, entry)
        kb = KnowledgeBase({**self.kb.entries, entry.id: entry})
        understander = copy.copy(self.understander)
        understander.retriever = self.retriever.with_entry(kb, entry, vectors)
        understander.unknown_to_nlu = self.understander.unknown_to_nlu | {entry.id}
        found = []
        for text in texts:
            u = await understander.understand(text)
            decision = decide(u.ranking, understander.cal, len(text.split()))
            top = u.ranking[0] if u.ranking and decision.value != "out_of_scope" else None
            found.append(Preview(text, decision.value, (top.faq_id or "") if top else ""))
        return found

    async def publish(self, checked: Checked, who: str, action: str, what: str) -> None:
        await self.publisher.publish(checked, who, action, what)
