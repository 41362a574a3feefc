"""Consultation topics (`topics.yaml`), checked by pydantic when loaded; errors
name the file, the entry and the field."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from knowledge_base.models import LIFE_SITUATIONS


class TopicsError(ValueError):
    pass


class Topic(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9_]{1,16}$")
    title: str = Field(min_length=3, max_length=40)
    duration_minutes: int = Field(ge=15, le=240)
    capacity: int = Field(ge=1, le=50)
    online: bool = False
    location: str = Field(min_length=3)
    life_situations: list[str] = Field(default_factory=list)

    @field_validator("life_situations")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        unknown = [v for v in value if v not in LIFE_SITUATIONS]
        if unknown:
            raise ValueError(f"unknown life situation(s) {unknown}; use {sorted(LIFE_SITUATIONS)}")
        return value


class Topics:
    def __init__(self, topics: list[Topic]):
        self.all = topics
        self.by_id = {t.id: t for t in topics}

    def __getitem__(self, topic_id: str) -> Topic:
        return self.by_id[topic_id]

    def __contains__(self, topic_id: object) -> bool:
        return topic_id in self.by_id

    def for_situation(self, situation: str | None) -> Topic | None:
        return next((t for t in self.all if situation and situation in t.life_situations), None)


def load_topics(path: Path) -> Topics:
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise TopicsError(f"{path}: cannot read the topics: {exc}") from exc
    topics = []
    for n, raw in enumerate(data.get("topics") or []):
        try:
            topics.append(Topic.model_validate(raw))
        except ValidationError as exc:
            name = raw.get("id", f"#{n + 1}") if isinstance(raw, dict) else f"#{n + 1}"
            problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
            raise TopicsError(f"{path}: topic {name}: {problems}") from exc
    if not topics:
        raise TopicsError(f"{path}: no topics: add at least one under `topics:`")
    ids = [t.id for t in topics]
    if len(set(ids)) != len(ids):
        raise TopicsError(f"{path}: topic ids repeat: {sorted({i for i in ids if ids.count(i) > 1})}")
    return Topics(topics)
