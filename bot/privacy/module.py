"""Plugs deletion of personal data into the assistant (listed in bot/modules.py
after the consent module).

install: `runtime.privacy` (the Eraser); the erasure flow and its effect;
  the `revoke_consent` handler: with the entity `erase` («удалите мои данные»,
  «забудьте меня») it asks to confirm an erasure, otherwise it is the consent
  module's withdrawal menu; the effect `privacy.purge` the consent flow
  returns with every withdrawal of a personal-data consent.
Every channel gets this: it lives in the channel-independent core.
"""

from __future__ import annotations

from bot.modules import Module

import logging

from bot.consent.flows import ERASE_ENTITY, PURGE
from bot.core.messages import ReplyKind, Understanding
from bot.flows.base import FlowEvent

from . import texts
from .erasure import Eraser
from .flow import ERASE, ErasureFlow

log = logging.getLogger("privacy")


def install(runtime) -> None:
    engine = runtime.engine
    eraser = Eraser(runtime)
    runtime.privacy = eraser
    flow = ErasureFlow()

    async def erase(engine_, turn, data) -> None:
        """Confirmed: erase once the turn is saved (the turn writes the profile, history and
        analytics too), then say what was deleted and what is kept."""
        client_id, cid, channel = turn.state.client_id, turn.state.conversation_id, turn.state.channel

        async def job() -> None:
            report = await eraser.erase(client_id, actor="client", channel=channel, current=cid)
            turn.say(ReplyKind.info, texts.erased(report.deleted, report.kept))

        turn.decision = "privacy:erase"
        turn.after.append(job)

    async def purge(engine_, turn, data) -> None:
        report = await eraser.purge(turn.state.client_id, data.get("purposes") or [], turn=turn,
                                    channel=turn.state.channel)
        turn.say(ReplyKind.info, texts.purged(report.deleted, report.kept))

    engine.register_flow(flow, {ERASE: erase, PURGE: purge})
    withdraw = engine.intent_handlers.get("revoke_consent")

    async def revoke(engine_, turn, u: Understanding | None) -> None:
        if u is not None and u.entities.get(ERASE_ENTITY):
            inventory = await eraser.inventory(turn.state.client_id)
            event = FlowEvent(text=turn.text, intent=u.intent, score=u.confidence, entities=u.entities)
            await engine_.run_step(turn, flow, flow.start(engine_.flow_context(turn), event, inventory))
        elif withdraw is not None:
            await withdraw(engine_, turn, u)
        else:
            log.warning("revoke_consent without the consent module")

    engine.intent_handlers["revoke_consent"] = revoke


MODULE = Module("privacy", provides=("privacy",), requires=("consent",),
                uses=("handoff", "booking", "applications", "payments"), install=install)
