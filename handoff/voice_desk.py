"""The real operator desk for the voice line (`voice.desk.OperatorDesk`).

Working hours and callbacks come from the handoff service, so a caller hears
the same hours and gets a slot in the same callback queue as a chat client.
The texts are the handoff module's written ones; the voice line adapts them
for the ear (voice/render.py `speakable`).
"""

from __future__ import annotations

from datetime import datetime

from bot.core import phones

from .service import HandoffService

HOURS = "Операторы работают: {hours}."
NO_SLOTS = (
    "К сожалению, свободного времени для обратного звонка в ближайшие две недели нет. "
    "Позвоните, пожалуйста, в рабочее время операторов: {hours}."
)


class HandoffDesk:
    def __init__(self, handoff: HandoffService):
        self.handoff = handoff

    def hours_text(self) -> str:
        return HOURS.format(hours=self.handoff.schedule.describe())

    def is_open(self, now: datetime | None = None) -> bool:
        return self.handoff.schedule.is_open(now or self.handoff.now())

    async def book_callback(self, phone: str, conversation_id: str, client_id: str = "") -> str:
        """The first free slot for `phone` (digits, as the voice line keeps them), stored as
        E.164 like every callback; NotAPhone (the caller hears an apology) if it is not a
        Russian number — the voice line asks for one before it books.

        The voice line calls this only after the caller agreed to the use of
        the number (R-7), recorded in the consent ledger."""
        number = phones.parse(phone)
        cb = await self.handoff.book_callback(
            client_id=client_id or f"phone:{phone}",
            phone=number,
            channel="voice",
            conversation_id=conversation_id,
            reason="voice",
        )
        if cb is None:
            return NO_SLOTS.format(hours=self.handoff.schedule.describe())
        return self.handoff.booked_text(cb, self.handoff.now())
