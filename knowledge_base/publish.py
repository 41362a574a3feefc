"""Publishing a topic from the console: the file, the audit, every process.

1. the topic file `<kb_dir>/<id>.yaml` is written (atomically; it is the source of truth);
2. one Redis transaction appends the change to `{kb}:changes` (who, when, what, and the
   file's text), marks the topic fresh for the NLU and bumps `{kb}:version`;
3. this process catches up at once (`LiveKnowledge.sync`: the retriever answers with the
   new topic from the next turn), the others before their next turn;
4. the NLU model retrains in the background (nlu/retrain.py) and is swapped in when ready.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from redis.asyncio import Redis

from . import keys
from .editing import Checked
from .live import LiveKnowledge

if TYPE_CHECKING:
    from nlu.retrain import Retrainer

ACTIONS = {"create": "новая тема", "update": "изменена тема", "paraphrases": "добавлены вопросы"}


@dataclass(frozen=True)
class Change:
    id: str
    at: float
    who: str
    action: str
    topic: str
    what: str  # a line for people: what changed

    @property
    def title(self) -> str:
        return ACTIONS.get(self.action, self.action)


class Publisher:
    def __init__(self, redis: Redis, kb_dir: Path, live: LiveKnowledge, retrain: Retrainer | None = None):
        self.redis = redis
        self.kb_dir = Path(kb_dir)
        self.live = live
        self.retrain = retrain  # nlu.retrain.Retrainer, or None without Rasa

    async def publish(self, checked: Checked, who: str, action: str, what: str) -> Change:
        entry = checked.entry
        if entry is None:
            raise ValueError("only a checked draft is published")
        await asyncio.to_thread(self._write, entry.id, checked.text)
        now = time.time()
        fields = {"at": f"{now:.3f}", "who": who, "action": action, "topic": entry.id, "what": what}
        pipe = self.redis.pipeline(transaction=True)
        pipe.xadd(keys.kb_changes(), {**fields, "yaml": checked.text}, maxlen=keys.CHANGES_MAXLEN, approximate=True)
        pipe.sadd(keys.kb_fresh(), entry.id)
        pipe.incr(keys.kb_version())
        change_id = (await pipe.execute())[0]
        await self.live.sync()
        if self.retrain is not None:
            self.retrain.request()
        return Change(change_id, now, who, action, entry.id, what)

    def _write(self, topic: str, text: str) -> None:
        path = self.kb_dir / f"{topic}.yaml"
        tmp = path.with_suffix(".yaml.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)  # a half-written topic is never loaded

    async def changes(self, count: int = 50) -> list[Change]:
        """The latest changes, newest first (the console's audit)."""
        rows = await self.redis.xrevrange(keys.kb_changes(), count=count)
        return [
            Change(
                cid, float(f.get("at", 0)), f.get("who", ""), f.get("action", ""), f.get("topic", ""), f.get("what", "")
            )
            for cid, f in rows
        ]

    async def nlu_state(self) -> dict[str, str]:
        return await self.redis.hgetall(keys.kb_nlu())
