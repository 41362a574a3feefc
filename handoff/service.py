"""The handoff service: the engine's `ask_operator` handler and interceptor,
the operator actions the console calls, delivery to the client's channel and
the watcher of waiting clients (timeouts, working hours)."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime

from bot.core import phones
from bot.core.engine import CANCEL_PAYLOAD
from bot.core.masking import mask_personal_data
from bot.core.messages import Button, Incoming, Reply, ReplyKind, Understanding
from bot.core.texts import INTENT_TITLES
from bot.flows.base import EffectContext, FlowEvent
from handoff import keys as handoff_keys

from . import texts
from .callback_flow import BookCallback, CallbackBooked, CallbackFlow, OfferSlots, RecordCallbackConsent, SlotsFound
from .callbacks import Callback, CallbackBook, record_personal_data_consent, slot_time
from .presence import PresenceBoard
from .queue import HandoffQueue, Ticket, parse_segment_priority
from .rating import RATING_ASKED, RATING_PAUSE_SECONDS, RatingFlow, SaveComment, SaveRating, resume_of
from .schedule import Schedule
from .states import HUMAN_STATUSES, Refused, Status
from .summary import Summary, reason_from, summarize
from .users import UserStore

log = logging.getLogger("handoff")

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class HandoffService:
    def __init__(self, runtime, schedule: Schedule, clock: Clock = utc_now):
        s = runtime.settings
        self.runtime = runtime
        self.engine = runtime.engine
        self.redis = runtime.redis
        self.clock = clock
        self.queue = HandoffQueue(
            runtime.redis,
            max_transfers=s.handoff_max_transfers,
            segment_priority=parse_segment_priority(s.handoff_segment_priority),
        )
        self.presence = PresenceBoard(runtime.redis, s.handoff_presence_ttl_seconds)
        self.callbacks = CallbackBook(
            runtime.redis,
            schedule,
            slot_minutes=s.callback_slot_minutes,
            capacity=s.callback_slot_capacity,
            lead_minutes=s.callback_lead_minutes,
        )
        self.schedule = schedule
        self.wait_timeout = s.handoff_wait_timeout_seconds
        self.operator_gone = s.handoff_operator_gone_seconds
        self.idle_timeout = s.handoff_idle_minutes * 60
        self.users = UserStore(runtime.redis)
        self.rating = RatingFlow(ask_nps=s.rating_ask_nps)
        # Ratings after a service the bot completed: asked of this share of clients.
        self.rating_sample_rate = s.rating_sample_rate
        self.sample: Callable[[], float] = random.random
        self.callback_flow = CallbackFlow(org=s.org_name)

    # ------------------------------------------------------------- plumbing
    def set_schedule(self, schedule: Schedule) -> None:
        self.schedule = self.callbacks.schedule = schedule

    def now(self) -> datetime:
        return self.clock()

    def install(self) -> None:
        engine = self.engine
        engine.register_flow(self.rating, {SaveRating: self._save_rating, SaveComment: self._save_comment})
        engine.after_turn.append(self._offer_rating)
        engine.register_flow(
            self.callback_flow,
            {RecordCallbackConsent: self._consent, OfferSlots: self._offer_slots, BookCallback: self._book},
        )
        engine.intent_handlers["ask_operator"] = self.request
        engine.intent_handlers["leave_feedback"] = self.feedback
        engine.interceptors.append(self.intercept)

    # ------------------------------------------------ inside a client's turn
    async def request(self, engine, turn, u: Understanding | None) -> None:
        """The client wants a human (typed or pressed, at any step)."""
        turn.decision = "handoff"
        state, now = turn.state, self.now()
        ts = now.timestamp()
        if not self.schedule.is_open(now):
            await self.queue.count("out_of_hours", ts)
            turn.say(
                ReplyKind.handoff,
                self._out_of_hours(now),
                [
                    Button(title=texts.CALLBACK_BUTTON, payload="do:request_callback"),
                    Button(title=texts.BOT_BUTTON, payload="flow:handoff:bot"),
                ],
            )
            return
        history = await engine.conversations.history(state.conversation_id, limit=30)
        flow = state.flow if state.flow not in (None, self.rating.name) else None
        reason = reason_from(history, typed=turn.text is not None, flow=flow)
        queued = await self.queue.enqueue(
            state.conversation_id,
            client_id=state.client_id,
            channel=state.channel,
            segment=turn.profile.get("segment", ""),
            reason=reason,
            flow=flow,
            flow_state=state.flow_state if flow else None,
            now=ts,
        )
        state.with_operator = True
        text = texts.QUEUED if queued else texts.ALREADY_QUEUED
        if queued and not await self.presence.online(ts):
            text += texts.NOBODY_ONLINE.format(minutes=max(1, round(self.wait_timeout / 60)))
        turn.say(ReplyKind.handoff, text, [Button(title=texts.CANCEL_BUTTON, payload="flow:handoff:cancel")])
        log.info("handoff requested", extra={"conversation": state.conversation_id, "reason": reason})

    async def intercept(self, engine, turn, msg: Incoming) -> bool:
        """While waiting or with an operator the bot is silent; messages go to the operator."""
        payload = msg.payload or ""
        if payload.startswith("flow:handoff:"):
            await self._handoff_button(engine, turn, payload.removeprefix("flow:handoff:"))
            return True
        if not turn.state.with_operator:
            return False
        cid = turn.state.conversation_id
        status = await self.queue.status(cid)
        if status not in HUMAN_STATUSES:
            turn.state.with_operator = False  # the record ended elsewhere: the bot takes over
            return False
        if status is Status.waiting and (texts.is_cancel(msg.text) or payload == CANCEL_PAYLOAD):
            await self._cancel(turn, texts.CANCELLED)
            return True
        turn.decision = "to_operator"
        await self.queue.touch(cid)
        await self.queue.publish("message", cid, sender="client", text=msg.text or "(нажата кнопка)")
        return True

    async def _handoff_button(self, engine, turn, value: str) -> None:
        cid = turn.state.conversation_id
        status = await self.queue.status(cid)
        turn.decision = f"handoff:{value}"
        if value == "wait" and status is Status.waiting:
            turn.say(ReplyKind.handoff, texts.STILL_WAITING)
        elif value in ("cancel", "bot", "callback"):
            if status is Status.with_operator:
                turn.say(ReplyKind.handoff, texts.OPERATOR_ALREADY_HERE)
                return
            if status is Status.waiting and not await self._cancel(turn, None):
                return
            turn.state.with_operator = False
            if value == "callback":
                await engine.intent_handlers["request_callback"](engine, turn, None)
            elif value == "bot":
                turn.say(ReplyKind.info, texts.BACK_TO_BOT)
            else:
                turn.say(ReplyKind.info, texts.CANCELLED if status is Status.waiting else texts.NOT_WAITING)
            if value != "callback" and (flow := engine.flows.get(turn.state.flow or "")):
                await engine.back_to(turn, flow)  # a form the client was filling: its question again
        else:
            turn.say(ReplyKind.info, texts.NOT_WAITING)

    async def _cancel(self, turn, say: str | None) -> bool:
        if await self.queue.cancel(turn.state.conversation_id, self.now().timestamp()):
            turn.state.with_operator = False
            if say:
                turn.say(ReplyKind.info, say)
            return True
        turn.say(ReplyKind.handoff, texts.OPERATOR_ALREADY_HERE)  # an operator took it a moment ago
        return False

    def _out_of_hours(self, now: datetime) -> str:
        nxt = self.schedule.next_open(now)
        hours = self.schedule.describe()
        if nxt is None:
            return texts.OUT_OF_HOURS_NO_NEXT.format(hours=hours)
        return texts.OUT_OF_HOURS.format(hours=hours, next=self.schedule.when(nxt, now))

    async def feedback(self, engine, turn, u: Understanding | None) -> None:
        """«Хочу оставить отзыв»: the rating flow, coming back afterwards to what the client was doing."""
        resume = resume_of(turn.state.flow, turn.state.flow_state)
        await engine.run_step(turn, self.rating, self.rating.start(engine.flow_context(turn), FlowEvent(), resume))

    # ------------------------------------------------------------- effects
    async def _offer_rating(self, engine, turn) -> None:
        """After a service the bot completed this turn (a helpful answer, an application, a
        booking, a payment): a rating, of a sample of clients and never twice a day, and not
        while the client is in the middle of something else."""
        if not turn.completed or turn.state.flow or turn.state.with_operator or turn.state.suspended:
            return
        now = self.now().timestamp()
        if now - float(turn.profile.get(RATING_ASKED) or 0) < RATING_PAUSE_SECONDS:
            return
        if self.sample() >= self.rating_sample_rate:
            return
        asked = {RATING_ASKED: str(int(now))}
        await engine.run_step(turn, self.rating, self.rating.after_service(turn.completed[-1], asked))

    async def _save_rating(self, effect: SaveRating, ctx: EffectContext) -> None:
        # "operator": asked after an operator resolved; a service the bot completed ("answer",
        # "app", "booking", "pay"); "assistant": the client chose to leave feedback (the
        # supervisor's count is about operators only)
        event = {
            "ts": f"{time.time():.3f}",
            "channel": ctx.channel,
            "satisfaction": str(effect.satisfaction or ""),
            "ease": str(effect.ease or ""),
            "operator": effect.operator,
            "context": "operator" if effect.operator else (effect.service or "assistant"),
            "ref": effect.ref,
            "nps": "" if effect.nps is None else str(effect.nps),
            # the topic last answered: the indicators split ratings by life situation and service
            "topic": await self._last_topic(ctx.conversation_id),
        }
        await self.redis.xadd(
            handoff_keys.handoff_ratings(), event, maxlen=handoff_keys.RATINGS_MAXLEN, approximate=True
        )
        if effect.operator:
            await self.queue.count("rated")

    async def _save_comment(self, effect: SaveComment, ctx: EffectContext) -> None:
        """The comment beside its rating, with personal data masked (ratings are anonymous)."""
        event = {
            "ts": f"{time.time():.3f}",
            "channel": ctx.channel,
            "context": "comment",
            "ref": effect.ref,
            "comment": mask_personal_data(effect.text),
        }
        await self.redis.xadd(
            handoff_keys.handoff_ratings(), event, maxlen=handoff_keys.RATINGS_MAXLEN, approximate=True
        )

    async def _last_topic(self, cid: str) -> str:
        for entry in reversed(await self.engine.conversations.history(cid, limit=40)):
            if entry.get("from") == "bot" and entry.get("faq_id"):
                return str(entry["faq_id"])
        return ""

    async def _consent(self, effect: RecordCallbackConsent, ctx: EffectContext) -> None:
        await record_personal_data_consent(
            self.redis,
            ctx.client_id,
            shown=dict(effect.shown),
            channel=ctx.channel,
            conversation_id=ctx.conversation_id,
        )

    async def _offer_slots(self, effect: OfferSlots | None, ctx: EffectContext, taken: bool = False) -> SlotsFound:
        now = self.now()
        slots = await self.callbacks.free_slots(now, limit=3)
        return SlotsFound(
            slots=tuple((int(s.timestamp()), self.schedule.when(s, now)) for s in slots),
            hours=self.schedule.describe(),
            taken=taken,
        )

    async def _book(self, effect: BookCallback, ctx: EffectContext) -> SlotsFound | CallbackBooked:
        now = self.now()
        cb = await self.callbacks.book(
            client_id=ctx.client_id,
            phone=effect.phone,
            channel=ctx.channel,
            conversation_id=ctx.conversation_id,
            now=now,
            slot=slot_time(effect.slot),
            reason="chat",
        )
        if cb is None:  # taken a moment ago: offer the free ones again
            return await self._offer_slots(None, ctx, taken=True)
        await self.queue.count("callbacks", now.timestamp())
        await self.queue.publish("callback", ctx.conversation_id)
        return CallbackBooked(phone=cb.phone, when=self.schedule.when(slot_time(cb.slot), now), zone=self.zone_title)

    @property
    def zone_title(self) -> str:
        return self.schedule.timezone_title or self.schedule.timezone

    def booked_text(self, cb: Callback, now: datetime) -> str:
        return texts.BOOKED.format(
            phone=phones.masked(cb.phone), when=self.schedule.when(slot_time(cb.slot), now), zone=self.zone_title
        )

    async def book_callback(
        self, *, client_id: str, phone: str, channel: str, conversation_id: str = "", reason: str = ""
    ) -> Callback | None:
        """Book the first free slot (any channel, e.g. voice with the caller's number).

        The caller must have the client's consent to use the phone number.
        """
        cb = await self.callbacks.book(
            client_id=client_id,
            phone=phone,
            channel=channel,
            now=self.now(),
            conversation_id=conversation_id,
            reason=reason,
        )
        if cb:
            await self.queue.count("callbacks")
            await self.queue.publish("callback", conversation_id)
        return cb

    # ------------------------------------------------------- operator side
    async def claim(self, operator: str, cid: str = "") -> str:
        got = await self.queue.claim(operator, cid, self.now().timestamp())
        if not got:
            raise Refused("Этот разговор уже взял другой оператор или клиент отменил запрос.")
        await self._deliver(got, [Reply(kind=ReplyKind.handoff, text=await self._introduction(operator))])
        return got

    async def _introduction(self, operator: str) -> str:
        user = await self.users.get(operator)
        return texts.introduction(*user.introduction()) if user else texts.CLAIMED

    async def send_for(self, operator: str, cid: str, replies: list[Reply]) -> bool:
        """Say `replies` (with their buttons) in the client's channel on the operator's behalf,
        e.g. a consent text the client confirms themselves; in the history as the operator's."""
        return await self._deliver(cid, replies, sender=operator)

    async def reply(self, operator: str, cid: str, text: str) -> None:
        text = (text or "").strip()
        if not text:
            raise Refused("Сообщение пустое — напишите текст ответа.")
        ticket = await self.queue.get(cid)
        if ticket is None or ticket.status is not Status.with_operator or ticket.operator != operator:
            raise Refused("Отвечать может только оператор, который ведёт разговор. Возьмите его в работу.")
        await self.queue.touch(cid)
        await self._deliver(cid, [Reply(kind=ReplyKind.operator, text=text[:4096])], sender=operator)

    async def transfer(self, operator: str, cid: str, target: str = "", *, supervisor: bool = False) -> None:
        """To an operator who exists and is on line now, or back to the queue (target "")."""
        if target:
            user = await self.users.get(target)
            if user is None:
                raise Refused(
                    "Такого сотрудника нет. Выберите оператора из списка или верните разговор в общую очередь."
                )
            if user.name not in await self.presence.online():
                raise Refused(
                    f"Оператор {user.name} сейчас не на связи. Выберите того, кто на связи, "
                    f"или верните разговор в общую очередь."
                )
            target = user.name
        await self.queue.transfer(cid, operator, target, self.now().timestamp(), supervisor=supervisor)
        said = [Reply(kind=ReplyKind.handoff, text=texts.TRANSFERRED)]
        if target:  # handed straight to a colleague: they introduce themselves as on a claim
            said.append(Reply(kind=ReplyKind.handoff, text=await self._introduction(target)))
        await self._deliver(cid, said)

    async def resolve(self, operator: str, cid: str, *, supervisor: bool = False, note: str = "") -> None:
        """The operator (or a supervisor, or the idle timeout) is done: the bot takes
        over, restores the flow and asks for a rating. `note` is said to the client first."""
        ticket = await self.queue.resolve(cid, operator, self.now().timestamp(), supervisor=supervisor)

        async def back_to_the_assistant(turn) -> None:
            turn.state.with_operator = False
            resume = resume_of(turn.state.flow, turn.state.flow_state)
            asked = {RATING_ASKED: str(int(self.now().timestamp()))}
            await self.engine.run_step(turn, self.rating, self.rating.after_operator(ticket.operator, resume, asked))

        done = await self.engine.system_turn(cid, back_to_the_assistant)
        await self.queue.back_to_bot(cid)
        if done is None:
            return
        state, replies = done
        replies = [Reply(kind=ReplyKind.info, text=note), *replies] if note else replies
        await self._deliver(cid, replies, state=state)
        log.info("handoff resolved", extra={"conversation": cid, "transfers": ticket.transfers})

    async def _deliver(self, cid: str, replies: list[Reply], sender: str = "bot", state=None) -> bool:
        """History first (the operator and the client see the same record), then the channel."""
        state = state or await self.engine.conversations.load(cid)
        if state is None:
            return False
        now = time.time()
        entries = [
            {
                "ts": now,
                "from": "operator" if sender != "bot" else "bot",
                "kind": r.kind.value,
                "text": r.text,
                **({"operator": sender} if sender != "bot" else {}),
            }
            for r in replies
        ]
        await self.engine.conversations.append_history(cid, *entries)
        for r in replies:
            await self.queue.publish("message", cid, sender=entries[0]["from"], text=r.text)
        delivered = await self.runtime.outbound.send(state.channel, cid, state.client_id, replies)
        if not delivered:
            log.warning("operator message not delivered", extra={"conversation": cid, "channel": state.channel})
        return delivered

    # --------------------------------------------------- console read model
    async def summary(self, ticket: Ticket, history: list[dict]) -> Summary:
        titles = {**INTENT_TITLES, "rating": "оценка", "callback": "обратный звонок"}  # flows often share intent names
        return summarize(history, flow=ticket.flow, reason=ticket.reason, flow_titles=titles)

    # -------------------------------------------------------------- watcher
    async def check_with_operator(self) -> int:
        """Conversations with an operator never hang: when the operator's console has
        been gone for a while the client goes back to the queue (in their old place),
        and when nobody has written for a long time the bot takes over."""
        ts, handled = self.now().timestamp(), 0
        beats = await self.presence.last_heartbeats()
        for cid, last in await self.queue.active():
            ticket = await self.queue.get(cid)
            if ticket is None or ticket.status is not Status.with_operator:
                await self.queue.forget_active(cid)
                continue
            if ts - beats.get(ticket.operator, 0.0) > self.presence.ttl + self.operator_gone:
                if await self.queue.requeue_gone(ticket, ts):
                    await self._deliver(
                        cid,
                        [
                            Reply(
                                kind=ReplyKind.handoff,
                                text=texts.OPERATOR_GONE,
                                buttons=[Button(title=texts.CANCEL_BUTTON, payload="flow:handoff:cancel")],
                            )
                        ],
                    )
                    log.info("operator gone: conversation back in the queue", extra={"conversation": cid})
                    handled += 1
            elif ts - last > self.idle_timeout:
                try:
                    await self.resolve(ticket.operator, cid, supervisor=True, note=texts.IDLE_CLOSED)
                except Refused:
                    continue  # the operator acted a moment ago
                log.info("idle conversation with an operator closed", extra={"conversation": cid})
                handled += 1
        return handled

    async def check_waiting(self) -> int:
        """Offer a callback to clients nobody took in time (or when hours end)."""
        now = self.now()
        ts, is_open, offered = now.timestamp(), self.schedule.is_open(now), 0
        for ticket in await self.queue.waiting():
            if is_open:
                if not await self.queue.mark_offered(ticket.conversation_id, ts, ts - self.wait_timeout):
                    continue
                text = texts.TIMEOUT_OFFER
            else:
                if ticket.offered_at or not await self.queue.mark_offered(
                    ticket.conversation_id, ts, ticket.enqueued_at
                ):
                    continue
                text = texts.CLOSED_OFFER.format(hours=self.schedule.describe())
            buttons = [
                Button(title=texts.CALLBACK_BUTTON, payload="flow:handoff:callback"),
                Button(title=texts.BOT_BUTTON, payload="flow:handoff:bot"),
            ]
            if is_open:
                buttons.append(Button(title=texts.WAIT_BUTTON, payload="flow:handoff:wait"))
            await self._deliver(ticket.conversation_id, [Reply(kind=ReplyKind.handoff, text=text, buttons=buttons)])
            offered += 1
        return offered
