"""Redis keys of the knowledge base's console editing (knowledge_base/editing.py,
knowledge_base/live.py). Layout:

  {kb}:changes   stream: every published change — who, when, what (the audit the
                 console shows) and the topic file's new text, so every app process
                 applies it without a restart and without a shared disk
  {kb}:version   counter: bumped with each change (and when the NLU model catches
                 up); a process reads it before a turn and catches up when it moved
  {kb}:fresh     set: topics changed since the NLU model was trained (the knowledge
                 base alone scores them until the new model is loaded)
  {kb}:nlu       hash: the background NLU training — state, model, when, error

(all under the prefix `mb:`; `{…}` is the Redis Cluster hash tag: a change writes
the stream, the set and the counter in one transaction)
"""

from __future__ import annotations

from bot.store.keys import NO_CLIENT_DATA, Keyspace

KB = Keyspace("kb")

CHANGES_MAXLEN = 100_000


@KB.family(NO_CLIENT_DATA)  # staff names and topic texts written by staff
def kb_changes() -> str:
    return f"{KB.prefix}changes"


@KB.family(NO_CLIENT_DATA)
def kb_version() -> str:
    return f"{KB.prefix}version"


@KB.family(NO_CLIENT_DATA)
def kb_fresh() -> str:
    return f"{KB.prefix}fresh"


@KB.family(NO_CLIENT_DATA)
def kb_nlu() -> str:
    return f"{KB.prefix}nlu"
