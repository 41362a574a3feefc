"""What a form takes from the client's profile, and gives back to it (pure).

A form's field may name a profile field (`profile:` in forms.yaml): a valid
value the profile holds is offered once for confirmation instead of asking,
and a submitted answer is kept there for the next form. Personal values are
kept with the consent they were given under (bot/privacy/profile.py), so
withdrawing it deletes them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from bot.privacy.profile import remembered
from knowledge_base.models import Segment

from .forms import SEGMENT_FIELD, Form


def prefill(form: Form, done: set[str], profile: Mapping[str, str], today: date) -> dict[str, str]:
    """The values the profile already holds for the fields not yet answered or skipped."""
    found = {f.name: f.from_profile(profile, today) for f in form.fields if f.profile and f.name not in done}
    return {name: value for name, value in found.items() if value}


def kept(form: Form, answers: Mapping[str, str], profile: Mapping[str, str], purpose: str) -> dict[str, str]:
    """The profile fields to write after a submission (for `Step.profile`)."""
    plain: dict[str, str] = {}
    personal: dict[str, str] = {}
    for f in form.fields:
        value = answers.get(f.name)
        if not (f.profile and value):
            continue
        if f.profile == SEGMENT_FIELD and value not in Segment.__members__:
            continue  # an option that is no client segment is not kept as one
        (personal if f.personal else plain)[f.profile] = value
    return {**plain, **remembered(profile, purpose, personal)}
