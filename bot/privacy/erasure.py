"""Deleting a client's personal data: on withdrawal of a consent (`purge`)
and entirely, on request (`erase`).

purge(client, purposes)  152-ФЗ art. 9 part 2, art. 21 part 5: what was
    collected under the withdrawn personal-data consents goes — profile values
    with that purpose (bot/privacy/profile.py), application drafts and forms in
    progress (applications), callbacks and voice callback requests (callback),
    appointments, future ones cancelled and their places freed (appointments).
    Submitted applications, payment records and the consent ledger stay.

erase(client)  everything about the client, keyed by the families in
    `keys.FAMILIES`: a handoff in progress is ended first, every consent is
    withdrawn, bookings and callbacks are cancelled (places freed), then the
    profile, every conversation (state, history, outbox, stored API replies,
    analytics events), drafts, notifications, channel addresses go. What the
    law requires is kept and relinked to a pseudonym (bot/privacy/pseudonym.py):
    payment orders, submitted applications (without phone and e-mail), the
    consent ledger and its audit copy. The erasure itself is an `erase` record
    of the ledger (who asked: the client, or staff by name; counts only).

Both say, in `Report`, what was deleted and what is kept, in the client's
words (bot/privacy/texts.py). Each step is safe to repeat: an erasure that
failed half-way is finished by running it again.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from redis.asyncio import Redis

from bot.applications import keys as app_keys
from bot.booking import keys as booking_keys
from bot.consent import keys as consent_keys
from bot.consent.ledger import Ledger
from bot.consent.model import ALL, Action, Kind, Record
from bot.core.messages import Reply, ReplyKind
from bot.core.texts import plural
from bot.indicators import keys as indicator_keys
from bot.payments import keys as pay_keys
from bot.store import get_many, keys
from bot.store.conversations import ConversationState
from bot.store.documents import update_document
from bot.store.events import anonymous_id
from bot.store.ratelimit import WINDOW_S
from handoff import keys as handoff_keys
from voice import keys as voice_keys

from . import profile as pd_profile
from . import texts
from .pseudonym import pseudonym, pseudonym_key

if TYPE_CHECKING:
    from bot.core.engine import Turn
    from bot.runtime import Runtime

log = logging.getLogger("privacy")

# The flows whose state holds data collected under a personal-data consent.
PURPOSE_FLOWS: dict[str, tuple[str, ...]] = {
    "applications": ("app",),
    "callback": ("callback",),
    "appointments": ("booking",),
    "payments": (),
}
CONTACT_TYPES = ("phone", "email")  # answers removed from the submitted applications that are kept
BATCH = 500
AUDIT_WINDOW_MS = 5_000  # a ledger entry's audit copy is written in the same transaction
OPERATOR_NOTE = "Клиент попросил удалить свои персональные данные: разговор завершён, переписка удалена."


@dataclass
class Report:
    deleted: list[str] = field(default_factory=list)  # in the client's words
    kept: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)  # for the audit record: no personal data
    applications: list[str] = field(default_factory=list)  # numbers of the submitted applications kept
    told: bool = False  # the outcome reached one of the client's chats (staff erasure)
    profile: dict[str, str | None] = field(default_factory=dict)  # purge: the profile fields changed / deleted

    def count(self, what: str, n: int) -> int:
        if n:
            self.counts[what] = self.counts.get(what, 0) + n
        return n


def flows_holding(purposes: Iterable[str]) -> tuple[str, ...]:
    """The flows whose state holds data collected under these personal-data consents."""
    return tuple(dict.fromkeys(f for p in sorted(purposes) for f in PURPOSE_FLOWS.get(p, ())))


def forms_in(state: ConversationState, flows: Iterable[str]) -> int:
    """How many of these flows the conversation has, active or set aside."""
    names = set(flows)
    return int(state.flow in names) + sum(1 for item in state.suspended if item.get("flow") in names)


def glob_escape(text: str) -> str:
    """A literal for a Redis MATCH pattern (conversation ids may hold any character)."""
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)


class Eraser:
    # The key families (keys.FAMILIES) marked erase / pseudonymise that this class handles
    # (tests/test_privacy_keys.py checks the two lists agree).
    COVERED = frozenset(
        {
            "conversation",
            "history",
            "receipts",
            "client",
            "events",
            "indicator_conv",
            "api_response",
            "rate",
            "outbox",
            "client_addresses",
            "client_conversations",
            "handoff",
            "handoff_queue",
            "handoff_mine",
            "handoff_active",
            "callback",
            "callbacks",
            "voice_callbacks",
            "payment_order",
            "payment_create",
            "payment_client",
            "consent_ledger",
            "consent_audit",
            "consent_clients",
            "notification",
            "notify_scheduled",
            "notify_digest",
            "notify_digest_due",
            "notify_deliveries",
            "appointment",
            "client_appointments",
            "appointments_all",
            "appointment_reminders",
            "application",
            "application_client",
            "application_create",
            "application_draft",
        }
    )

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.redis: Redis = runtime.redis

    async def pseudonym(self, client_id: str) -> str:
        return pseudonym(client_id, pseudonym_key(self.runtime.settings))

    # ------------------------------------------------------------------ reads
    async def conversations(self, client_id: str, also: Iterable[str] = ()) -> list[str]:
        """Every conversation of the client: the index, the channel addresses and, when the
        index is full (older ones fell off it), every stored conversation that names the client."""
        indexed = await self.redis.zrange(keys.client_conversations(client_id), 0, -1)
        cids = set(indexed) | set((await self.redis.hgetall(consent_keys.client_addresses(client_id))).values())
        cids |= {c for c in also if c}
        if len(indexed) >= keys.CLIENT_CONVERSATIONS_MAX:
            cids |= await self._conversations_by_scan(client_id)
        return sorted(cids)

    async def _conversations_by_scan(self, client_id: str) -> set[str]:
        found = set()
        async for chunk in self._scan_chunks(keys.conversation("*")):
            chunk = [k for k in chunk if not k.endswith((":history", ":lock", ":receipts"))]
            for key, raw in zip(chunk, await get_many(self.redis, chunk) if chunk else []):
                try:
                    if raw and json.loads(raw).get("client_id") == client_id:
                        found.add(keys.CONV.entity_of(key))
                except (ValueError, AttributeError):
                    continue
        return found

    async def _scan_chunks(self, pattern: str):
        chunk: list[str] = []
        async for key in self.redis.scan_iter(match=pattern, count=BATCH):
            chunk.append(key)
            if len(chunk) >= BATCH:
                yield chunk
                chunk = []
        if chunk:
            yield chunk

    async def inventory(self, client_id: str) -> texts.Inventory:
        """What the confirmation of an erasure names as kept (nothing is changed)."""
        inv = texts.Inventory(
            applications=await self.redis.zrange(app_keys.application_client(client_id), 0, -1),
            payments=await self.redis.zcard(pay_keys.payment_client(client_id)),
        )
        for cid in await self.conversations(client_id):
            if await self.redis.hget(handoff_keys.handoff(cid), "status") in ("waiting", "with_operator"):
                inv.with_operator = True
        return inv

    # -------------------------------------------------------------- withdrawal
    async def purge(
        self, client_id: str, purposes: Iterable[str], *, current: str = "", channel: str = "", actor: str = "client"
    ) -> Report:
        """The personal-data consents `purposes` were withdrawn (already in the ledger):
        delete what was collected under them. `current`: the conversation of the turn in
        progress (its lock is held: its forms end with that turn, `flows_holding`; the
        profile changes made are in `Report.profile` for that turn to take)."""
        purposes = sorted(set(purposes))
        report = Report()
        if not purposes:
            return report
        ledger = Ledger(self.redis)
        active = {g.scope for g in (await ledger.state(client_id)).active(Kind.personal_data)}
        cids = await self.conversations(client_id, also=[current])
        await self._purge_profile(client_id, purposes, active, report)
        if "applications" in purposes:
            drafts = report.count("drafts", await self._delete_drafts(client_id))
            if drafts:
                report.deleted.append(f"черновики заявок ({drafts})")
            numbers = await self.redis.zrange(app_keys.application_client(client_id), 0, -1)
            if numbers:
                report.kept.append(texts.KEPT_APPLICATIONS_SHORT.format(numbers=", ".join(numbers[:5])))
        if "callback" in purposes:
            await self._remove_callbacks(client_id, cids, report)
        if "appointments" in purposes:
            await self._remove_appointments(client_id, report)
        if "payments" in purposes and await self.redis.zcard(pay_keys.payment_client(client_id)):
            report.kept.append(texts.KEPT_PAYMENTS_SHORT)
        if ended := report.count("forms_in_progress", await self._end_flows(cids, flows_holding(purposes), current)):
            report.deleted.append(f"незаконченные анкеты в разговорах ({ended}) — прерваны, ответы удалены")
        report.kept.append(texts.KEPT_LEDGER_SHORT)
        now = time.time()
        await ledger.append(
            *(
                Record(
                    client_id=client_id,
                    kind=Kind.personal_data,
                    scope=p,
                    action=Action.erase,
                    ts=now,
                    channel=channel or "system",
                    actor=actor,
                    reason="withdrawal",
                    title=f"удаление данных после отзыва согласия ({p})",
                    settings={"deleted": report.counts},
                )
                for p in purposes
            )
        )
        log.info("personal data purged after a withdrawal", extra={"purposes": purposes, "counts": report.counts})
        return report

    async def _purge_profile(self, client_id: str, purposes: list[str], active: set[str], report: Report) -> None:
        key = keys.client(client_id)
        stored = await self.redis.hgetall(key)
        delete, left = pd_profile.withdrawal_plan(stored, purposes, active)
        sources = json.dumps(left, sort_keys=True) if left else None
        pipe = self.redis.pipeline(transaction=True)
        if delete:
            pipe.hdel(key, *delete)
        if sources:
            pipe.hset(key, pd_profile.SOURCES, sources)
        elif pd_profile.SOURCES in stored:
            pipe.hdel(key, pd_profile.SOURCES)
        await pipe.execute()
        report.profile = {**dict.fromkeys(delete), pd_profile.SOURCES: sources}
        if report.count("profile_fields", len(delete)):
            report.deleted.append(texts.fields_phrase(delete) + " из вашего профиля")

    async def _end_flows(self, cids: list[str], flows: tuple[str, ...], current: str) -> int:
        """End forms in progress that hold such data, in every conversation of the client (in
        a turn the service takes by itself: only the engine writes flow state), and forget
        them where a handoff keeps them to resume after the operator. The current
        conversation's forms end with the turn in progress; counted here as stored."""
        if not flows:
            return 0
        engine, ended = self.runtime.engine, 0
        for cid in cids:
            stored = await engine.conversations.load(cid)
            if stored is not None and forms_in(stored, flows):
                ended += forms_in(stored, flows) if cid == current else await self._end_flows_in(cid, flows)
            if await self.redis.hget(handoff_keys.handoff(cid), "flow") in flows:
                await self.redis.hset(handoff_keys.handoff(cid), mapping={"flow": "", "flow_state": "{}"})
        return ended

    async def _end_flows_in(self, cid: str, flows: tuple[str, ...]) -> int:
        engine, ended = self.runtime.engine, 0

        async def end(turn: Turn) -> None:
            nonlocal ended
            ended = engine.end_flows(turn, flows)

        await engine.system_turn(cid, end)
        return ended

    async def _delete_drafts(self, client_id: str) -> int:
        n, prefix = 0, app_keys.application_draft(client_id, "")
        async for chunk in self._scan_chunks(app_keys.application_draft(glob_escape(client_id), "*")):
            mine = [k for k in chunk if ":" not in k[len(prefix) :]]  # not those of a client «<id>:more»
            n += await self.redis.delete(*mine) if mine else 0
        return n

    async def _remove_callbacks(self, client_id: str, cids: list[str], report: Report) -> None:
        """Callbacks booked in the chat or by phone: booked ones give their place back."""
        ids = await self.redis.zrange(handoff_keys.callbacks(), 0, -1)
        mine: list[dict[str, str]] = []
        for start in range(0, len(ids), BATCH):
            pipe = self.redis.pipeline(transaction=False)
            for cb_id in ids[start : start + BATCH]:
                pipe.hgetall(handoff_keys.callback(cb_id))
            for cb_id, h in zip(ids[start : start + BATCH], await pipe.execute()):
                if not h:
                    await self.redis.zrem(handoff_keys.callbacks(), cb_id)  # expired: drop the dangling id
                elif h.get("client_id") == client_id or h.get("conversation_id") in cids:
                    mine.append(h)
        cancelled = []
        handoff = self.runtime.handoff
        for h in mine:
            status = await self.redis.eval(
                handoff_keys.CALLBACK_REMOVE,
                2,
                handoff_keys.callback(h["id"]),
                handoff_keys.callbacks(),
                h["id"],
                handoff_keys.callback_slot_prefix(),
            )
            slot = int(h.get("slot") or 0)
            if status == "booked" and slot > time.time():
                when = datetime.fromtimestamp(slot, UTC)
                cancelled.append(handoff.schedule.when(when, handoff.now()) if handoff else when.isoformat())
        phones = {h.get("phone", "") for h in mine} - {""}
        voice = await self._xdel_where(
            voice_keys.voice_callbacks(),
            0,
            lambda f: (
                f.get("client_id") == client_id
                or f.get("conversation_id") in cids
                or ("+" + f.get("phone", "").lstrip("+")) in phones
            ),
        )
        if report.count("callbacks", len(mine)) and handoff is not None:
            await handoff.queue.publish("callback", "")  # the console's list drops them at once
        report.count("voice_callbacks", voice)
        if cancelled:
            report.deleted.append("обратный звонок " + ", ".join(cancelled) + " — отменён, номер удалён")
        others = len(mine) - len(cancelled) + voice
        if others > 0:
            report.deleted.append(f"заявки на обратный звонок с номером телефона ({others})")

    async def _remove_appointments(self, client_id: str, report: Report) -> None:
        """Future appointments are cancelled through the booking service (the place is freed
        atomically); then every appointment record of the client goes."""
        booking = self.runtime.booking
        if booking is None:
            from bot.booking.store import AppointmentBook  # the module is not installed: its data may still exist

            book, now = AppointmentBook(self.redis), datetime.now(UTC)

            def describe(a) -> str:
                return "предстоящая запись на консультацию — отменена"

        else:
            book, now = booking.book, booking.now()
            from bot.booking import texts as booking_texts

            def describe(a) -> str:
                topic = booking.topics.by_id.get(a.topic)
                return (
                    f"запись на консультацию «{topic.title if topic else a.topic}» на "
                    f"{booking_texts.when(a.slot, booking.schedule.zone)} — отменена, место освобождено"
                )

        appointments = await book.for_client(client_id, limit=100_000)
        for a in appointments:
            if a.status == "booked" and a.slot > now.timestamp() and await book.cancel(a.id, client_id, now=now):
                report.count("appointments_cancelled", 1)
                report.deleted.append(describe(a))
        pipe = self.redis.pipeline(transaction=True)
        for a in appointments:
            pipe.delete(booking_keys.appointment(a.id))
            pipe.zrem(booking_keys.appointments_all(), a.id)
            pipe.zrem(booking_keys.appointment_reminders(), a.id)
        pipe.delete(booking_keys.client_appointments(client_id))
        await pipe.execute()
        past = report.count("appointments", len(appointments)) - report.counts.get("appointments_cancelled", 0)
        if past > 0:
            report.deleted.append(f"прошлые и отменённые записи на консультацию ({past})")

    async def _xdel_where(self, stream: str, since_ms: int, match: Callable[[dict[str, str]], bool]) -> int:
        """Delete the entries of a stream (from `since_ms` on) that `match`."""
        start, removed = (f"{since_ms}-0" if since_ms else "-"), 0
        while True:
            entries = await self.redis.xrange(stream, min=start, max="+", count=BATCH)
            ids = [entry_id for entry_id, fields in entries if match(fields)]
            if ids:
                removed += await self.redis.xdel(stream, *ids)
            if len(entries) < BATCH:
                return removed
            start = "(" + entries[-1][0]

    # ----------------------------------------------------------------- erasure
    async def erase(
        self,
        client_id: str,
        *,
        actor: str = "client",
        by: str = "",
        channel: str = "",
        current: str = "",
        tell_client: bool = False,
    ) -> Report:
        """Erase everything about the client. `current`: a conversation whose lock the caller
        holds (the turn that confirmed the erasure). `tell_client`: send the outcome to the
        client's chat channels afterwards (staff erasure). Returns what was deleted / kept."""
        redis, report = self.redis, Report()
        pseudo = await self.pseudonym(client_id)
        profile = await redis.hgetall(keys.client(client_id))
        first_seen = int(profile.get("first_seen") or 0)
        since_ms = max(0, first_seen - 24 * 3600) * 1000 if first_seen else 0  # streams: nothing older is theirs
        addresses = await redis.hgetall(consent_keys.client_addresses(client_id))
        cids = await self.conversations(client_id, also=[current])

        await self._end_handoffs(cids, report)
        await self._withdraw_all(client_id, actor=actor, by=by, channel=channel)
        await self._remove_appointments(client_id, report)
        await self._remove_callbacks(client_id, cids, report)
        await self._pseudonymise_applications(client_id, pseudo, report)
        await self._pseudonymise_payments(client_id, pseudo, report)
        await self._sweep(client_id, cids, report)
        drafts = report.counts.get("drafts", 0)
        await redis.zrem(consent_keys.notify_digest_due(), client_id)
        report.count(
            "deliveries",
            await self._xdel_where(
                consent_keys.notify_deliveries(), since_ms, lambda f: f.get("client_id") == client_id
            ),
        )
        for cid in cids:
            await self._erase_conversation(cid, locked=cid == current)
        anon = {anonymous_id(cid, self.runtime.engine.events.salt) for cid in cids}
        report.count("events", await self._xdel_where(keys.events(), since_ms, lambda f: f.get("conv") in anon))
        if anon:  # what the indicators remember of these conversations (their counts stay: no client in them)
            await redis.delete(*(indicator_keys.indicator_conv(a) for a in anon))
        window = int(time.time() // WINDOW_S)
        await redis.delete(
            keys.client(client_id),
            consent_keys.client_addresses(client_id),
            keys.client_conversations(client_id),
            consent_keys.notify_digest(client_id),
            *(keys.rate(client_id, w) for w in range(window - 2, window + 2)),
        )
        await self._pseudonymise_ledger(client_id, pseudo)
        report.count("profile", 1 if profile else 0)

        deleted = []
        if profile:
            personal = [name for name in profile if name in pd_profile.PERSONAL_FIELDS]
            deleted.append(f"профиль ({texts.fields_phrase(personal)})" if personal else "профиль")
        if cids:
            deleted.append(f"переписка ({len(cids)} {plural(len(cids), 'разговор', 'разговора', 'разговоров')})")
        if drafts:
            deleted.append(f"черновики заявок ({drafts})")
        report.deleted[:0] = deleted
        if report.counts.get("notifications"):
            report.deleted.append(f"уведомления ({report.counts['notifications']})")
        if addresses:
            report.deleted.append("адреса в каналах связи и настройки уведомлений")
        report.kept = texts.kept_lines(
            texts.Inventory(applications=report.applications, payments=report.counts.get("payments", 0))
        )
        await Ledger(redis).append(
            Record(
                client_id=pseudo,
                kind=Kind.personal_data,
                scope=ALL,
                action=Action.erase,
                ts=time.time(),
                channel=channel or "system",
                actor="staff" if by else actor,
                reason="erasure request",
                title="удаление всех персональных данных по запросу",
                settings={"by": by, "deleted": report.counts},
            ),
            cache=False,
        )
        log.info("client erased", extra={"by": by or actor, "counts": report.counts})
        if tell_client:
            report.told = await self._tell(
                client_id,
                addresses,
                texts.ERASED_BY_STAFF.format(
                    rest=texts.erased(report.deleted, report.kept).removeprefix(texts.ERASED_HEAD + "\n")
                ),
            )
        return report

    async def _end_handoffs(self, cids: list[str], report: Report) -> None:
        """A client waiting for an operator leaves the queue; one with an operator is resolved
        for that operator, who is told on the console why."""
        handoff = self.runtime.handoff
        for cid in cids:
            h = await self.redis.hgetall(handoff_keys.handoff(cid))
            status, operator = h.get("status"), h.get("operator", "")
            if status == "waiting" and handoff is not None:
                await handoff.queue.cancel(cid)
            elif status == "with_operator" and handoff is not None:
                try:
                    await handoff.queue.resolve(cid, operator)
                except Exception as exc:  # noqa: BLE001 - taken over meanwhile: the record is removed below
                    log.warning("handoff of an erased client not resolved: %s", exc.__class__.__name__)
                await handoff.queue.publish("message", cid, sender="bot", text=OPERATOR_NOTE)
            if status in ("waiting", "with_operator"):
                report.count("handoffs_ended", 1)
            pipe = self.redis.pipeline(transaction=True)
            pipe.delete(handoff_keys.handoff(cid))
            pipe.zrem(handoff_keys.handoff_queue(), cid)
            pipe.zrem(handoff_keys.handoff_active(), cid)
            if operator:
                pipe.srem(handoff_keys.handoff_mine(operator), cid)
            await pipe.execute()

    async def _withdraw_all(self, client_id: str, *, actor: str, by: str, channel: str) -> None:
        ledger = Ledger(self.redis)
        grants = (await ledger.state(client_id)).active()
        if grants:
            now = time.time()
            await ledger.append(
                *(
                    Record(
                        client_id=client_id,
                        kind=g.kind,
                        scope=g.scope,
                        action=Action.withdraw,
                        ts=now,
                        channel=channel or "system",
                        actor="staff" if by else actor,
                        reason="erasure request",
                        title=g.title,
                    )
                    for g in grants
                ),
                cache=False,
            )

    async def _pseudonymise_applications(self, client_id: str, pseudo: str, report: Report) -> None:
        from bot.applications.status import Application

        forms = self.runtime.application_forms
        numbers = await self.redis.zrange(app_keys.application_client(client_id), 0, -1, withscores=True)
        now = time.time()

        def relink(app: Application) -> Application:
            form = forms.get(app.form) if forms is not None else None
            contact = (
                {f.name for f in form.fields if f.type.value in CONTACT_TYPES}
                if form is not None
                else set(CONTACT_TYPES)
            )
            app.answers = {k: v for k, v in app.answers.items() if k not in contact}
            app.client_id, app.conversation_id, app.erased_at = pseudo, "", app.erased_at or now
            return app

        for number, _score in numbers:
            try:
                await update_document(self.redis, app_keys.application(number), Application, relink, missing=number)
            except KeyError:
                continue
        await self._move_zset(app_keys.application_client(client_id), app_keys.application_client(pseudo), numbers)
        report.applications = [number for number, _score in numbers]
        report.count("applications", len(numbers))

    async def _pseudonymise_payments(self, client_id: str, pseudo: str, report: Report) -> None:
        from bot.payments.orders import OrderStore

        orders = OrderStore(self.redis)
        ids = await self.redis.zrange(pay_keys.payment_client(client_id), 0, -1, withscores=True)
        for order_id, _score in ids:
            try:
                await orders.update(order_id, None, client_id=pseudo, conversation_id="")
            except KeyError:
                continue
        await self._move_zset(pay_keys.payment_client(client_id), pay_keys.payment_client(pseudo), ids)
        report.count("payments", len(ids))

    async def _move_zset(self, old: str, new: str, members: list[tuple[str, float]]) -> None:
        pipe = self.redis.pipeline(transaction=True)
        if members:
            pipe.zadd(new, dict(members))
        pipe.delete(old)
        await pipe.execute()

    async def _sweep(self, client_id: str, cids: list[str], report: Report) -> None:
        """One pass over the keyspace for the families that have no index by client:
        drafts, notifications, create-once markers and stored API replies of its conversations."""
        draft, note = app_keys.application_draft(client_id, ""), consent_keys.notification("")
        pay_mark, app_mark = pay_keys.payment_create(""), app_keys.application_create("")
        conversations, api = set(cids), dict[str, set[str]]()
        for cid in cids:
            if cid.startswith("api:"):
                _, key_id, conversation = cid.split(":", 2)
                api.setdefault(keys.api_response(key_id, ""), set()).add(conversation)
        async for chunk in self._scan_chunks(keys.PREFIX + "*"):
            drop, notes, replies = [], [], []
            for key in chunk:
                if key.startswith(draft) and ":" not in key[len(draft) :]:
                    drop.append(key)
                    report.count("drafts", 1)
                elif key.startswith(note):
                    notes.append(key)
                elif (key.startswith(pay_mark) and key[len(pay_mark) :].rsplit(":", 2)[0] in conversations) or (
                    key.startswith(app_mark) and key[len(app_mark) :].rsplit(":", 1)[0] in conversations
                ):
                    drop.append(key)
                elif any(key.startswith(prefix) for prefix in api):
                    replies.append(key)
            if notes:
                pipe = self.redis.pipeline(transaction=False)
                for key in notes:
                    pipe.hget(key, "client_id")
                mine = [k for k, owner in zip(notes, await pipe.execute()) if owner == client_id]
                drop += mine
                if mine:
                    await self.redis.zrem(consent_keys.notify_scheduled(), *(k[len(note) :] for k in mine))
                report.count("notifications", len(mine))
            if replies:  # replies the API stored for an Idempotency-Key hold the conversation's texts
                for key, raw in zip(replies, await get_many(self.redis, replies)):
                    prefix = next(p for p in api if key.startswith(p))
                    if _api_reply_of(raw, api[prefix]):
                        drop.append(key)
            if drop:
                await self.redis.delete(*drop)

    async def _erase_conversation(self, cid: str, *, locked: bool) -> None:
        if locked:
            await self._drop_conversation(cid)
            return
        async with self.runtime.engine.conversations.lock(cid):  # no turn of it runs meanwhile
            await self._drop_conversation(cid)

    async def _drop_conversation(self, cid: str) -> None:
        await self.redis.delete(
            keys.conversation(cid),
            keys.history(cid),
            keys.receipts(cid),
            handoff_keys.outbox(cid),
            handoff_keys.handoff(cid),
        )

    async def _pseudonymise_ledger(self, client_id: str, pseudo: str) -> None:
        """The client's ledger under the pseudonym (same entry ids), and its audit copies too."""
        redis = self.redis
        entries = await redis.xrange(consent_keys.consent_ledger(client_id))
        if not entries:
            await redis.srem(consent_keys.consent_clients(), client_id)
            return
        audit = await self._audit_entries(client_id, entries)
        target = consent_keys.consent_ledger(pseudo)
        renamed = [(entry_id, {**fields, "client_id": pseudo}) for entry_id, fields in entries]
        last = await redis.xrevrange(target, count=1)
        pipe = self.redis.pipeline(transaction=True)
        for entry_id, fields in renamed:  # the same ids keep the order; after an earlier erasure: new ids
            pipe.xadd(target, fields, id=entry_id if not last else "*")
        pipe.delete(consent_keys.consent_ledger(client_id))
        if audit:
            pipe.xdel(consent_keys.consent_audit(), *audit)
        for _entry_id, fields in renamed:  # the audit copies, relinked (appended; `ts` keeps the time)
            pipe.xadd(consent_keys.consent_audit(), fields)
        pipe.srem(consent_keys.consent_clients(), client_id)
        pipe.sadd(consent_keys.consent_clients(), pseudo)
        await pipe.execute()

    async def _audit_entries(self, client_id: str, entries: list[tuple[str, dict[str, str]]]) -> list[str]:
        """The audit stream's copies of the client's ledger entries: written in the same
        transaction, so found next to each entry's time; anything missed is found by a scan."""
        found: list[str] = []
        for entry_id, fields in entries:
            ms = int(entry_id.split("-")[0])
            near = await self.redis.xrange(
                consent_keys.consent_audit(), min=f"{max(0, ms - AUDIT_WINDOW_MS)}-0", max=f"{ms + AUDIT_WINDOW_MS}-0"
            )
            match = next((i for i, f in near if f == fields and i not in found), None)
            if match:
                found.append(match)
        if len(found) < len(entries):  # unusual clocks: look through the rest of the stream
            first = int(entries[0][0].split("-")[0])
            start, seen = f"{max(0, first - AUDIT_WINDOW_MS)}-0", set(found)
            while True:
                batch = await self.redis.xrange(consent_keys.consent_audit(), min=start, max="+", count=BATCH)
                found += [i for i, f in batch if f.get("client_id") == client_id and i not in seen]
                if len(batch) < BATCH:
                    break
                start = "(" + batch[-1][0]
        return found

    async def _tell(self, client_id: str, addresses: dict[str, str], text: str) -> bool:
        """The outcome to the client's chat channels (an API outbox would outlive the erasure: skipped)."""
        told = False
        for channel, cid in addresses.items():
            if channel == "api":
                continue
            try:
                told |= bool(
                    await self.runtime.outbound.send(channel, cid, client_id, [Reply(kind=ReplyKind.info, text=text)])
                )
            except Exception as exc:  # noqa: BLE001 - the erasure is done; the message is a courtesy
                log.warning("erasure notice via %s not delivered: %s", channel, exc.__class__.__name__)
        return told


def _api_reply_of(raw: str | None, conversations: set[str]) -> bool:
    try:
        data: Any = json.loads(raw or "")
    except ValueError:
        return False
    if isinstance(data, dict) and "request" in data:  # {"request": <hash>, "reply": …} (idempotency.py)
        data = data["reply"]
    return isinstance(data, dict) and data.get("conversation_id") in conversations
