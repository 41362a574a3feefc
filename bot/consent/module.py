"""Plugs the consent module into the assistant (listed in bot/modules.py).

install: the consent flow and its ledger effect; an interceptor that
  remembers each client's conversation per channel (where notifications go)
  and routes consent buttons — «Отписаться» must work in any state, even
  while another flow or an operator has the conversation.
background: the notification sender.
"""

from __future__ import annotations

from bot.modules import Module

import time
from zoneinfo import ZoneInfo

from bot.core.messages import Incoming
from bot.flows.base import EffectContext

from . import flows
from .flows import NAME, RECORD, ConsentFlow
from .gate import RecordConsent
from .ledger import Ledger
from .model import PROFILE_FIELD, Record
from .notifications import Sender, remember_address

BUTTON_PREFIX = f"flow:{NAME}:"


def install(runtime) -> None:
    settings, engine = runtime.settings, runtime.engine
    ledger = Ledger(runtime.redis)
    runtime.consent = ledger
    flow = ConsentFlow(org=settings.org_name, tz=ZoneInfo(settings.notify_timezone),
                       default_quiet=settings.notify_quiet_hours)
    flows._ORG["name"] = settings.org_name

    async def record(_engine, turn, data) -> None:
        """Write the step's records; raises (the turn fails, nothing is confirmed) if Redis refuses."""
        now = time.time()
        records = [Record(client_id=turn.state.client_id, channel=turn.state.channel, ts=now, **r)
                   for r in data["records"]]
        state = await ledger.append(*records)
        turn.profile[PROFILE_FIELD] = state.model_dump_json()

    async def intercept(engine_, turn, msg: Incoming) -> bool:
        await remember_address(runtime.redis, msg.client_id, msg.channel, msg.conversation_id)
        if not (msg.payload and msg.payload.startswith(BUTTON_PREFIX)) or turn.state.flow == NAME:
            return False
        # A consent button outside the consent flow (a notification's «Отписаться», a status
        # reply's «Отозвать»): run it without disturbing another flow's state.
        step = flow.press(msg.payload[len(BUTTON_PREFIX):], engine_.flow_context(turn))
        turn.decision = f"flow:{NAME}"
        turn.replies.extend(step.replies)
        if step.state is not None and turn.state.flow is None:
            turn.state.flow, turn.state.flow_state = NAME, step.state
        for effect in step.effects:
            await engine_.legacy_effect_handlers[effect.kind](engine_, turn, effect.data)
        return True

    async def record_typed(effect: RecordConsent, ctx: EffectContext) -> None:
        """The consent step typed flows embed (bot/consent/gate.py); raises if Redis refuses."""
        now = time.time()
        await ledger.append(*(Record(client_id=ctx.client_id, channel=ctx.channel, ts=now, **dict(r))
                              for r in effect.records))

    engine.handle_effects({RecordConsent: record_typed})
    engine.register_flow(flow, {RECORD: record})
    engine.interceptors.insert(0, intercept)


def background(runtime) -> list:
    return [Sender.for_runtime(runtime).run()]


MODULE = Module("consent", provides=("consent",), install=install, background=background)
