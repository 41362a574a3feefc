"""The fee catalogue: data (fees.yaml) checked by pydantic at load.

Errors name the file, the fee and the field, so a non-programmer editing the
YAML sees what to fix.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import yaml
from pydantic import BaseModel, Field, HttpUrl, ValidationError, ValidationInfo, field_validator, model_validator

from bot.core.numbers import is_digits


class CatalogueError(ValueError):
    pass


# field → (allowed lengths, its name in the error message)
_DIGIT_FIELDS = {
    "inn": ((10,), "ИНН получателя"),
    "kpp": ((9,), "КПП"),
    "account": ((20,), "счёт"),
    "correspondent_account": ((20,), "счёт"),
    "bic": ((9,), "БИК"),
    "kbk": ((20,), "КБК"),
    "oktmo": ((8, 11), "ОКТМО"),
}


def _digits(value: str, lengths: tuple[int, ...], what: str) -> str:
    value = str(value).strip()
    if not (is_digits(value) and len(value) in lengths):
        need = " или ".join(map(str, lengths))
        raise ValueError(f"{what}: нужно {'ровно ' if len(lengths) == 1 else ''}{need} цифр, сейчас «{value}»")
    return value


class Payee(BaseModel):
    """Payee requisites as printed on a payment order (платёжное поручение)."""

    recipient: str = Field(min_length=3, max_length=160)
    inn: str
    kpp: str
    account: str  # treasury account (казначейский счёт) or settlement account
    bank: str = Field(min_length=3)
    bic: str
    correspondent_account: str  # единый казначейский счёт / корсчёт
    kbk: str
    oktmo: str

    @field_validator("inn", "kpp", "account", "correspondent_account", "bic", "kbk", "oktmo")
    @classmethod
    def _digits_only(cls, v: str, info: ValidationInfo) -> str:
        lengths, what = _DIGIT_FIELDS[str(info.field_name)]
        return _digits(v, lengths, what)


class Source(BaseModel):
    name: str
    url: HttpUrl


class Fee(BaseModel):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]{1,31}$")  # goes into button payloads
    name: str = Field(min_length=3, max_length=60)
    purpose: str = Field(min_length=3, max_length=160)  # «Назначение платежа»
    amount_kopecks: int = Field(gt=0, lt=10**12)
    legal_basis: str = Field(min_length=3)
    free_electronically: bool = False
    note: str = ""
    topics: list[str] = Field(default_factory=list)  # knowledge-base topics that lead here
    keywords: list[str] = Field(default_factory=list)  # lower-case stems for typed choice
    payee: Payee
    checked_on: date
    source: Source

    @property
    def rubles(self) -> str:
        return format_rubles(self.amount_kopecks)


WORD = re.compile(r"[a-zа-яё0-9]+")
SHORT_KEYWORD = 3  # a keyword this short («ип», «ооо») names a fee only as a whole word


def _names(keyword: str, words: list[str]) -> bool:
    if len(keyword) <= SHORT_KEYWORD:
        return keyword in words
    return any(w.startswith(keyword) for w in words)


class Catalogue(BaseModel):
    requisites_are_sample: bool = True
    fees: list[Fee] = Field(min_length=1)
    # Knowledge-base topics whose answer offers to pay here: the answer carries a pay button.
    offer_topics: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique(self) -> Catalogue:
        ids = [f.id for f in self.fees]
        dupes = {i for i in ids if ids.count(i) > 1}
        if dupes:
            raise ValueError(f"повторяются id пошлин: {', '.join(sorted(dupes))}")
        return self

    def get(self, fee_id: str | None) -> Fee | None:
        return next((f for f in self.fees if f.id == fee_id), None)

    def __contains__(self, fee_id: str) -> bool:
        return self.get(fee_id) is not None

    def for_topic(self, topic: str | None) -> list[Fee]:
        return [f for f in self.fees if topic and topic in f.topics]

    def for_amount(self, kopecks: int) -> list[Fee]:
        return [f for f in self.fees if f.amount_kopecks == kopecks]

    def match_text(self, text: str | None) -> list[Fee]:
        """Fees whose keywords the text names (stems at a word's start; «ип» as a word)."""
        words = WORD.findall((text or "").lower().replace("ё", "е"))
        return [f for f in self.fees if any(_names(k.lower().replace("ё", "е"), words) for k in f.keywords)]


def format_rubles(kopecks: int) -> str:
    """12000050 → «120 000,50 ₽»; whole amounts without kopecks."""
    rub, kop = divmod(kopecks, 100)
    text = f"{rub:,}".replace(",", "\u00a0")
    return f"{text},{kop:02d}\u00a0₽" if kop else f"{text}\u00a0₽"


def load_catalogue(path: Path) -> Catalogue:
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise CatalogueError(f"{path}: cannot read the fee catalogue: {exc}") from exc
    if not isinstance(raw, dict):
        raise CatalogueError(f"{path}: expected a mapping with `fees:`")
    raw = {k: v for k, v in raw.items() if k in Catalogue.model_fields}
    try:
        return Catalogue.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = list(err["loc"])
            where = "catalogue"
            if len(loc) >= 2 and loc[0] == "fees" and isinstance(loc[1], int):
                fees = raw.get("fees") or []
                fee_id = (
                    fees[loc[1]].get("id", f"#{loc[1] + 1}")
                    if loc[1] < len(fees) and isinstance(fees[loc[1]], dict)
                    else f"#{loc[1] + 1}"
                )
                where = f"fee {fee_id}"
                loc = loc[2:]
            field = ".".join(str(p) for p in loc) or "(entry)"
            problems.append(f"{path}: {where}, field {field}: {err['msg']}")
        raise CatalogueError("\n".join(problems)) from None
