"""The consent ledger in Redis: append-only, replayed into the current state.

`append` writes the client's stream, the global audit stream and the client
index in one MULTI (optimistic WATCH on the client's stream; all three lie
in the `{consent}` slot), then caches the state in the client's profile,
which lies in another slot (Redis Cluster): the cache carries the id of the
last entry it replays and only a newer one replaces it, so concurrent
writers never leave a stale state. It returns only after Redis has
confirmed; any failure raises — the caller must tell the client nothing was
changed. A crash between the two writes leaves an older cache, which the
next append (or a replay, `state`) corrects; the ledger is the truth.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

from redis.asyncio import Redis
from redis.exceptions import WatchError

from bot.consent import keys as consent_keys
from bot.store import keys
from bot.store.durable import replicated

from .model import PROFILE_FIELD, PROFILE_VERSION_FIELD, Action, ConsentState, Kind, Record, apply, replay


class Ledger:
    def __init__(self, redis: Redis):
        self.redis = redis

    async def append(self, *records: Record, cache: bool = True) -> ConsentState:
        """`cache=False`: do not write the state into the client's profile (a pseudonymous
        ledger after an erasure has no profile, and must not get one)."""
        if not records:
            return await self.state("")
        # normalise through the stored form, so the cache equals a later replay exactly
        records = tuple(Record.from_fields("", r.to_fields()) for r in records)
        client_id = records[0].client_id
        if any(r.client_id != client_id for r in records):
            raise ValueError("one append is for one client")
        key = consent_keys.consent_ledger(client_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(key)
                    state = replay(_records(await pipe.xrange(key)))
                    for rec in records:
                        state = apply(state, rec)
                    pipe.multi()
                    for rec in records:
                        fields = rec.to_fields()
                        pipe.xadd(key, fields)
                        pipe.xadd(consent_keys.consent_audit(), fields)
                    pipe.sadd(consent_keys.consent_clients(), client_id)
                    written = await pipe.execute()
                    break
                except WatchError:
                    continue  # another write for this client landed first: replay again
        await replicated(self.redis)  # a consent or a withdrawal must outlive a failover
        if cache:
            version = written[2 * (len(records) - 1)]  # the id of the last entry in the client's stream
            await self.redis.eval(
                keys.SET_IF_NEWER,
                1,
                keys.client(client_id),
                PROFILE_FIELD,
                state.model_dump_json(),
                PROFILE_VERSION_FIELD,
                version,
            )
        return state

    async def records(self, client_id: str) -> list[Record]:
        return _records(await self.redis.xrange(consent_keys.consent_ledger(client_id)))

    async def state(self, client_id: str) -> ConsentState:
        """The authoritative current state: a replay of the client's ledger."""
        return replay(await self.records(client_id)) if client_id else ConsentState()

    async def cached(self, client_id: str) -> ConsentState:
        raw = await self.redis.hget(keys.client(client_id), PROFILE_FIELD)
        return ConsentState.model_validate_json(raw) if raw else ConsentState()

    async def clients(self) -> list[str]:
        return sorted([c async for c in self.redis.sscan_iter(consent_keys.consent_clients(), count=500)])

    async def audit(
        self, since: float | None = None, until: float | None = None, batch: int = 1000
    ) -> AsyncIterator[Record]:
        """Every record of every client in the order written, optionally within [since, until)
        of the record's own time (for the compliance export)."""
        start = "-"
        while True:
            entries = await self.redis.xrange(consent_keys.consent_audit(), min=start, max="+", count=batch)
            for entry_id, fields in entries:
                rec = Record.from_fields(entry_id, fields)
                if (since is None or rec.ts >= since) and (until is None or rec.ts < until):
                    yield rec
            if len(entries) < batch:
                return
            start = "(" + entries[-1][0]


def _records(entries: list[tuple[str, dict[str, str]]]) -> list[Record]:
    return [Record.from_fields(entry_id, fields) for entry_id, fields in entries]


async def record_personal_data_consent(
    redis: Redis,
    client_id: str,
    *,
    purpose: str,
    text_version: str,
    channel: str,
    conversation_id: str = "",
    granted: bool = True,
    text_id: str = "",
    sha256: str = "",
    title: str = "",
    now: float | None = None,
) -> ConsentState:
    """One personal-data consent answer (granted or declined) for `purpose`, e.g. the
    callback's phone number (handoff/callbacks.py, the voice line)."""
    rec = Record(
        client_id=client_id,
        kind=Kind.personal_data,
        scope=purpose,
        action=Action.grant if granted else Action.decline,
        ts=time.time() if now is None else now,
        channel=channel,
        text_id=text_id or purpose,
        version=text_version,
        sha256=sha256,
        title=title or f"обработка персональных данных ({purpose})",
    )
    return await Ledger(redis).append(rec)
