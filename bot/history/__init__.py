"""The client's interaction history (R-15): «покажите историю моих обращений».

install: an interceptor that remembers every conversation of a client
  (client → conversations, newest last; it never consumes a message), and the
  `show_history` handler.
The summary is one timeline, newest first, with dates in the centre's time:
questions and the topics answered (conversation histories; what the client
typed into a form's step is a form answer, not a question, and is left out),
conversations with an operator, submitted applications (bot/applications),
callbacks (handoff), payments (bot/payments), consent actions (bot/consent
ledger) and appointments (bot/booking). Each source is optional, so the
view works with whichever modules are installed. Its words: texts.py.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, tzinfo
from zoneinfo import ZoneInfo

from bot.booking.texts import when
from bot.core.masking import mask_personal_data
from bot.core.messages import Incoming, ReplyKind, Understanding
from bot.core.texts import plural
from bot.modules import Module
from bot.store import keys

from . import texts

log = logging.getLogger("history")

MAX_LINES = 12
MAX_CONVERSATIONS = 10
QUESTION_CHARS = 80
QUESTION_INTENTS = {"faq", "out_of_scope"}


@dataclass(frozen=True)
class Item:
    ts: float
    kind: str  # questions | handoffs | applications | callbacks | payments | consents | bookings
    text: str


def install(runtime) -> None:
    engine = runtime.engine

    async def remember(engine_, turn, msg: Incoming) -> bool:
        await remember_conversation(runtime.redis, msg.client_id, msg.conversation_id)
        return False  # only records; the message goes on as usual

    engine.interceptors.insert(0, remember)

    async def show(engine_, turn, u: Understanding | None) -> None:
        turn.decision = "history"
        turn.say(ReplyKind.info, await render(runtime, turn.state.client_id))

    engine.intent_handlers["show_history"] = show


async def remember_conversation(redis, client_id: str, conversation_id: str, now: float | None = None) -> None:
    key = keys.client_conversations(client_id)
    pipe = redis.pipeline(transaction=False)
    pipe.zadd(key, {conversation_id: now or time.time()})
    pipe.zremrangebyrank(key, 0, -keys.CLIENT_CONVERSATIONS_MAX - 1)
    await pipe.execute()


def _zone(runtime) -> tuple[tzinfo, str]:
    booking = runtime.booking
    if booking is not None:
        return booking.schedule.zone, booking.zone_title
    return ZoneInfo(runtime.settings.notify_timezone), runtime.settings.notify_timezone


def _stamp(ts: float, tz: tzinfo) -> str:
    return datetime.fromtimestamp(ts, tz).strftime("%d.%m.%Y %H:%M")


async def collect(runtime, client_id: str) -> list[Item]:
    """Everything known about the client, newest first."""
    tz, _ = _zone(runtime)
    items: list[Item] = []
    items += await _conversations(runtime, client_id, tz)
    items += await _applications(runtime, client_id, tz)
    items += await _callbacks(runtime, client_id, tz)
    items += await _payments(runtime, client_id, tz)
    items += await _consents(runtime, client_id, tz)
    items += await _bookings(runtime, client_id, tz)
    return sorted(items, key=lambda i: i.ts, reverse=True)


async def _conversations(runtime, client_id: str, tz: tzinfo) -> list[Item]:
    engine, items = runtime.engine, []
    cids = await runtime.redis.zrevrange(keys.client_conversations(client_id), 0, MAX_CONVERSATIONS - 1)
    for cid in cids:
        entries = await engine.conversations.history(cid, limit=200)
        operator_seen = False
        for n, entry in enumerate(entries):
            if entry.get("from") == "operator" and not operator_seen:
                operator_seen = True
                items.append(Item(entry["ts"], "handoffs", texts.HISTORY_HANDOFF.format(date=_stamp(entry["ts"], tz))))
            if entry.get("from") != "client" or not entry.get("text"):
                continue
            answer, in_flow = None, False
            for reply in entries[n + 1 :]:  # this turn's replies: up to the client's next message
                if reply.get("from") == "client":
                    break
                if reply.get("from") == "bot":
                    answer = answer or reply.get("faq_id")
                    in_flow = in_flow or reply.get("kind") == ReplyKind.flow.value
            if not answer and (in_flow or entry.get("intent") not in QUESTION_INTENTS):
                continue  # greetings, button presses, a form's answers and other flow steps
            question = mask_personal_data(" ".join(entry["text"].split()))
            if len(question) > QUESTION_CHARS:
                question = question[: QUESTION_CHARS - 1] + "…"
            date = _stamp(entry["ts"], tz)
            if answer and answer in engine.kb:
                text = texts.HISTORY_QUESTION_ANSWERED.format(date=date, text=question, title=engine.kb[answer].title)
            else:
                text = texts.HISTORY_QUESTION.format(date=date, text=question)
            items.append(Item(entry["ts"], "questions", text))
    return items


async def _applications(runtime, client_id: str, tz: tzinfo) -> list[Item]:
    store = runtime.applications
    if store is None:
        return []
    return [
        Item(
            app.created,
            "applications",
            texts.HISTORY_APPLICATION.format(
                date=_stamp(app.created, tz),
                number=app.number,
                title=app.title,
                status=texts.APPLICATION_STATUS.get(app.status.value, app.status.value),
            ),
        )
        for app in await store.for_client(client_id, limit=MAX_LINES)
    ]


async def _callbacks(runtime, client_id: str, tz: tzinfo) -> list[Item]:
    handoff = runtime.handoff
    if handoff is None:
        return []
    return [
        Item(
            cb.created_at,
            "callbacks",
            texts.HISTORY_CALLBACK.format(
                date=_stamp(cb.created_at, tz),
                when=when(cb.slot, tz),
                status=texts.CALLBACK_STATUS.get(cb.status, cb.status),
            ),
        )
        for cb in await handoff.callbacks.upcoming(limit=10_000, include_done=True)
        if cb.client_id == client_id
    ]


async def _payments(runtime, client_id: str, tz: tzinfo) -> list[Item]:
    payments = runtime.payments
    if payments is None:
        return []
    return [
        Item(
            o.created_at,
            "payments",
            texts.HISTORY_PAYMENT.format(
                date=_stamp(o.paid_at or o.created_at, tz),
                fee=o.fee_name,
                amount=f"{o.amount_kopecks / 100:,.0f}".replace(",", " "),
                status=texts.PAYMENT_STATUS.get(o.status.value, o.status.value),
            ),
        )
        for o in await payments.orders.for_client(client_id, limit=MAX_LINES)
    ]


async def _consents(runtime, client_id: str, tz: tzinfo) -> list[Item]:
    try:
        from bot.consent.export import client_history
    except ImportError:  # the consent module is not part of this installation
        return []
    return [
        Item(
            e["ts"],
            "consents",
            texts.HISTORY_CONSENT.format(date=_stamp(e["ts"], tz), action=e["action_title"], what=e["what"]),
        )
        for e in await client_history(runtime.redis, client_id, tz)
    ]


async def _bookings(runtime, client_id: str, tz: tzinfo) -> list[Item]:
    booking = runtime.booking
    if booking is None:
        return []
    now = booking.now().timestamp()
    items = []
    for appt in await booking.book.for_client(client_id):
        topic = booking.topics.by_id.get(appt.topic)
        status = "past" if appt.status == "booked" and appt.slot < now else appt.status
        items.append(
            Item(
                appt.created_at,
                "bookings",
                texts.HISTORY_BOOKING.format(
                    date=_stamp(appt.created_at, tz),
                    topic=topic.title if topic else appt.topic,
                    when=when(appt.slot, tz),
                    status=texts.BOOKING_STATUS.get(status, status),
                ),
            )
        )
    return items


async def render(runtime, client_id: str) -> str:
    items = await collect(runtime, client_id)
    if not items:
        return texts.HISTORY_EMPTY
    _, zone = _zone(runtime)
    counts: dict[str, int] = {}
    for item in items:
        counts[item.kind] = counts.get(item.kind, 0) + 1
    parts = [f"{n} {plural(n, *texts.TOTAL_WORDS[kind])}" for kind, n in counts.items()]
    lines = [
        texts.HISTORY_HEAD.format(zone=zone),
        *(f"• {i.text}" for i in items[:MAX_LINES]),
        "",
        texts.HISTORY_TOTALS.format(parts=", ".join(parts)),
    ]
    if len(items) > MAX_LINES:
        lines.append(texts.HISTORY_MORE.format(shown=MAX_LINES, total=len(items)))
    return "\n".join(lines)


MODULE = Module("history", uses=("booking", "payments", "applications", "handoff"), install=install)
