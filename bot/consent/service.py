"""What the consent module provides to the others (`runtime.consent`): the
ledger, the handlers of the consent effects, and the event «personal-data
consents withdrawn» (bot/consent/withdrawal.py) that modules deleting data
subscribe to at install."""

from __future__ import annotations

import time

from bot.flows.base import EffectContext

from .flows import ConsentFlow
from .gate import RecordConsent
from .ledger import Ledger
from .model import Record
from .withdrawal import DataDeleted, Forget, ForgetPersonalData


class ConsentService:
    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self._forget: list[Forget] = []
        self.flow: ConsentFlow | None = None  # set at install: the console asks for consents with its words

    def on_personal_data_withdrawn(self, forget: Forget) -> None:
        """Call `forget` whenever a client withdraws personal-data consents (after the
        ledger says so), inside the client's turn; it reports what it deleted."""
        self._forget.append(forget)

    # ------------------------------------------------------------- effects
    async def record(self, effect: RecordConsent, ctx: EffectContext) -> None:
        """Append the step's records (who, when and the channel added here); raises (the
        turn fails, nothing is confirmed) if Redis does not accept the write."""
        now = time.time()
        await self.ledger.append(
            *(Record(client_id=ctx.client_id, channel=ctx.channel, ts=now, **dict(r)) for r in effect.records)
        )

    async def forget(self, effect: ForgetPersonalData, ctx: EffectContext) -> DataDeleted:
        report = DataDeleted(checked=False)
        for forget in self._forget:
            report = report.plus(await forget(effect.purposes, ctx))
        return report
