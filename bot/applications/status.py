"""Application statuses and the allowed changes — the one place they live.

submitted → in_review → need_info → in_review … → approved | rejected
"""

from __future__ import annotations

import time
from enum import Enum

from pydantic import BaseModel, Field


class ApplicationStatus(str, Enum):
    submitted = "submitted"
    in_review = "in_review"
    need_info = "need_info"
    approved = "approved"
    rejected = "rejected"


S = ApplicationStatus
TRANSITIONS: dict[ApplicationStatus, frozenset[ApplicationStatus]] = {
    S.submitted: frozenset({S.in_review, S.need_info, S.rejected}),
    S.in_review: frozenset({S.need_info, S.approved, S.rejected}),
    S.need_info: frozenset({S.in_review, S.rejected}),
    S.approved: frozenset(),
    S.rejected: frozenset(),
}
FINAL = frozenset(s for s, nxt in TRANSITIONS.items() if not nxt)


class TransitionError(ValueError):
    """A status change the table does not allow (message for staff, in English)."""


def check_transition(current: ApplicationStatus, new: ApplicationStatus) -> None:
    if new not in TRANSITIONS[current]:
        allowed = ", ".join(sorted(s.value for s in TRANSITIONS[current])) or "none (final status)"
        raise TransitionError(f"cannot change status {current.value} → {new.value}; allowed: {allowed}")


class StatusChange(BaseModel):
    status: ApplicationStatus
    ts: float = Field(default_factory=time.time)
    comment: str = ""
    by: str = ""  # staff login or "client"


class Application(BaseModel):
    number: str  # МБ-2026-000123
    form: str
    title: str
    client_id: str
    conversation_id: str
    channel: str
    answers: dict[str, str]
    status: ApplicationStatus = ApplicationStatus.submitted
    comment: str = ""  # the last staff comment shown to the client
    review_days: int = 10
    created: float = Field(default_factory=time.time)
    updated: float = Field(default_factory=time.time)
    history: list[StatusChange] = Field(default_factory=list)
    # The client had their data erased (bot/privacy): phone and e-mail removed, client_id is a pseudonym.
    erased_at: float | None = None
