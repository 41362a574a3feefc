"""What the voice line needs from the operator desk: working hours and callbacks.

The handoff module owns the real working hours and callback queue; the voice
module wires its desk (handoff/voice_desk.py) when handoff is installed, and
any object with these three methods can be set with
`voice.module.use_desk(runtime, desk)`. Without handoff `DefaultDesk` serves:
fixed weekday hours and a Redis stream of callback requests.

Texts may be written ones (digits, «пн–пт», parentheses): the voice line
adapts them for the ear before speaking.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from redis.asyncio import Redis

from bot.core import phones
from voice import keys as voice_keys


class OperatorDesk(Protocol):
    def hours_text(self) -> str:
        """One spoken sentence: when operators work."""
        ...

    def is_open(self, now: datetime | None = None) -> bool:
        """Are operators at work right now?"""
        ...

    async def book_callback(self, phone: str, conversation_id: str, client_id: str = "") -> str:
        """Queue a call back to `phone` in working hours; return the confirmation to say.

        Called only after the caller agreed to the use of the number (R-7)."""
        ...


WEEKDAYS = ("понедельника", "вторника", "среды", "четверга", "пятницы", "субботы", "воскресенья")


class DefaultDesk:
    def __init__(
        self,
        redis: Redis,
        open_hour: int = 9,
        close_hour: int = 18,
        workdays: int = 5,
        tz: str = "Europe/Moscow",
        tz_spoken: str = "по московскому времени",
    ):
        self.redis = redis
        self.open_hour, self.close_hour, self.workdays = open_hour, close_hour, workdays
        self.tz, self.tz_spoken = ZoneInfo(tz), tz_spoken

    def hours_text(self) -> str:
        return (
            f"Операторы работают с {WEEKDAYS[0]} по {WEEKDAYS[self.workdays - 1]}, "
            f"с {self.open_hour} до {self.close_hour} часов {self.tz_spoken}."
        )

    def is_open(self, now: datetime | None = None) -> bool:
        local = (now or datetime.now(UTC)).astimezone(self.tz)
        return local.weekday() < self.workdays and self.open_hour <= local.hour < self.close_hour

    async def book_callback(self, phone: str, conversation_id: str, client_id: str = "") -> str:
        number = phones.parse(phone)  # stored as E.164, like every callback
        await self.redis.xadd(
            voice_keys.voice_callbacks(),
            {"phone": number, "conversation_id": conversation_id, "client_id": client_id, "ts": str(time.time())},
            maxlen=voice_keys.VOICE_CALLBACKS_MAXLEN,
        )
        tail = phone[-4:]
        return (
            f"Записал: оператор перезвонит вам на номер, который заканчивается на {tail[:2]} {tail[2:]}, "
            "в рабочее время."
        )
