"""Plugs applications (R-9) and status tracking (R-10) into the assistant.

install: loads the forms (forms.yaml, checked at start), registers the flow
`app` with its effects (save draft, submit), the start handler (offers to
resume a draft; picks the form from the message or the last FAQ answered)
and the `application_status` handler.
"""

from __future__ import annotations

from datetime import tzinfo
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot.core.engine import Engine, IntentHandler, Turn
from bot.core.messages import Button, ReplyKind, Understanding
from bot.flows.base import FlowEvent
from bot.modules import Module

from . import texts
from .effects import effect_handlers
from .flow import CONTEXT_FORM, ApplicationFlow
from .forms import Forms, load_forms
from .service import status_line
from .store import ApplicationStore, normalize_number

if TYPE_CHECKING:
    from bot.runtime import Runtime

START_PAYLOAD = "do:start_application"


def install(runtime: Runtime) -> None:
    settings = runtime.settings
    forms = load_forms(settings.applications_forms_file)
    store = ApplicationStore(
        runtime.redis,
        prefix=settings.applications_number_prefix,
        draft_ttl_s=int(settings.applications_draft_ttl_days * 24 * 3600),
    )
    tz = ZoneInfo(settings.notify_timezone)
    runtime.applications = store
    runtime.application_forms = forms
    flow = ApplicationFlow(forms, org=settings.org_name, tz=tz)
    runtime.engine.register_flow(flow, effect_handlers(store, forms, tz))
    runtime.engine.intent_handlers["start_application"] = _start(flow, store, forms)
    runtime.engine.intent_handlers["application_status"] = _status(store, forms, tz)


def _start(flow: ApplicationFlow, store: ApplicationStore, forms: Forms) -> IntentHandler:
    """Start with the client's drafts (offered to resume) and the form the last FAQ answer points to."""

    async def start(engine: Engine, turn: Turn, u: Understanding | None) -> None:
        drafts = await store.drafts(turn.state.client_id, [f.id for f in forms])
        entities = dict(u.entities) if u else {}
        if form := forms.for_topic(await engine.last_answered_topic(turn)):
            entities[CONTEXT_FORM] = form.id
        event = FlowEvent(
            text=turn.text, intent=u.intent if u else None, score=u.confidence if u else 1.0, entities=entities
        )
        await engine.run_step(turn, flow, flow.start(engine.flow_context(turn), event, drafts=drafts))

    return start


def _status(store: ApplicationStore, forms: Forms, tz: tzinfo) -> IntentHandler:
    async def status(engine: Engine, turn: Turn, u: Understanding | None) -> None:
        turn.decision = "application_status"
        apps = await store.for_client(turn.state.client_id)
        wanted = normalize_number(turn.text or "")
        if wanted and any(a.number == wanted for a in apps):
            apps = [a for a in apps if a.number == wanted]
        drafts = await store.drafts(turn.state.client_id, [f.id for f in forms])
        parts: list[str] = []
        buttons: list[Button] = []
        if apps:
            parts.append(texts.STATUS_HEAD + "\n" + "\n".join(status_line(a, tz) for a in apps[:5]))
        if drafts:
            titles = "», «".join(form.title for f in drafts if (form := forms.get(f)))
            parts.append(texts.STATUS_DRAFTS.format(titles=titles))
            buttons.append(Button(title=texts.CONTINUE_BUTTON, payload=START_PAYLOAD))
        if not apps and not drafts:
            parts.append(texts.STATUS_NONE)
            buttons.append(Button(title=texts.START_BUTTON, payload=START_PAYLOAD))
        turn.say(ReplyKind.info, "\n\n".join(parts), buttons)

    return status


MODULE = Module("applications", provides=("applications", "application_forms"), requires=("consent",), install=install)
