"""Application forms as data (forms.yaml), checked by pydantic at load.

Errors name the file, the form and the field, so a non-programmer editing the
YAML sees what to fix. `answer()` turns a client's text into a field value
with the validators; `shown()` renders a stored value for the summary.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from enum import Enum
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field, ValidationError, model_validator

from . import texts
from . import validators as v

SEGMENT_FIELD = "segment"  # the profile field the core keeps (knowledge_base.models.Segment)


class FieldType(str, Enum):
    text = "text"
    full_name = "full_name"
    inn = "inn"
    ogrn = "ogrn"
    phone = "phone"
    email = "email"
    date = "date"
    amount = "amount"
    choice = "choice"
    yes_no = "yes_no"


class Option(BaseModel):
    id: str = Field(pattern=r"^[a-z0-9_]{1,20}$")
    title: str = Field(min_length=1, max_length=40)
    synonyms: list[str] = Field(default_factory=list)  # lower-case stems typed by clients


class FormField(BaseModel):
    name: str = Field(pattern=r"^[a-z0-9_]{1,24}$")
    title: str = Field(min_length=2, max_length=40)  # short label in the summary and «Изменить»
    prompt: str = Field(min_length=5)
    type: FieldType
    required: bool = True
    help: str = Field(min_length=5)
    personal: bool = False  # personal data (152-ФЗ): asked only after consent
    profile: str | None = Field(None, pattern=r"^[a-z_]{1,24}$")  # pre-filled from / saved to this profile field
    options: list[Option] = Field(default_factory=list)
    minimum: int | None = None  # amount, rubles
    maximum: int | None = None
    when: str = Field("any", pattern="^(any|past|future)$")  # date
    max_age_years: int | None = None  # date of birth

    @model_validator(mode="after")
    def _consistent(self) -> FormField:
        if (self.type is FieldType.choice) != bool(self.options):
            raise ValueError("`options` are required for type choice and only for it")
        if len({o.id for o in self.options}) != len(self.options):
            raise ValueError("option ids must be unique")
        if self.type is not FieldType.amount and (self.minimum is not None or self.maximum is not None):
            raise ValueError("`minimum` / `maximum` only apply to type amount")
        return self

    def option(self, option_id: str) -> Option | None:
        return next((o for o in self.options if o.id == option_id), None)

    def answer(self, text: str, today: date) -> str:
        """The stored value for a typed answer; raises validators.Invalid."""
        t = self.type
        if t is FieldType.inn:
            return v.parse_inn(text)
        if t is FieldType.ogrn:
            return v.parse_ogrn(text)
        if t is FieldType.phone:
            return v.parse_phone(text)
        if t is FieldType.email:
            return v.parse_email(text)
        if t is FieldType.date:
            return v.parse_date(text, today, when=self.when, max_age_years=self.max_age_years).isoformat()
        if t is FieldType.amount:
            return str(v.parse_amount(text, minimum=self.minimum, maximum=self.maximum))
        if t is FieldType.yes_no:
            return "yes" if v.parse_yes_no(text) else "no"
        if t is FieldType.choice:
            return self._choose(text)
        if t is FieldType.full_name:
            return v.parse_full_name(text)
        return v.parse_text(text)

    def _choose(self, text: str) -> str:
        low = " ".join((text or "").lower().split())
        for o in self.options:
            if low in (o.id, o.title.lower()):
                return o.id
        hits = [o.id for o in self.options if any(s in low for s in [o.title.lower(), *o.synonyms])]
        if len(hits) == 1:
            return hits[0]
        raise v.Invalid(texts.CHOICE_UNKNOWN.format(options=", ".join(f"«{o.title}»" for o in self.options)))

    def shown(self, value: str | None) -> str:
        if value is None:
            return texts.SUMMARY_SKIPPED
        if self.type is FieldType.phone:
            return v.show_phone(value)
        if self.type is FieldType.date:
            return v.show_date(value)
        if self.type is FieldType.amount:
            return v.show_amount(value)
        if self.type is FieldType.yes_no:
            return texts.YES_BUTTON if value == "yes" else texts.NO_BUTTON
        if self.type is FieldType.choice:
            option = self.option(value)
            return option.title if option else value
        return value

    def from_profile(self, profile: Mapping[str, str], today: date) -> str | None:
        """A valid value the profile already holds for this field, if any."""
        raw = profile.get(self.profile or "")
        if not raw:
            return None
        if self.type is FieldType.choice:
            return raw if self.option(raw) else None
        try:
            return (
                self.answer(raw, today)
                if self.type is not FieldType.date
                else v.parse_date(v.show_date(raw), today, when=self.when, max_age_years=self.max_age_years).isoformat()
            )
        except (v.Invalid, ValueError):
            return None


class Form(BaseModel):
    id: str = Field(pattern=r"^[a-z0-9_]{1,20}$")
    title: str = Field(min_length=5)  # «Заявка на льготный микрозайм»
    button: str = Field(min_length=3, max_length=40)
    description: str = Field(min_length=10)
    topics: list[str] = Field(default_factory=list)  # FAQ topics after which this form is meant
    keywords: list[str] = Field(default_factory=list)  # lower-case stems that pick it from a message
    review_days: int = Field(10, ge=1, le=90)
    fields: list[FormField] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_fields(self) -> Form:
        names = [f.name for f in self.fields]
        if len(set(names)) != len(names):
            raise ValueError(f"field names must be unique: {names}")
        return self

    def field(self, name: str) -> FormField | None:
        return next((f for f in self.fields if f.name == name), None)


class FormsFile(BaseModel):
    forms: list[Form] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_forms(self) -> FormsFile:
        ids = [f.id for f in self.forms]
        if len(set(ids)) != len(ids):
            raise ValueError(f"form ids must be unique: {ids}")
        return self


class FormsError(ValueError):
    pass


class Forms:
    def __init__(self, forms: list[Form]):
        self.by_id = {f.id: f for f in forms}

    def __iter__(self):
        return iter(self.by_id.values())

    def get(self, form_id: str | None) -> Form | None:
        return self.by_id.get(form_id or "")

    def for_topic(self, topic: str | None) -> Form | None:
        return next((f for f in self if topic and topic in f.topics), None)

    def match_text(self, text: str | None) -> Form | None:
        low = (text or "").lower()
        hits = [f for f in self if any(k in low for k in f.keywords)]
        return hits[0] if len(hits) == 1 else None


def load_forms(path: Path) -> Forms:
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise FormsError(f"{path}: cannot read forms: {exc}") from exc
    try:
        return Forms(FormsFile.model_validate(raw).forms)
    except ValidationError as exc:
        raise FormsError("\n".join(_explain(path, raw, err) for err in exc.errors())) from None


def _explain(path: Path, raw: dict, err: Mapping[str, Any]) -> str:
    loc, where = list(err["loc"]), []
    if len(loc) >= 2 and loc[0] == "forms" and isinstance(loc[1], int):
        forms = raw.get("forms") or []
        form = forms[loc[1]] if loc[1] < len(forms) and isinstance(forms[loc[1]], dict) else {}
        where.append(f"form {form.get('id', f'#{loc[1] + 1}')}")
        loc = loc[2:]
        if len(loc) >= 2 and loc[0] == "fields" and isinstance(loc[1], int):
            fields = form.get("fields") or []
            fld = fields[loc[1]] if loc[1] < len(fields) and isinstance(fields[loc[1]], dict) else {}
            where.append(f"field {fld.get('name', f'#{loc[1] + 1}')}")
            loc = loc[2:]
    attr = ".".join(str(p) for p in loc) or "(entry)"
    return f"{path}: {', '.join(where) or 'file'}, {attr}: {err['msg']}"
