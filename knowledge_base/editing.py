"""Editing the knowledge base from the console: a draft topic checked exactly as
the YAML loader checks a topic file (`loader.parse_entry` on the text the file
will hold), with each problem in Russian next to its field; the file's text.

Publishing (knowledge_base/publish.py) writes that text to `<kb_dir>/<id>.yaml`:
the topic files stay the source of truth, and exporting or importing the
knowledge base is copying those files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from .loader import EntryError, KnowledgeBase, KnowledgeBaseError, check_related, parse_entry
from .models import Entry, Segment

# The fields of the editor's form, in the order of the topic files.
FIELDS = ("id", "life_situation", "title", "question", "answer", "source.name", "source.url", "paraphrases")
SEGMENT_FIELDS = tuple(f"segments.{s.value}" for s in Segment if s is not Segment.universal)

_MESSAGES = {
    "missing": "Заполните это поле.",
    "string_too_short": "Слишком коротко: нужно не меньше {min_length} символов.",
    "string_too_long": "Слишком длинно: не больше {max_length} символов.",
    "string_pattern_mismatch": "Только латинские строчные буквы, цифры и «_», например: vet_grant.",
    "too_short": "Нужно не меньше {min_length} вариантов вопроса — по одному в строке.",
    "url_parsing": "Укажите полный адрес источника, начиная с https://",
    "url_scheme": "Укажите полный адрес источника, начиная с https://",
    "value_error": "Выберите жизненную ситуацию из списка.",
    "enum": "Такого сегмента нет.",
    "extra_forbidden": "Такого поля в теме нет.",
}


@dataclass
class Draft:
    """What the editor's form holds: free text, one paraphrase a line."""

    id: str = ""
    life_situation: str = ""
    title: str = ""
    question: str = ""
    answer: str = ""
    source_name: str = ""
    source_url: str = ""
    paraphrases: list[str] = field(default_factory=list)
    segments: dict[str, str] = field(default_factory=dict)  # segment → its own answer (optional)
    related: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, entry: Entry) -> Draft:
        return cls(
            id=entry.id,
            life_situation=entry.life_situation,
            title=entry.title,
            question=entry.question,
            answer=entry.answer,
            source_name=entry.source.name,
            source_url=str(entry.source.url),
            paraphrases=list(entry.paraphrases),
            segments={s.value: text for s, text in entry.segments.items()},
            related=list(entry.related),
        )

    def raw(self) -> dict[str, Any]:
        """The topic file's fields, in its order; empty optional fields left out."""
        data: dict[str, Any] = {
            "id": self.id.strip(),
            "life_situation": self.life_situation.strip(),
            "title": " ".join(self.title.split()),
            "question": " ".join(self.question.split()),
            "answer": " ".join(self.answer.split()),
            "source": {"name": " ".join(self.source_name.split()), "url": self.source_url.strip()},
        }
        segments = {k: " ".join(v.split()) for k, v in self.segments.items() if v.strip()}
        if segments:
            data["segments"] = segments
        data["paraphrases"] = list(dict.fromkeys(p for p in (" ".join(x.split()) for x in self.paraphrases) if p))
        if self.related:
            data["related"] = list(self.related)
        return data


class _Folded(str):
    """A long text written folded (`>-`), as in the hand-written topic files."""


def _folded(dumper: yaml.SafeDumper, data: _Folded) -> yaml.Node:
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=">")


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(_Folded, _folded)


def topic_yaml(draft: Draft) -> str:
    data = draft.raw()
    for key in ("answer",):
        data[key] = _Folded(data[key])
    if "segments" in data:
        data["segments"] = {k: _Folded(v) for k, v in data["segments"].items()}
    return yaml.dump(data, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=90)


@dataclass
class Checked:
    entry: Entry | None
    text: str  # the topic file's text
    errors: dict[str, str]  # form field → what to fix, in Russian


def check(draft: Draft, kb: KnowledgeBase, *, new: bool) -> Checked:
    """The draft as the loader would read its file, and as part of the knowledge base."""
    text = topic_yaml(draft)
    tid = draft.id.strip()
    errors: dict[str, str] = {}
    entry: Entry | None = None
    if new and tid in kb:
        errors["id"] = "Тема с таким кодом уже есть — придумайте другой или добавьте вопросы к ней."
    try:
        entry = parse_entry(text, f"{tid or 'draft'}.yaml")
    except EntryError as exc:
        for problem in exc.problems:
            name = ".".join(str(p) for p in problem["loc"] if not isinstance(p, int))
            message = _MESSAGES.get(problem["type"], "Проверьте это поле.").format(**problem.get("ctx", {}))
            errors.setdefault(name if name in FIELDS or name in SEGMENT_FIELDS else "form", message)
    except KnowledgeBaseError:
        errors.setdefault("form", "Тему не удалось прочитать — проверьте поля и попробуйте ещё раз.")
    if entry is not None and not errors:
        try:
            check_related({**kb.entries, entry.id: entry})
        except KnowledgeBaseError:
            errors["form"] = "Среди связанных тем есть несуществующая."
    return Checked(entry if not errors else None, text, errors)


def add_paraphrases(entry: Entry, texts: list[str]) -> Draft:
    """An existing topic with more ways to ask it (those it already has are not repeated)."""
    draft = Draft.of(entry)
    draft.paraphrases = list(dict.fromkeys([*draft.paraphrases, *(" ".join(t.split()) for t in texts)]))
    return draft
