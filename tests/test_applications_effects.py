"""The application flow's effect handlers against a real Redis (no Rasa): a
draft is kept for the client and form, a submission reports its number once
per run (a repeated one says it was already submitted), and takes the draft."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest_asyncio

from bot.applications.effects import effect_handlers
from bot.applications.forms import load_forms
from bot.applications.state import AlreadySubmitted, Draft, SaveDraft, Submit, Submitted
from bot.applications.store import ApplicationStore
from bot.flows.base import EffectContext
from bot.store import connect

_ids = itertools.count(1)


@pytest_asyncio.fixture
async def redis(redis_server):
    r = connect(redis_server.url)
    yield r
    await r.aclose()


def context(client_id: str) -> EffectContext:
    return EffectContext(
        conversation_id=f"conv-{client_id}",
        client_id=client_id,
        channel="api",
        profile={},
        now=datetime.now(UTC),
        defer=lambda job: None,
    )


async def test_a_draft_is_saved_then_a_submission_reports_its_number_once_and_takes_the_draft(redis, settings):
    forms = load_forms(settings.applications_forms_file)
    store = ApplicationStore(redis, prefix="ТСТ")
    handlers = effect_handlers(store, forms, ZoneInfo("Asia/Kamchatka"))
    ctx = context(f"effects-client-{next(_ids)}")
    draft = Draft(answers={"topic": "taxes"}, asked=("topic",), prefill_done=True)

    assert await handlers[SaveDraft](SaveDraft(form="consultation", draft=draft), ctx) is None
    assert await store.drafts(ctx.client_id, ["consultation", "microloan"]) == {"consultation": draft}

    submit = Submit(
        form="consultation", answers={"topic": "taxes", "unknown": "dropped"}, key=f"{ctx.conversation_id}:1"
    )
    first = await handlers[Submit](submit, ctx)
    assert type(first) is Submitted and first.number.startswith("ТСТ-") and first.title == "Заявка на консультацию"
    assert first.status == "принята, ждёт рассмотрения" and first.date.count(".") == 2
    assert (await store.get(first.number)).answers == {"topic": "taxes"}  # only the form's fields
    assert await store.drafts(ctx.client_id, ["consultation"]) == {}

    again = await handlers[Submit](submit, ctx)  # the same run pressed «Отправить» again
    assert isinstance(again, AlreadySubmitted) and again.number == first.number
    other_run = await handlers[Submit](
        Submit(form="consultation", answers={"topic": "taxes"}, key=f"{ctx.conversation_id}:2"), ctx
    )
    assert type(other_run) is Submitted and other_run.number != first.number
