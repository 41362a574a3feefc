"""The I/O behind the application flow's effects: drafts and submission.

Handlers report what happened (bot/flows/base.py); the flow says it. The
dates and status texts are formatted here, where the time zone is known.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import tzinfo

from bot.flows.base import Effect, EffectContext, EffectHandler

from .forms import Forms
from .service import local_date, next_step, status_title
from .state import AlreadySubmitted, SaveDraft, Submit, Submitted
from .store import ApplicationStore


def effect_handlers(store: ApplicationStore, forms: Forms, tz: tzinfo) -> Mapping[type[Effect], EffectHandler]:
    async def save_draft(effect: SaveDraft, ctx: EffectContext) -> None:
        """Nothing to report: the draft is a copy of the state the flow already has."""
        await store.save_draft(ctx.client_id, effect.form, effect.draft)

    async def submit(effect: Submit, ctx: EffectContext) -> Submitted:
        form = forms.get(effect.form)
        if form is None:
            raise KeyError(f"no form {effect.form!r}")  # the flow submits only forms it has
        answers = {k: v for k, v in effect.answers.items() if form.field(k)}
        app, new = await store.create(
            form=form.id,
            title=form.title,
            client_id=ctx.client_id,
            conversation_id=ctx.conversation_id,
            channel=ctx.channel,
            answers=answers,
            review_days=form.review_days,
            submit_key=effect.key,
        )
        told = Submitted if new else AlreadySubmitted
        return told(
            number=app.number,
            title=app.title,
            date=local_date(app.created, tz),
            status=status_title(app),
            next=next_step(app),
        )

    return {SaveDraft: save_draft, Submit: submit}
