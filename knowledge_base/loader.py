"""Load and validate knowledge-base files; errors name the file and the field."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from .models import Entry


class KnowledgeBaseError(ValueError):
    pass


class EntryError(KnowledgeBaseError):
    """An entry that breaks the schema; `problems` are pydantic's errors (loc, type, msg, ctx),
    for editors that show each next to its field."""

    def __init__(self, message: str, problems: list[dict[str, Any]]):
        super().__init__(message)
        self.problems = problems


@dataclass(frozen=True)
class KnowledgeBase:
    entries: dict[str, Entry]

    def __getitem__(self, topic_id: str) -> Entry:
        return self.entries[topic_id]

    def __contains__(self, topic_id: object) -> bool:
        return topic_id in self.entries

    def __len__(self) -> int:
        return len(self.entries)

    def ids(self) -> list[str]:
        return list(self.entries)


def parse_entry(text: str, file_name: str) -> Entry:
    """One topic file's text as an entry: the checks every topic passes, from disk or from
    the console's editor (knowledge_base/editing.py)."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise KnowledgeBaseError(f"{file_name}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise KnowledgeBaseError(f"{file_name}: expected a mapping of fields at the top level")
    try:
        entry = Entry.model_validate(raw)
    except ValidationError as exc:
        errors = exc.errors()
        problems = "; ".join(f"field '{'.'.join(str(p) for p in err['loc'])}': {err['msg']}" for err in errors)
        raise EntryError(f"{file_name} (entry {raw.get('id', '?')}): {problems}", [dict(e) for e in errors]) from exc
    if entry.id != Path(file_name).stem:
        raise KnowledgeBaseError(
            f"{file_name}: field 'id' is {entry.id!r} but the file name says {Path(file_name).stem!r}"
        )
    return entry


def _load_entry(path: Path) -> Entry:
    return parse_entry(path.read_text(encoding="utf-8"), path.name)


def check_related(entries: dict[str, Entry]) -> None:
    """Every `related` topic exists."""
    for entry in entries.values():
        for rel in entry.related:
            if rel not in entries:
                raise KnowledgeBaseError(f"{entry.id}.yaml: field 'related' names unknown topic {rel!r}")


def load_knowledge_base(directory: Path, required_ids: list[str] | None = None) -> KnowledgeBase:
    directory = Path(directory)
    files = sorted(directory.glob("*.yaml"))
    if not files:
        raise KnowledgeBaseError(f"{directory}: no knowledge-base files (*.yaml) found")
    entries = {e.id: e for e in map(_load_entry, files)}
    check_related(entries)
    missing = [tid for tid in required_ids or [] if tid not in entries]
    if missing:
        raise KnowledgeBaseError(f"{directory}: topics required by the contract are missing: {', '.join(missing)}")
    return KnowledgeBase(entries)
