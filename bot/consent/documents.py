"""Versioned consent texts (`consent_texts.yaml`), validated when loaded.

What the client sees is `Shown`: the exact words, with the document id,
version and the sha256 of those words — exactly what the ledger records.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .model import Kind

TEXTS_FILE = Path(__file__).with_name("consent_texts.yaml")


class Document(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    kind: Kind
    purpose: str | None = Field(None, pattern=r"^[a-z0-9_]{1,24}$")
    version: int = Field(ge=1)
    title: str = Field(min_length=5)
    text: str = Field(min_length=40)

    @model_validator(mode="after")
    def _purpose_only_for_personal_data(self) -> Document:
        if (self.kind is Kind.personal_data) != bool(self.purpose):
            raise ValueError("`purpose` is required for kind personal_data and only for it")
        if self.kind is Kind.notify:
            raise ValueError("notification preferences have no consent text")
        return self


@dataclass(frozen=True)
class Shown:
    """A consent text as shown to one client."""

    text_id: str
    version: str
    text: str
    title: str
    sha256: str

    def ledger_fields(self) -> dict[str, str]:
        return {"text_id": self.text_id, "version": self.version, "sha256": self.sha256, "title": self.title}


class Documents:
    def __init__(self, documents: list[Document]):
        self.all = documents
        self.current: dict[str, Document] = {}
        for doc in sorted(documents, key=lambda d: d.version):
            self.current[doc.id] = doc

    def for_purpose(self, purpose: str) -> Document:
        for doc in self.current.values():
            if doc.kind is Kind.personal_data and doc.purpose == purpose:
                return doc
        raise KeyError(f"no personal-data consent text for purpose {purpose!r} in {TEXTS_FILE.name}")

    def for_kind(self, kind: Kind) -> Document:
        for doc in self.current.values():
            if doc.kind is kind:
                return doc
        raise KeyError(f"no consent text of kind {kind.value!r} in {TEXTS_FILE.name}")

    def purposes(self) -> list[str]:
        return [d.purpose for d in self.current.values() if d.purpose]


def show(doc: Document, org: str, topic: str = "") -> Shown:
    text = doc.text.format(org=org, topic=topic)
    title = doc.title.format(org=org, topic=topic)
    return Shown(
        text_id=doc.id,
        version=str(doc.version),
        text=text,
        title=title,
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
    )


def load_documents(path: Path = TEXTS_FILE) -> Documents:
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    docs, seen = [], set()
    for i, item in enumerate(raw.get("documents") or []):
        try:
            doc = Document.model_validate(item)
        except ValidationError as exc:
            name = item.get("id", f"#{i + 1}") if isinstance(item, dict) else f"#{i + 1}"
            raise ValueError(f"{path.name}: consent text {name}: {exc}") from exc
        if (doc.id, doc.version) in seen:
            raise ValueError(f"{path.name}: consent text {doc.id} version {doc.version} appears twice")
        try:
            doc.text.format(org="", topic="")
            doc.title.format(org="", topic="")
        except (KeyError, IndexError) as exc:
            raise ValueError(f"{path.name}: consent text {doc.id}: unknown placeholder {exc}") from exc
        seen.add((doc.id, doc.version))
        docs.append(doc)
    if not docs:
        raise ValueError(f"{path.name}: no consent texts")
    return Documents(docs)


@lru_cache
def documents() -> Documents:
    return load_documents()
