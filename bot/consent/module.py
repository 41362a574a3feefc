"""Plugs the consent module into the assistant (listed in bot/modules.py).

install: `runtime.consent` (the ledger, the consent effects' handlers and the
  event «personal-data consents withdrawn» that bot/privacy subscribes to);
  the consent flow; an interceptor that remembers each client's conversation
  per channel (where notifications go) and runs consent buttons aside of
  another flow — «Отписаться» must work in any state, even while another flow
  or an operator has the conversation.
routes: the campaign screens in the operator console (console.py), when
  the handoff module is installed.
background: the notification sender.
"""

from __future__ import annotations

from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from bot.core.messages import Incoming
from bot.modules import Module, installed
from knowledge_base.services import load_catalogue

from .flows import NAME, ConsentFlow
from .gate import RecordConsent
from .ledger import Ledger
from .notifications import Sender, remember_address
from .service import ConsentService
from .withdrawal import ForgetPersonalData

if TYPE_CHECKING:
    from bot.core.engine import Engine, Turn
    from bot.runtime import Runtime

BUTTON_PREFIX = f"flow:{NAME}:"


def install(runtime: Runtime) -> None:
    settings, engine = runtime.settings, runtime.engine
    service = ConsentService(Ledger(runtime.redis))
    runtime.consent = service
    catalogue = load_catalogue(settings.services_file)
    flow = ConsentFlow(
        org=settings.org_name,
        tz=ZoneInfo(settings.notify_timezone),
        default_quiet=settings.notify_quiet_hours,
        services={s.id: s.title for s in catalogue.services},  # consent per individual service (§4.5.4.1)
    )
    service.flow = flow

    async def intercept(engine_: Engine, turn: Turn, msg: Incoming) -> bool:
        await remember_address(runtime.redis, msg.client_id, msg.channel, msg.conversation_id)
        if not (msg.payload and msg.payload.startswith(BUTTON_PREFIX)) or turn.state.flow == NAME:
            return False
        # A consent button outside the consent flow (a notification's «Отписаться», a status
        # reply's «Отозвать»): the flow the client is in waits, and comes back afterwards.
        step = flow.press(msg.payload.removeprefix(BUTTON_PREFIX), engine_.flow_context(turn))
        await engine_.run_aside(turn, flow, step)
        return True

    engine.handle_effects({RecordConsent: service.record, ForgetPersonalData: service.forget})
    engine.register_flow(flow)
    engine.interceptors.insert(0, intercept)


def routes(app: Any, runtime: Runtime) -> None:
    if installed(runtime, "handoff"):  # the campaign screens live in the operator console
        from .console import install as console_pages

        console_pages(app)


def background(runtime: Runtime) -> list[Coroutine[Any, Any, None]]:
    return [Sender.for_runtime(runtime).run()]


MODULE = Module(
    "consent", provides=("consent",), uses=("handoff",), install=install, routes=routes, background=background
)
