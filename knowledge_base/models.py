"""The schema of a knowledge-base entry, checked when the files are loaded."""

from __future__ import annotations

from enum import Enum

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, field_validator


class Segment(str, Enum):
    """Client segments (R-5). `universal` is the profile of an unknown client."""

    future = "future"
    self_employed = "self_employed"
    ip = "ip"
    sme = "sme"
    universal = "universal"


SEGMENT_TITLES = {
    Segment.future: "Планирую открыть бизнес",
    Segment.self_employed: "Самозанятый",
    Segment.ip: "Индивидуальный предприниматель",
    Segment.sme: "Малое или среднее предприятие",
}

# What usually matters at each stage: offered right after the client
# says who they are.
SEGMENT_TOPICS = {
    Segment.future: ("register_ip", "self_employed", "register_ooo"),
    Segment.self_employed: ("cash_register", "support_measures", "tax_regimes"),
    Segment.ip: ("usn", "reporting_deadlines", "hire_employee"),
    Segment.sme: ("support_measures", "guarantee", "reporting_deadlines"),
}

LIFE_SITUATIONS = {
    "start_business": "открытие бизнеса",
    "support": "господдержка",
    "taxes": "налоги",
    "permits": "разрешения и лицензии",
    "hiring": "найм сотрудников",
    "inspections": "проверки",
    "property": "имущество и помещения",
    "closing": "закрытие бизнеса",
    "export": "экспорт",
    "digital": "цифровые сервисы",
    "service_quality": "качество обслуживания",
}


class Source(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=2)
    url: HttpUrl


class Entry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    life_situation: str
    title: str = Field(min_length=2, max_length=32)
    question: str = Field(min_length=5)
    answer: str = Field(min_length=20, max_length=1200)
    source: Source
    segments: dict[Segment, str] = Field(default_factory=dict)
    paraphrases: list[str] = Field(min_length=3)
    related: list[str] = Field(default_factory=list)

    @field_validator("life_situation")
    @classmethod
    def _known_situation(cls, value: str) -> str:
        if value not in LIFE_SITUATIONS:
            raise ValueError(f"unknown life situation {value!r}; use one of {sorted(LIFE_SITUATIONS)}")
        return value

    def answer_for(self, segment: str | None) -> str:
        try:
            return self.segments.get(Segment(segment), self.answer) if segment else self.answer
        except ValueError:
            return self.answer

    def search_texts(self) -> list[str]:
        """Texts that represent this entry in the semantic index."""
        return [self.question, self.title, *self.paraphrases]
