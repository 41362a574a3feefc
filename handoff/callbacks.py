"""Callbacks (R-17): a client leaves a phone number and an operator calls
back in a free slot of working hours. Booking is reusable by any channel
(the voice line books with the caller's number): see `CallbackBook.book`.

Personal data: the phone number is stored only after consent (R-7). The
consent ledger (bot/consent) is the one source: the text shown is the
versioned `pd_callback` document, the answer is a ledger record, and
`has_consent` reads the ledger's state cached in the client profile. Phones
never go to logs.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta

from redis.asyncio import Redis

from bot.consent.documents import Shown, documents, show
from bot.consent.gate import has_personal_data_consent
from bot.consent.ledger import record_personal_data_consent as _ledger_record
from bot.consent.model import ConsentState
from handoff import keys as handoff_keys

from .schedule import Schedule

CALLBACK_PURPOSE = "callback"
CONSENT_ASK = (
    "Чтобы оператор вам перезвонил, мне нужен ваш номер телефона. Прошу подтвердить согласие:\n\n"
    "«{text}» (версия {version})\n\nСогласны?"
)


def consent_shown(org: str, purpose: str = CALLBACK_PURPOSE) -> Shown:
    """The consent text the client sees, exactly as the ledger will record it."""
    return show(documents().for_purpose(purpose), org)


def consent_question(shown: Shown) -> str:
    return CONSENT_ASK.format(text=shown.text, version=shown.version)


async def record_personal_data_consent(
    redis: Redis,
    client_id: str,
    *,
    shown: Shown | dict[str, str],
    channel: str,
    conversation_id: str = "",
    purpose: str = CALLBACK_PURPOSE,
    granted: bool = True,
    now: float | None = None,
) -> ConsentState:
    """Write the client's answer to the text `shown` (a `Shown` or its `ledger_fields()`) to the
    consent ledger; returns the new consent state. Raises if Redis did not take it — then
    nothing may be stored."""
    fields = shown.ledger_fields() if isinstance(shown, Shown) else shown
    return await _ledger_record(
        redis,
        client_id,
        purpose=purpose,
        text_version=fields["version"],
        channel=channel,
        conversation_id=conversation_id,
        granted=granted,
        text_id=fields["text_id"],
        sha256=fields["sha256"],
        title=fields["title"],
        now=now,
    )


def has_consent(profile: dict[str, str], purpose: str = CALLBACK_PURPOSE) -> bool:
    """An active ledger consent for `purpose` on the current text (from the profile's cached state)."""
    return has_personal_data_consent(profile, purpose)


@dataclass
class Callback:
    id: str
    client_id: str
    conversation_id: str
    channel: str
    phone: str
    slot: int  # unix seconds of the slot start
    status: str = "booked"  # booked | done | cancelled
    reason: str = ""
    created_at: float = 0.0
    done_by: str = ""

    @classmethod
    def from_hash(cls, h: dict[str, str]) -> Callback:
        return cls(
            id=h["id"],
            client_id=h.get("client_id", ""),
            conversation_id=h.get("conversation_id", ""),
            channel=h.get("channel", ""),
            phone=h.get("phone", ""),
            slot=int(h.get("slot") or 0),
            status=h.get("status", "booked"),
            reason=h.get("reason", ""),
            created_at=float(h.get("created_at") or 0),
            done_by=h.get("done_by", ""),
        )


class CallbackBook:
    def __init__(
        self, redis: Redis, schedule: Schedule, *, slot_minutes: int = 30, capacity: int = 2, lead_minutes: int = 30
    ):
        self.redis = redis
        self.schedule = schedule
        self.slot_minutes = slot_minutes
        self.capacity = capacity
        self.lead = timedelta(minutes=lead_minutes)

    async def free_slots(self, now: datetime, limit: int = 3) -> list[datetime]:
        free: list[datetime] = []
        candidates = self.schedule.slots(now, self.slot_minutes, self.lead)
        while len(free) < limit:
            batch = [s for _, s in zip(range(48), candidates)]
            if not batch:
                break
            counts = await self.redis.mget([handoff_keys.callback_slot(int(s.timestamp())) for s in batch])
            free += [s for s, n in zip(batch, counts) if int(n or 0) < self.capacity]
        return free[:limit]

    async def book(
        self,
        *,
        client_id: str,
        phone: str,
        channel: str,
        now: datetime,
        conversation_id: str = "",
        reason: str = "",
        slot: datetime | None = None,
    ) -> Callback | None:
        """Book `slot` (or the first free one). None when it (or every slot) is full."""
        wanted = [slot] if slot is not None else await self.free_slots(now, limit=20)
        for start in wanted:
            if slot is not None and start not in set(self.schedule.slots(now, self.slot_minutes, self.lead)):
                return None  # stale button: the slot is in the past or outside working hours
            epoch = int(start.timestamp())
            ttl = max(60, epoch - int(now.timestamp()) + 7 * 24 * 3600)
            if await self.redis.eval(
                handoff_keys.CALLBACK_BOOK_SLOT, 1, handoff_keys.callback_slot(epoch), self.capacity, ttl
            ):
                return await self._save(
                    Callback(
                        id=secrets.token_hex(6),
                        client_id=client_id,
                        conversation_id=conversation_id,
                        channel=channel,
                        phone=phone,
                        slot=epoch,
                        reason=reason,
                        created_at=time.time(),
                    )
                )
        return None

    async def _save(self, cb: Callback) -> Callback:
        pipe = self.redis.pipeline(transaction=True)
        pipe.hset(handoff_keys.callback(cb.id), mapping={k: str(v) for k, v in asdict(cb).items()})
        pipe.expire(handoff_keys.callback(cb.id), handoff_keys.CALLBACK_TTL_S)
        pipe.zadd(handoff_keys.callbacks(), {cb.id: cb.slot})
        await pipe.execute()
        return cb

    async def get(self, callback_id: str) -> Callback | None:
        h = await self.redis.hgetall(handoff_keys.callback(callback_id))
        return Callback.from_hash(h) if h else None

    async def upcoming(self, limit: int = 200, include_done: bool = False) -> list[Callback]:
        ids = await self.redis.zrange(handoff_keys.callbacks(), 0, limit - 1)
        items = [await self.get(i) for i in ids]
        return [c for c in items if c and (include_done or c.status == "booked")]

    async def mark_done(self, callback_id: str, operator: str) -> bool:
        cb = await self.get(callback_id)
        if cb is None or cb.status != "booked":
            return False
        await self.redis.hset(handoff_keys.callback(callback_id), mapping={"status": "done", "done_by": operator})
        return True


def slot_time(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)
