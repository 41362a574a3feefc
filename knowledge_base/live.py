"""The running knowledge base follows what the console publishes, without a restart.

Every app process holds its own knowledge base, retriever index and understander.
A change is published once (knowledge_base/publish.py): the topic file is written
and the change — with the file's text — is appended to `{kb}:changes`, and
`{kb}:version` is bumped. Before each turn a process reads that counter (one GET);
when it moved, the process reads the changes after the last one it applied, checks
each topic as the loader does and puts it into its knowledge base and index. It
also re-reads `{kb}:fresh`, the topics the NLU model has not learnt yet, which the
understander scores by the knowledge base alone.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING

from redis.asyncio import Redis

from . import keys
from .loader import KnowledgeBase, KnowledgeBaseError, parse_entry
from .models import Entry
from .retriever import Retriever

if TYPE_CHECKING:
    from bot.core.understanding import Understander

log = logging.getLogger("knowledge_base.live")
LOAD_MARGIN_S = 5.0  # clocks of app hosts differ a little; a change applied twice is a no-op
START_WINDOW = 1000  # changes looked at when a process starts


class LiveKnowledge:
    def __init__(self, redis: Redis, kb: KnowledgeBase, retriever: Retriever, understander: Understander):
        self.redis = redis
        self.kb = kb
        self.retriever = retriever
        self.understander = understander
        self.version: str | None = None  # of the last catch-up; None: not started
        self.last_change = "0-0"  # the id of the last change applied
        # the topic files were read just before (the runtime loads them, then installs this):
        # changes published before then are in them (the files stay the source of truth)
        self.loaded_at = time.time() - LOAD_MARGIN_S
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        """The first catch-up starts after the last change the files already held."""
        recent = await self.redis.xrevrange(keys.kb_changes(), count=START_WINDOW)
        older = [cid for cid, change in recent if float(change.get("at") or 0) < self.loaded_at]
        self.last_change = older[0] if older else recent[-1][0] if len(recent) == START_WINDOW else "0-0"
        self.version = ""  # catch up on the first turn

    async def sync(self) -> int:
        """Catch up with changes published by any process; returns how many were applied."""
        if self.version is None:
            await self.start()
        if (await self.redis.get(keys.kb_version()) or "0") == self.version:
            return 0
        async with self._lock:
            version = await self.redis.get(keys.kb_version()) or "0"
            if version == self.version:
                return 0
            applied = 0
            for change_id, change in await self.redis.xrange(keys.kb_changes(), min=f"({self.last_change}"):
                entry = self._entry(change)
                if entry is not None:
                    await self.apply(entry)
                    applied += 1
                self.last_change = change_id
            await self._fresh()
            self.version = version
            return applied

    def _entry(self, change: dict[str, str]) -> Entry | None:
        text, topic = change.get("yaml", ""), change.get("topic", "")
        if not text:
            return None
        try:
            return parse_entry(text, f"{topic}.yaml")
        except KnowledgeBaseError as exc:  # written by our own editor: should never happen
            log.error("a published topic does not load, left out: %s", exc)
            return None

    async def apply(self, entry: Entry) -> None:
        if self.kb.entries.get(entry.id) == entry:
            return
        vectors = await asyncio.to_thread(self.retriever.embed, entry)
        self.kb.entries[entry.id] = entry  # the knowledge base every part of the process shares
        self.retriever.replace(entry, vectors)

    async def _fresh(self) -> None:
        self.understander.unknown_to_nlu = frozenset(await self.redis.smembers(keys.kb_fresh()))
