"""The consent ledger's vocabulary and the pure replay that derives the state.

A ledger record says who (client), what (kind + scope), which consent text
(id, version, sha256), granted / withdrawn / declined / set, when and through
which channel. The current state is never stored as the truth: it is the
fold of the client's records in order (`replay`). A cached copy lives in the
client profile for pure flow steps; tests check both agree.

Scope keys are `<kind>:<scope>`:
  personal_data:<purpose>     processing of personal data for one purpose (152-ФЗ)
  personal_data:*             with action `erase` only: everything was erased (bot/privacy)
  situation:<life situation>  proactive service per life situation; `situation:*` = all
  service:<service id>        proactive service per individual service
  notify:<category>           notification preference (frequency) of a category
  notify:quiet                quiet hours ("22:00-09:00" or "off")
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from enum import Enum
from typing import Any

from pydantic import BaseModel, Field


class Kind(str, Enum):
    personal_data = "personal_data"
    situation = "situation"
    service = "service"
    notify = "notify"


class Action(str, Enum):
    grant = "grant"
    withdraw = "withdraw"
    decline = "decline"  # asked, said no: kept for the audit, changes nothing
    set = "set"  # a notification preference
    erase = "erase"  # the personal data of a purpose (scope) or of everything (`*`) was destroyed


class Category(str, Enum):
    """Notification categories of the standard (002 §4.6.4.5)."""

    content = "content"  # news, new support measures
    transactional = "transactional"  # status changed, payment confirmed
    trigger = "trigger"  # reminders and deadlines tied to the client's situation


class Frequency(str, Enum):
    immediate = "immediate"
    daily = "daily"
    weekly = "weekly"
    off = "off"


DEFAULT_FREQUENCY = dict.fromkeys(Category, Frequency.immediate)
QUIET_SCOPE = "quiet"
ALL = "*"
MAX_SCOPE = 32  # keeps `flow:consent:r:<kind>:<scope>` under Telegram's 64 bytes


class Record(BaseModel):
    """One ledger entry (a Redis stream entry: flat string fields)."""

    client_id: str
    kind: Kind
    scope: str = Field(min_length=1, max_length=MAX_SCOPE)
    action: Action
    ts: float
    channel: str
    text_id: str = ""
    version: str = ""
    sha256: str = ""
    title: str = ""  # what was agreed, in plain words (for history and notifications)
    settings: dict[str, Any] = Field(default_factory=dict)  # frequency / quiet hours
    actor: str = "client"  # client | operator | system
    reason: str = ""  # e.g. "unsubscribe" (the «Отписаться» button), a campaign id
    id: str = ""  # stream id, filled when read back

    @property
    def key(self) -> str:
        return f"{self.kind.value}:{self.scope}"

    def to_fields(self) -> dict[str, str]:
        data = self.model_dump(mode="json", exclude={"id"})
        data["settings"] = json.dumps(self.settings, ensure_ascii=False, sort_keys=True)
        data["ts"] = f"{self.ts:.3f}"
        return {k: str(v) for k, v in data.items()}

    @classmethod
    def from_fields(cls, entry_id: str, fields: dict[str, str]) -> Record:
        data: dict[str, Any] = dict(fields)
        data["settings"] = json.loads(data.get("settings") or "{}")
        return cls.model_validate({**data, "id": entry_id})


class Grant(BaseModel):
    """An active consent: what, since when, on which text."""

    kind: Kind
    scope: str
    granted_at: float
    channel: str
    text_id: str = ""
    version: str = ""
    sha256: str = ""
    title: str = ""

    @property
    def key(self) -> str:
        return f"{self.kind.value}:{self.scope}"


class ConsentState(BaseModel):
    grants: dict[str, Grant] = Field(default_factory=dict)  # active consents by scope key
    withdrawn: dict[str, float] = Field(default_factory=dict)  # scope key → last withdrawal
    frequency: dict[Category, Frequency] = Field(default_factory=dict)  # set by the client
    quiet: str | None = None  # "HH:MM-HH:MM", "off", or None = the organisation's default

    def frequency_of(self, category: Category) -> Frequency:
        return self.frequency.get(category, DEFAULT_FREQUENCY[category])

    def active(self, kind: Kind | None = None) -> list[Grant]:
        grants = [g for g in self.grants.values() if kind is None or g.kind == kind]
        return sorted(grants, key=lambda g: g.granted_at)

    def has(self, key: str) -> bool:
        return key in self.grants

    def situation_basis(self, situation: str | None) -> Grant | None:
        """The consent that allows proactive contact on a life situation (or on anything)."""
        if situation and f"situation:{situation}" in self.grants:
            return self.grants[f"situation:{situation}"]
        return self.grants.get(f"situation:{ALL}")


def apply(state: ConsentState, rec: Record) -> ConsentState:
    """One record onto the state (pure; returns a new state)."""
    new = state.model_copy(deep=True)
    if rec.action is Action.grant:
        new.grants[rec.key] = Grant(
            kind=rec.kind,
            scope=rec.scope,
            granted_at=rec.ts,
            channel=rec.channel,
            text_id=rec.text_id,
            version=rec.version,
            sha256=rec.sha256,
            title=rec.title,
        )
    elif rec.action is Action.withdraw:
        new.grants.pop(rec.key, None)
        new.withdrawn[rec.key] = rec.ts
    elif rec.action is Action.erase:  # nothing collected under these consents is left: none is active
        keys = list(new.grants) if rec.scope == ALL else [rec.key]
        for key in keys:
            if new.grants.pop(key, None) is not None:
                new.withdrawn[key] = rec.ts
    elif rec.action is Action.set and rec.kind is Kind.notify:
        if rec.scope == QUIET_SCOPE:
            new.quiet = rec.settings.get("quiet") or "off"
        else:
            new.frequency[Category(rec.scope)] = Frequency(rec.settings["frequency"])
    return new


def replay(records: Iterable[Record]) -> ConsentState:
    state = ConsentState()
    for rec in records:
        state = apply(state, rec)
    return state


# The cached state in the client profile (hash field), read by pure flow steps.
PROFILE_FIELD = "consent"
PROFILE_VERSION_FIELD = "consent_version"  # the ledger entry the cached state is up to


def state_from_profile(profile: dict[str, str]) -> ConsentState:
    raw = profile.get(PROFILE_FIELD)
    return ConsentState.model_validate_json(raw) if raw else ConsentState()
