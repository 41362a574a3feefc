"""The catalogue of the centre's services and support measures (R-6), as data.

`services.yaml` says, per service, who may get it (segments), in which life
situations it matters, the conditions in a few words, how to apply and which
button leads on. It is validated when loaded (errors name the service and the
field; a button must lead to a known topic or intent). `best_for` picks the
services that fit a client's profile best: the ones their segment may get
first, then the ones for their life situation, in the catalogue's order.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .models import LIFE_SITUATIONS, Segment

SERVICES_FILE = Path(__file__).with_name("services.yaml")


class ServiceError(ValueError):
    pass


class Service(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    title: str = Field(min_length=2, max_length=40)
    summary: str = Field(min_length=10)
    segments: tuple[Segment, ...] = ()  # empty: everyone
    life_situations: tuple[str, ...] = Field(min_length=1)
    eligibility: str = Field(min_length=5)
    how_to_apply: str = Field(min_length=5)
    action: str = Field(pattern=r"^(faq|do):[a-z0-9_]+$")

    @field_validator("segments")
    @classmethod
    def _no_universal(cls, value: tuple[Segment, ...]) -> tuple[Segment, ...]:
        if Segment.universal in value:
            raise ValueError("'universal' is the profile of an unknown client; leave segments empty for everyone")
        return value

    @field_validator("life_situations")
    @classmethod
    def _known_situations(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [v for v in value if v not in LIFE_SITUATIONS]
        if unknown:
            raise ValueError(f"unknown life situation(s) {unknown}; use {sorted(LIFE_SITUATIONS)}")
        return value

    def open_to(self, segment: str | None) -> bool:
        """May a client of this segment get it? An unknown segment may get anything (we do not know)."""
        return not self.segments or not segment or segment == Segment.universal.value or segment in self.segments


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid")
    services: list[Service] = Field(min_length=1)


@dataclass(frozen=True)
class Catalogue:
    services: tuple[Service, ...]

    def __len__(self) -> int:
        return len(self.services)

    def best_for(self, segment: str | None, situation: str | None, limit: int = 3) -> list[Service]:
        """The services this client may get, the ones for their segment and situation first."""

        def rank(item: tuple[int, Service]) -> tuple[int, int, int]:
            n, service = item
            own_segment = bool(segment) and segment in service.segments
            return (-int(own_segment), -int(situation in service.life_situations), n)

        open_ = [(n, s) for n, s in enumerate(self.services) if s.open_to(segment)]
        return [s for _, s in sorted(open_, key=rank)[:limit]]


def load_catalogue(
    path: Path = SERVICES_FILE, topics: Collection[str] = (), intents: Collection[str] = ()
) -> Catalogue:
    """Read and check the catalogue. With `topics` / `intents` given, every button must
    lead to one of them (a typo stops the start-up instead of a dead button)."""
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ServiceError(f"{path}: cannot read the service catalogue: {exc}") from exc
    try:
        data = _File.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = list(err["loc"])
            if len(loc) >= 2 and loc[0] == "services" and isinstance(loc[1], int) and isinstance(raw, dict):
                sid = (raw.get("services") or [{}])[loc[1]].get("id", f"#{loc[1] + 1}")
                loc = [f"service {sid}", *loc[2:]]
            problems.append(f"{'.'.join(str(p) for p in loc)}: {err['msg']}")
        raise ServiceError(f"{Path(path).name}: " + "; ".join(problems)) from exc
    seen: set[str] = set()
    for service in data.services:
        if service.id in seen:
            raise ServiceError(f"{Path(path).name}: service {service.id}: the id is used twice")
        seen.add(service.id)
        kind, _, target = service.action.partition(":")
        known = topics if kind == "faq" else intents
        if known and target not in known:
            raise ServiceError(f"{Path(path).name}: service {service.id}: action leads to unknown {kind} {target!r}")
    return Catalogue(tuple(data.services))
