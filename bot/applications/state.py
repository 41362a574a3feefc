"""The types of the application flow: its state, the draft it saves, its
effects and the outcomes their handlers report back (bot/flows/base.py).

    SaveDraft  → (nothing to report: the draft is a copy of the state)
    Submit     → Submitted(number, …) | AlreadySubmitted(number, …)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from bot.consent.gate import ConsentGate
from bot.flows.base import Effect, FlowState, Outcome

Position = Literal["choose", "resume", "prefill", "ask", "confirm", "edit", "submitting"]
FORM_STEPS: frozenset[str] = frozenset({"ask", "prefill", "confirm", "edit"})  # a form in progress: saved


class Draft(BaseModel):
    """An unfinished form, kept per client and form so it can be resumed in any conversation."""

    model_config = ConfigDict(frozen=True, extra="ignore")  # stored with the time it was saved

    answers: dict[str, str] = Field(default_factory=dict)
    skipped: tuple[str, ...] = ()
    asked: tuple[str, ...] = ()  # answered or skipped, in order: what «назад» goes back to
    prefill_done: bool = False

    def progress(self) -> int:
        return len(self.answers) + len(self.skipped)


class ApplicationState(FlowState):
    step: Position
    run: int = 0  # when this run of the flow started (ms): one submission per run
    drafts: dict[str, Draft] = Field(default_factory=dict)  # while choosing or resuming: the client's drafts by form id
    form: str = ""
    answers: dict[str, str] = Field(default_factory=dict)
    skipped: tuple[str, ...] = ()
    asked: tuple[str, ...] = ()
    prefill_done: bool = False  # the profile's values were offered (or there were none)
    prefill: dict[str, str] = Field(default_factory=dict)  # at step prefill: the values offered
    current: str = ""  # at step ask: the field asked
    editing: bool = False  # the field is asked again from the summary
    consented: bool = False  # personal-data consent given in this run (the profile learns it next turn)
    gate: ConsentGate | None = None  # the consent question stands

    def draft(self) -> Draft:
        return Draft(answers=self.answers, skipped=self.skipped, asked=self.asked, prefill_done=self.prefill_done)

    def done(self) -> set[str]:
        """The fields answered or skipped."""
        return set(self.answers) | set(self.skipped)


@dataclass(frozen=True)
class SaveDraft(Effect):
    form: str
    draft: Draft


@dataclass(frozen=True)
class Submit(Effect):
    form: str
    answers: Mapping[str, str]
    key: str  # submit-once key: a repeated press submits nothing new


@dataclass(frozen=True)
class Submitted(Outcome):
    """The application is stored; the texts are formatted by the handler (time zone, status)."""

    number: str
    title: str
    date: str
    status: str

    @property
    def completes_service(self) -> bool:
        return True

    next: str


@dataclass(frozen=True)
class AlreadySubmitted(Submitted):
    """This run's application was stored by an earlier press (its turn did not finish)."""
