"""Plugs deletion of personal data into the assistant (listed in bot/modules.py;
it requires the consent module).

install: `runtime.privacy` (the Eraser); the erasure flow and its effect;
  the `revoke_consent` handler: with the entity `erase` («удалите мои данные»,
  «забудьте меня») it asks to confirm an erasure, otherwise it is the consent
  module's withdrawal menu; a subscription to the consent module's event
  «personal-data consents withdrawn»: what was collected under them goes.
Every channel gets this: it lives in the channel-independent core.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from bot.consent.flows import ERASE_ENTITY
from bot.consent.flows import NAME as CONSENT_FLOW
from bot.consent.withdrawal import DataDeleted
from bot.core.messages import Reply, Understanding
from bot.flows.base import EffectContext, FlowEvent
from bot.modules import Module

from .erasure import Eraser, flows_holding
from .flow import EraseClientData, ErasureFlow

if TYPE_CHECKING:
    from bot.core.engine import Engine, Turn
    from bot.runtime import Runtime


def install(runtime: Runtime) -> None:
    engine, consent = runtime.engine, runtime.consent
    assert consent is not None, "the privacy module requires the consent module (installed first)"
    eraser = Eraser(runtime)
    runtime.privacy = eraser
    flow = ErasureFlow()

    async def erase(effect: EraseClientData, ctx: EffectContext) -> None:
        """Confirmed: erase once the turn is saved (the turn writes the profile, history and
        analytics too), then say what was deleted and what is kept."""

        async def job() -> Sequence[Reply]:
            report = await eraser.erase(ctx.client_id, actor="client", channel=ctx.channel, current=ctx.conversation_id)
            return flow.erased(report.deleted, report.kept)

        ctx.defer(job)

    async def forget(purposes: tuple[str, ...], ctx: EffectContext) -> DataDeleted:
        report = await eraser.purge(ctx.client_id, purposes, current=ctx.conversation_id, channel=ctx.channel)
        return DataDeleted(
            deleted=tuple(report.deleted),
            kept=tuple(report.kept),
            profile=report.profile,
            flows=flows_holding(purposes),
        )

    async def revoke(engine_: Engine, turn: Turn, u: Understanding | None) -> None:
        event = FlowEvent(
            text=turn.text,
            intent=u.intent if u else None,
            score=u.confidence if u else 1.0,
            entities=u.entities if u else {},
        )
        if u is not None and u.entities.get(ERASE_ENTITY):
            inventory = await eraser.inventory(turn.state.client_id)
            await engine_.run_step(turn, flow, flow.start(engine_.flow_context(turn), event, inventory))
        else:
            await engine_.start_flow(turn, CONSENT_FLOW, event)

    engine.register_flow(flow, {EraseClientData: erase})
    consent.on_personal_data_withdrawn(forget)
    engine.intent_handlers["revoke_consent"] = revoke


MODULE = Module(
    "privacy",
    provides=("privacy",),
    requires=("consent",),
    uses=("handoff", "booking", "applications", "payments"),
    install=install,
)
