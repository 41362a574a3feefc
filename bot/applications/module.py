"""Plugs applications (R-9) and status tracking (R-10) into the assistant.

install: loads the forms (forms.yaml, checked at start), registers the flow
`app` with its effects (save draft, submit), the start handler (offers to
resume a draft; picks the form from the message or the last FAQ answered)
and the `application_status` handler.
"""

from __future__ import annotations

from bot.modules import Module

from zoneinfo import ZoneInfo

from bot.core.engine import Engine, Turn
from bot.core.messages import Button, ReplyKind, Understanding
from bot.flows.base import FlowEvent, reply
from bot.privacy.profile import remember
from knowledge_base.models import Segment

from . import texts
from .flow import CONTEXT_FORM, DRAFT, PURPOSE, SUBMIT, ApplicationFlow
from .forms import SEGMENT_FIELD, Forms, load_forms
from .service import local_date, next_step, status_line, status_title
from .store import ApplicationStore, normalize_number

START_PAYLOAD = "do:start_application"


def install(runtime) -> None:
    settings = runtime.settings
    forms = load_forms(settings.applications_forms_file)
    store = ApplicationStore(runtime.redis, prefix=settings.applications_number_prefix,
                             draft_ttl_s=int(settings.applications_draft_ttl_days * 24 * 3600))
    tz = ZoneInfo(settings.notify_timezone)
    runtime.applications = store
    runtime.application_forms = forms
    flow = ApplicationFlow(forms, tz=tz, org=settings.org_name)
    runtime.engine.register_flow(flow, _effects(store, forms, tz))
    runtime.engine.intent_handlers["start_application"] = _start(flow, store, forms)
    runtime.engine.intent_handlers["application_status"] = _status(store, forms, tz)


def _start(flow: ApplicationFlow, store: ApplicationStore, forms: Forms):
    async def start(engine: Engine, turn: Turn, u: Understanding | None) -> None:
        drafts = await store.drafts(turn.state.client_id, [f.id for f in forms])
        entities = dict(u.entities) if u else {}
        if form := forms.for_topic(await engine.last_answered_topic(turn)):
            entities[CONTEXT_FORM] = form.id
        event = FlowEvent(text=turn.text, intent=u.intent if u else None, score=u.confidence if u else 1.0,
                          entities=entities)
        step = flow.with_draft(flow.start(engine.flow_context(turn), event, drafts=drafts))
        await engine.run_step(turn, flow, step)

    return start


def _status(store: ApplicationStore, forms: Forms, tz):
    async def status(engine: Engine, turn: Turn, u: Understanding | None) -> None:
        turn.decision = "application_status"
        apps = await store.for_client(turn.state.client_id)
        wanted = normalize_number(turn.text or "")
        if wanted and any(a.number == wanted for a in apps):
            apps = [a for a in apps if a.number == wanted]
        drafts = await store.drafts(turn.state.client_id, [f.id for f in forms])
        parts, buttons = [], []
        if apps:
            parts.append(texts.STATUS_HEAD + "\n" + "\n".join(status_line(a, tz) for a in apps[:5]))
        if drafts:
            titles = "», «".join(forms.get(f).title for f in drafts if forms.get(f))
            parts.append(texts.STATUS_DRAFTS.format(titles=titles))
            buttons.append(Button(title=texts.CONTINUE_BUTTON, payload=START_PAYLOAD))
        if not apps and not drafts:
            parts.append(texts.STATUS_NONE)
            buttons.append(Button(title=texts.START_BUTTON, payload=START_PAYLOAD))
        turn.say(ReplyKind.info, "\n\n".join(parts), buttons)

    return status


def _effects(store: ApplicationStore, forms: Forms, tz) -> dict:
    async def save_draft(engine: Engine, turn: Turn, data: dict) -> None:
        await store.save_draft(turn.state.client_id, data["form"], data["draft"])

    async def submit(engine: Engine, turn: Turn, data: dict) -> None:
        form = forms.get(data["form"])
        answers = {k: v for k, v in data["answers"].items() if form.field(k)}
        app = await store.create(form=form.id, title=form.title, client_id=turn.state.client_id,
                                 conversation_id=turn.state.conversation_id, channel=turn.state.channel,
                                 answers=answers, review_days=form.review_days, submit_key=data["key"])
        turn.replies.append(reply(texts.SUBMITTED.format(
            number=app.number, title=app.title, date=local_date(app.created, tz),
            status=status_title(app), next=next_step(app)), kind=ReplyKind.info))
        # Remember what the client told us, so the next form asks only what is missing; personal
        # values with the consent they were given under (withdrawing it deletes them, bot/privacy).
        personal = {}
        for f in form.fields:
            value = answers.get(f.name)
            if not (f.profile and value):
                continue
            if f.profile == SEGMENT_FIELD and value not in Segment.__members__:
                continue
            if f.personal:
                personal[f.profile] = value
            else:
                turn.profile[f.profile] = turn.profile_updates[f.profile] = value
        remember(turn, PURPOSE, personal)

    return {DRAFT: save_draft, SUBMIT: submit}


MODULE = Module("applications", provides=("applications", "application_forms"), requires=("consent",),
                install=install)
