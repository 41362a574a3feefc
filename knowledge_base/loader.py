"""Load and validate knowledge-base files; errors name the file and the field."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import ValidationError

from .models import Entry


class KnowledgeBaseError(ValueError):
    pass


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


def _load_entry(path: Path) -> Entry:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise KnowledgeBaseError(f"{path.name}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise KnowledgeBaseError(f"{path.name}: expected a mapping of fields at the top level")
    try:
        entry = Entry.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"field '{'.'.join(str(p) for p in err['loc'])}': {err['msg']}" for err in exc.errors()
        )
        raise KnowledgeBaseError(f"{path.name} (entry {raw.get('id', '?')}): {problems}") from exc
    if entry.id != path.stem:
        raise KnowledgeBaseError(f"{path.name}: field 'id' is {entry.id!r} but the file name says {path.stem!r}")
    return entry


def load_knowledge_base(directory: Path, required_ids: list[str] | None = None) -> KnowledgeBase:
    directory = Path(directory)
    files = sorted(directory.glob("*.yaml"))
    if not files:
        raise KnowledgeBaseError(f"{directory}: no knowledge-base files (*.yaml) found")
    entries = {e.id: e for e in map(_load_entry, files)}
    for entry in entries.values():
        for rel in entry.related:
            if rel not in entries:
                raise KnowledgeBaseError(f"{entry.id}.yaml: field 'related' names unknown topic {rel!r}")
    missing = [tid for tid in required_ids or [] if tid not in entries]
    if missing:
        raise KnowledgeBaseError(f"{directory}: topics required by the contract are missing: {', '.join(missing)}")
    return KnowledgeBase(entries)
