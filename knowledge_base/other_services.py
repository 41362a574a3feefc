"""Public services of other authorities (a passport, a kindergarten, a traffic fine …).

People ask a «Мой бизнес» centre about them; the assistant must not answer with a
business topic that merely shares a word, and must not just say «не могу помочь»:
it tells where the service is provided (`other_services.yaml`, curated, with
sources). A message with a business reading (ИП, ООО, сотрудники …) is not a
near miss: «пенсионные взносы ИП» is a tax question.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator

from .models import Source

OTHER_SERVICES_FILE = Path(__file__).with_name("other_services.yaml")

# Words that give a message a business reading: then it is the centre's question.
BUSINESS_CUES = re.compile(
    r"\b(ип|ооо|ао|бизнес\w*|предпринимател\w*|предприяти\w*|организаци\w*|компани[яиюей]|фирм\w*|юрлиц\w*|"
    r"юридическ\w*|сотрудник\w*|работник\w*|сотрудниц\w*|сотрудникам|самозанят\w*|взнос\w*|усн|енвд|патент\w*|"
    r"ккт|касс\w*|магазин\w*|кафе|производств\w*|деятельност\w*|контрагент\w*|клиент\w*|работодател\w*)\b",
    re.IGNORECASE,
)

# Business words inside the name of something else («управляющая компания» of a house).
_NOT_BUSINESS = re.compile(r"управляющ\w* компани\w*|страхов\w* компани\w*")


class OtherService(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    title: str = Field(min_length=3)  # «о …» in «Ваш вопрос — о паспорте»
    where: str = Field(min_length=20)
    source: Source
    patterns: list[str] = Field(min_length=1)
    # How people ask about it: matched by meaning (e5) when no pattern fits.
    examples: list[str] = Field(default_factory=list)

    @field_validator("patterns")
    @classmethod
    def _compiles(cls, value: list[str]) -> list[str]:
        for pattern in value:
            re.compile(pattern)
        return value


@dataclass(frozen=True)
class OtherServices:
    services: tuple[OtherService, ...]

    def __post_init__(self) -> None:
        compiled = [(s, re.compile("|".join(f"(?:{p})" for p in s.patterns))) for s in self.services]
        object.__setattr__(self, "_compiled", compiled)

    def __getitem__(self, service_id: str) -> OtherService:
        return next(s for s in self.services if s.id == service_id)

    def match(self, text: str) -> OtherService | None:
        """The other public service this message is about, if any (business reading or not)."""
        low = text.lower().replace("ё", "е")
        for service, pattern in self._compiled:  # type: ignore[attr-defined]
            if pattern.search(low):
                return service
        return None

    @staticmethod
    def has_business_reading(text: str) -> bool:
        low = _NOT_BUSINESS.sub(" ", text.lower().replace("ё", "е"))
        return bool(BUSINESS_CUES.search(low))


def load_other_services(path: Path = OTHER_SERVICES_FILE) -> OtherServices:
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    services = tuple(OtherService.model_validate(item) for item in raw.get("services", []))
    ids = [s.id for s in services]
    if len(ids) != len(set(ids)):
        raise ValueError(f"{path.name}: service ids repeat")
    return OtherServices(services)
