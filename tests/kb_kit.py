"""What the knowledge-base loop's tests share: a runtime over a copy of the topic
files (a publish writes there, never into the repository, and never into the
knowledge base the session's other tests use) and the {kb} keys cleaned after."""

from __future__ import annotations

import shutil
from pathlib import Path

from bot.runtime import load_retriever
from bot.settings import Settings
from knowledge_base import keys as kb_keys

# questions the knowledge base does not answer (out of scope or options), of one meaning
VET = [
    "где купить корм для собак оптом",
    "оптовая закупка корма для собак",
    "корм для собак оптом купить",
]


def own_knowledge_base(tmp_path: Path, settings: Settings) -> tuple[Settings, tuple]:
    topics = tmp_path / "topics"
    shutil.copytree(settings.kb_dir, topics)
    own = settings.model_copy(update={"kb_dir": topics, "kb_retrain_nlu": False})
    return own, load_retriever(own)  # the index comes from the cache: same texts


async def forget_changes(redis) -> None:
    await redis.delete(kb_keys.kb_changes(), kb_keys.kb_version(), kb_keys.kb_fresh(), kb_keys.kb_nlu())
