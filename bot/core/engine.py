"""The conversation engine: one message in, the replies out.

Channels call `Engine.handle(Incoming)`. One conversation is processed by one
worker at a time (Redis lock); the state is loaded, the message understood
(text) or interpreted (button payload), a decision taken, the state saved,
and the turn written to history and to the anonymized event log.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from bot import metrics
from bot.flows.base import Effect, EffectContext, EffectHandler, Flow, FlowContext, FlowEvent, Step, frozen_profile
from bot.store.conversations import ConversationBusy, ConversationState, ConversationStore, Pending, ProfileStore
from bot.store.events import EventLog
from bot.store.ratelimit import RateLimiter
from knowledge_base.loader import KnowledgeBase
from knowledge_base.models import LIFE_SITUATIONS, SEGMENT_TITLES, SEGMENT_TOPICS, Entry, Segment
from knowledge_base.other_services import OtherServices

from . import answers, language, texts
from .client_facts import replaces, segment_mentioned
from .dialogue import Decision, decide, elsewhere, is_cancel, parse_payload, suggestible, yes_or_no
from .keywords import asks_for
from .messages import Button, Candidate, ConversationInfo, Incoming, Reply, ReplyKind, TurnResult, Understanding
from .texts import NOT_SUGGESTED
from .understanding import Understander

log = logging.getLogger("core.engine")

OPERATOR_PAYLOAD = "do:ask_operator"
# Decisions after which a detour mid-flow still waits for the client (a question of its own,
# options, the operator): the flow's question is not asked on top of them.
NOT_SERVED = frozenset({"clarify", "options", "handoff", "resolved:no", "clarify:no"})
RESUME_PAYLOAD = "rs"  # «Продолжить заявку»: the active flow's question again
# Intents that can be an answer to a flow's question rather than a new request.
FLOW_ANSWER_INTENTS = {"affirm", "deny", "thank", "greet", "set_segment", "out_of_scope", "faq"}
CANCEL_PAYLOAD = "do:cancel"
START_TOPICS = ("register_ip", "support_measures", "tax_regimes")


def answer_text(entry: Entry, segment: str | None) -> str:
    """A knowledge-base answer as the client gets it: the segment's variant, then its source."""
    source = texts.SOURCE.format(name=entry.source.name, url=entry.source.url)
    return f"{entry.answer_for(segment)}\n\n{source}"


@dataclass
class Turn:
    """Everything one message may read or change; flushed when it is done."""

    state: ConversationState
    profile: dict[str, str]
    text: str | None = None  # the client's text this turn, if any
    replies: list[Reply] = field(default_factory=list)
    profile_updates: dict[str, str] = field(default_factory=dict)
    profile_removed: set[str] = field(default_factory=set)  # fields a step deleted
    decision: str = "none"
    # Run once the turn is saved and logged, still under the conversation's lock
    # (an erasure must come after everything the turn itself writes); what they return is said.
    after: list[Callable[[], Awaitable[Sequence[Reply] | None]]] = field(default_factory=list)
    reprompt: Any = None  # a flow set aside, now back: ask its question again
    # What the client got this turn («answer», or the flow whose outcome completes a
    # service: an application, a booking, a payment), for a rating afterwards.
    completed: list[str] = field(default_factory=list)

    def say(self, kind: ReplyKind, text: str, buttons: list[Button] | None = None, **extra: Any) -> Reply:
        reply = Reply(kind=kind, text=text, buttons=buttons or [], **extra)
        self.replies.append(reply)
        return reply


# An intent the core hands to another module (a flow, the operator handoff).
IntentHandler = Callable[["Engine", Turn, Understanding | None], Awaitable[None]]
# Sees every turn after it was served, before it is saved (e.g. to ask for a rating).
AfterTurn = Callable[["Engine", Turn], Awaitable[None]]
# Sees every message first; returns True when it consumed it (e.g. the
# conversation is with a human operator, so the bot stays silent).
Interceptor = Callable[["Engine", Turn, Incoming], Awaitable[bool]]
# One outcome leads to another step, whose effects may report again: a loop
# this deep is a bug in a flow, not a conversation.
MAX_OUTCOMES_PER_TURN = 20
MAX_SUSPENDED = 3  # flows set aside at once (the oldest is dropped)


class FlowWiringError(RuntimeError):
    """A flow that cannot run as registered (found at start-up, not mid-conversation)."""


_STALE = object()  # a stored flow state that no longer fits its flow


def _starter(flow: Flow, intent: str) -> IntentHandler:
    """Starts `flow` for `intent`, typed or pressed (a `do:<intent>` button has no
    understanding, but the flow must still know which of its intents started it)."""

    async def start(engine: Engine, turn: Turn, u: Understanding | None) -> None:
        event = FlowEvent(
            intent=u.intent if u else intent, score=u.confidence if u else 1.0, entities=u.entities if u else {}
        )
        await engine.run_step(turn, flow, flow.start(engine.flow_context(turn), event))

    return start


class Engine:
    def __init__(
        self,
        *,
        conversations: ConversationStore,
        profiles: ProfileStore,
        events: EventLog,
        understander: Understander,
        kb: KnowledgeBase,
        org_name: str,
        assistant_name: str,
        rate_limiter: RateLimiter | None = None,
    ):
        self.conversations = conversations
        self.rate_limiter = rate_limiter
        self.profiles = profiles
        self.events = events
        self.understander = understander
        self.kb = kb
        self.cal = understander.cal
        self.org_name = org_name
        self.assistant_name = assistant_name
        # Other modules register here (handoff, payments, consent …).
        self.intent_handlers: dict[str, IntentHandler] = {"ask_operator": Engine._default_handoff}
        self.flows: dict[str, Flow] = {}
        self.effect_handlers: dict[type[Effect], EffectHandler] = {}
        self.interceptors: list[Interceptor] = []
        # Buttons a module puts under a knowledge-base answer (topic id → buttons), e.g. «Оплатить»
        # under an answer that offers to pay.
        self.answer_buttons: list[Callable[[str], Sequence[Button]]] = []
        self.after_turn: list[AfterTurn] = []

    def handle_effects(self, handlers: Mapping[type[Effect], EffectHandler]) -> None:
        """Register the handlers a module provides for effect types (its own flows' or a
        shared step's, such as the personal-data consent gate)."""
        for kind, handler in handlers.items():
            if kind in self.effect_handlers and self.effect_handlers[kind] is not handler:
                raise FlowWiringError(f"two handlers for the effect {kind.__name__}")
            self.effect_handlers[kind] = handler

    def register_flow(self, flow: Flow, effects: Mapping[Any, Any] | None = None) -> None:
        """Add a flow (and the handlers of its effects). Every effect the flow declares
        must have a handler by now: a missing one stops the start-up, with its name."""
        if flow.name in self.flows:
            raise FlowWiringError(f"two flows are named {flow.name!r}")
        self.handle_effects(effects or {})
        missing = [kind.__name__ for kind in flow.effects if kind not in self.effect_handlers]
        if missing:
            raise FlowWiringError(
                f"flow {flow.name!r} declares effects nobody handles: {', '.join(missing)} "
                f"(register their handlers before the flow, or install the module "
                f"that provides them first)"
            )
        self.flows[flow.name] = flow

        for intent in flow.start_intents:
            self.intent_handlers[intent] = _starter(flow, intent)

    # ------------------------------------------------------------------ entry
    async def handle(self, msg: Incoming) -> TurnResult:
        started = time.perf_counter()
        try:
            return await self._handle(msg, started)
        except ConversationBusy:
            metrics.turn(msg.channel, "busy", time.perf_counter() - started)
            raise
        except Exception:
            metrics.turn(msg.channel, "failed", time.perf_counter() - started)
            raise

    async def _handle(self, msg: Incoming, started: float) -> TurnResult:
        wait = await self.rate_limiter.retry_after(msg.client_id) if self.rate_limiter else 0
        if wait:
            await self.events.turn(
                conversation_id=msg.conversation_id,
                channel=msg.channel,
                text=msg.text,
                payload=msg.payload,
                intent=None,
                faq_id=None,
                confidence=None,
                ranking=[],
                reply_kinds=["error"],
                decision="rate_limited",
                latency_ms=(time.perf_counter() - started) * 1000,
            )
            metrics.turn(msg.channel, "rate_limited", time.perf_counter() - started)
            return TurnResult(
                conversation_id=msg.conversation_id,
                replies=[Reply(kind=ReplyKind.error, text=texts.RATE_LIMITED.format(seconds=wait))],
            )
        async with self.conversations.lock(msg.conversation_id):
            if msg.receipt and (kept := await self.conversations.receipt(msg.conversation_id, msg.receipt)):
                metrics.turn(msg.channel, "repeated", time.perf_counter() - started)
                return TurnResult.model_validate_json(kept)  # this request's turn was taken already
            state = await self.conversations.load(msg.conversation_id) or ConversationState(
                conversation_id=msg.conversation_id, client_id=msg.client_id, channel=msg.channel
            )
            profile = await self.profiles.touch(msg.client_id, msg.channel)
            turn = Turn(state=state, profile=profile, text=msg.text)
            understanding = None
            for intercept in self.interceptors:
                if await intercept(self, turn, msg):
                    turn.decision = "intercepted" if turn.decision == "none" else turn.decision
                    break
            else:
                understanding = await self._dispatch(turn, msg)
            for hook in self.after_turn:
                await hook(self, turn)
            self._offer_operator(turn)
            await self._save_profile(msg.client_id, turn)
            state.turns += 1
            receipt = (msg.receipt, self._result(msg, turn, understanding).model_dump_json()) if msg.receipt else None
            await self.conversations.save(state, *self._history_entries(msg, turn, understanding), receipt=receipt)
            await self._log_turn(msg, turn, understanding, started)
            for job in turn.after:
                turn.replies.extend(await job() or ())
        return self._result(msg, turn, understanding)

    @staticmethod
    def _result(msg: Incoming, turn: Turn, understanding: Understanding | None) -> TurnResult:
        return TurnResult(
            conversation_id=msg.conversation_id,
            replies=turn.replies,
            understanding=understanding,
            state=ConversationInfo(flow=turn.state.flow, with_operator=turn.state.with_operator),
        )

    async def system_turn(
        self, conversation_id: str, act: Callable[[Turn], Awaitable[None]]
    ) -> tuple[ConversationState, list[Reply]] | None:
        """A turn the service takes by itself (an operator resolved, a timer fired): under
        the conversation's lock, with its state and profile, so flows move only through the
        engine here too. Returns the state and what `act` said (the caller delivers it and
        writes it to the history), or None when there is no such conversation."""
        async with self.conversations.lock(conversation_id):
            state = await self.conversations.load(conversation_id)
            if state is None:
                return None
            turn = Turn(state=state, profile=await self.profiles.get(state.client_id))
            await act(turn)
            await self._save_profile(state.client_id, turn)
            await self.conversations.save(state)
            for job in turn.after:
                turn.replies.extend(await job() or ())
        return state, turn.replies

    async def completed_outside(
        self, conversation_id: str, service: str, first: Callable[[Turn], Awaitable[None]] | None = None
    ) -> tuple[ConversationState, list[Reply]] | None:
        """A service completed outside the client's turn (a payment the gateway confirmed by
        its webhook): `first` (e.g. the flow that waited for it ends), then the after-turn
        hooks see it as if it were completed in a turn (a rating may be asked, R-14). As
        `system_turn`: the caller delivers what was said and writes it to the history."""

        async def act(turn: Turn) -> None:
            if first is not None:
                await first(turn)
            turn.completed.append(service)
            for hook in self.after_turn:
                await hook(self, turn)

        return await self.system_turn(conversation_id, act)

    async def _save_profile(self, client_id: str, turn: Turn) -> None:
        if turn.profile_updates:
            await self.profiles.set(client_id, **turn.profile_updates)
        if turn.profile_removed:
            await self.profiles.remove(client_id, *turn.profile_removed)

    async def _dispatch(self, turn: Turn, msg: Incoming) -> Understanding | None:
        if msg.payload:
            await self._press(turn, msg.payload)
            return None
        if msg.text and turn.state.flow and is_cancel(msg.text):
            await self._cancel(turn)
            return None
        if msg.text and msg.text.strip():
            understanding = await self.understander.understand(msg.text.strip())
            await self._on_text(turn, understanding)
            return understanding
        turn.say(ReplyKind.error, texts.EMPTY_MESSAGE)
        return None

    @staticmethod
    def _history_entries(msg: Incoming, turn: Turn, u: Understanding | None) -> list[dict[str, Any]]:
        now = time.time()
        client_entry = {"ts": now, "from": "client", "text": msg.text, "payload": msg.payload, "channel": msg.channel}
        if u:
            client_entry.update(intent=u.intent, faq_id=u.faq_id, confidence=u.confidence)
        return [client_entry] + [
            {"ts": now, "from": "bot", "kind": r.kind.value, "text": r.text, "faq_id": r.faq_id} for r in turn.replies
        ]

    async def _log_turn(self, msg: Incoming, turn: Turn, u: Understanding | None, started: float) -> None:
        metrics.turn(msg.channel, turn.decision, time.perf_counter() - started)
        await self.events.turn(
            conversation_id=msg.conversation_id,
            channel=msg.channel,
            text=msg.text,
            payload=msg.payload,
            intent=u.intent if u else None,
            faq_id=u.faq_id if u else None,
            confidence=u.confidence if u else None,
            ranking=[c.model_dump() for c in u.ranking[:3]] if u else [],
            reply_kinds=[r.kind.value for r in turn.replies],
            decision=turn.decision,
            latency_ms=(time.perf_counter() - started) * 1000,
        )

    # ------------------------------------------------------------ text input
    async def _on_text(self, turn: Turn, u: Understanding) -> None:
        self.note_client_facts(turn, turn.text or "", u.entities)
        flow = self.flows.get(turn.state.flow or "")
        state = self._typed_state(turn, flow) if flow else None
        if flow and state is _STALE:
            await self._stale(turn, flow)
            return
        if flow and await self._in_flow(turn, flow, state, u):
            return
        if flow and turn.state.flow == flow.name:  # a detour: answered, then the flow's question again
            await self._serve(turn, u)
            if self._served(turn):
                await self.back_to(turn, flow)
            return
        await self._serve(turn, u)

    async def _serve(self, turn: Turn, u: Understanding) -> None:
        """A message that is not an answer to a flow's question: a request of its own."""
        pending, turn.state.pending = turn.state.pending, None
        if pending and await self._answer_pending(turn, pending, u):
            return
        if language.foreign(turn.text):
            turn.decision = "foreign_language"
            operator = Button(title=texts.OPERATOR_BUTTON_EN, payload=OPERATOR_PAYLOAD)
            turn.say(ReplyKind.info, texts.RUSSIAN_ONLY, [operator])
            return
        decision = decide(u.ranking, self.cal, len((turn.text or "").split()))
        turn.decision = decision.value
        read = u.normalization.text if u.normalization else turn.text or ""
        if u.other_service and elsewhere(u.ranking, decision, OtherServices.has_business_reading(read), self.cal):
            self._redirect(turn, u.other_service)
            return  # the centre's own actions are not for another authority's service
        if decision is Decision.act:
            await self._act(turn, u.ranking[0], u)
        elif decision is Decision.clarify:
            self._clarify(turn, u.ranking)
        elif decision is Decision.options:
            self._options(turn, suggestible(u.ranking), texts.OPTIONS)
        else:
            self._out_of_scope(turn)
        self._offer_actions(turn, u)

    def _redirect(self, turn: Turn, service_id: str) -> None:
        """A public service of another authority: say where it is provided (with the source)
        and keep the operator at hand, instead of a business answer that shares a word."""
        service = self.understander.other_services[service_id]
        turn.decision = f"elsewhere:{service.id}"
        turn.say(
            ReplyKind.info,
            texts.OTHER_SERVICE.format(
                title=service.title, where=service.where.strip(), source=service.source.name, url=service.source.url
            ),
            [
                Button(title=service.source.name[:60], url=str(service.source.url)),
                Button(title=texts.OPERATOR_BUTTON, payload=OPERATOR_PAYLOAD),
            ],
        )

    def _offer_actions(self, turn: Turn, u: Understanding) -> None:
        """An action the message asked for beside its question is offered first, one
        button each (never dropped because the question was answered)."""
        offered = {b.payload for r in turn.replies for b in r.buttons}
        started = turn.state.flow
        wanted = [
            a
            for a in u.actions
            if a in texts.INTENT_TITLES
            and f"do:{a}" not in offered
            and not (started and a in getattr(self.flows.get(started), "start_intents", ()))
        ]
        if not wanted:
            return
        buttons = [Button(title=texts.INTENT_TITLES[a], payload=f"do:{a}") for a in wanted]
        text = (
            texts.ACTION_OFFER_ONE.format(title=texts.INTENT_TITLES[wanted[0]])
            if len(wanted) == 1
            else texts.ACTION_OFFER
        )
        turn.replies.insert(0, Reply(kind=ReplyKind.info, text=text, buttons=buttons))

    # ------------------------------------------------------- the flow's turn
    # One policy for every flow (standard §4.6.5.4–6): a message while a flow waits is
    # first read as an answer to its question (a typed yes / no, a value the step can
    # take); a clear request for something else interrupts the flow, which keeps its
    # state and asks its question again once the request is served; when it is not
    # clear which, the client is asked («Продолжим заявку или …?»).
    async def _in_flow(self, turn: Turn, flow: Flow, state: Any, u: Understanding) -> bool:
        """True when the flow took the message (or the client is asked which they meant);
        False: serve it as a request of its own (the flow stays where it is)."""
        text = turn.text or ""
        top = u.ranking[0]
        typed = answers.yes_or_no(text)
        fits = self._fits(flow, state, text, turn)
        pending = turn.state.pending
        turn.state.pending = None
        # «да, помогло» after an answer given mid-flow is the feedback on it, not a field's value
        if (
            pending
            and typed is not None
            and (
                pending.kind == "clarify"
                or (pending.kind == "resolved" and (answers.mentions_help(text) or fits is False))
            )
        ):
            turn.state.pending = pending
            return False
        if self._operator_requested(flow, state, u, text):
            return False
        # (only a flow that reads its answers can say a text is none of its own)
        reads = getattr(flow, "fits", None) is not None
        if reads and not fits and typed is None and (back := self._resume_fitting(turn, text, u)):
            flow, state, fits = *back, True
        if not fits and language.foreign(text):
            return False  # said in Russian only: the reply in the client's language, then the question
        if typed is not None:  # «согласна», «да, конечно», «нет, спасибо»: an answer to the step
            event = FlowEvent(text=text, intent="affirm" if typed else "deny", score=1.0, entities=u.entities)
        else:
            event = FlowEvent(text=text, intent=top.intent, score=top.score, entities=u.entities)
            if not fits and self._interrupts(flow, state, u, fits):
                return False
            if fits is False and self._unsure(u, text) and self._title(top.key):
                self._ask_which(turn, flow, u)
                return True
            if fits is False and text.rstrip().endswith("?"):
                return False  # a question, not the value: offered as options, or out of scope
        step = flow.step(state, event, self.flow_context(turn))
        if not step.passthrough:
            await self.run_step(turn, flow, step)
            return True
        if step.state is None:  # the flow is over and did not take the text: a new request
            turn.state.flow, turn.state.flow_state = None, {}
        return False

    def _resume_fitting(self, turn: Turn, text: str, u: Understanding) -> tuple[Flow, Any] | None:
        """A flow set aside whose question this text answers, when the active flow's does not
        and it is no request of its own («17:00» typed for the booking while a payment asks
        «Оплатим её?»): that flow takes the conversation back and the active one waits set
        aside in its place (asked again when the other ends)."""
        if decide(u.ranking, self.cal, len(text.split())) is Decision.act:
            return None
        for i in range(len(turn.state.suspended) - 1, -1, -1):
            item = turn.state.suspended[i]
            flow = self.flows.get(str(item.get("flow")))
            if flow is None:
                continue
            try:
                state = flow.State.model_validate(item.get("state") or {})
            except ValidationError:
                continue
            if self._fits(flow, state, text, turn):
                active = {"flow": turn.state.flow, "state": turn.state.flow_state}
                rest = [*turn.state.suspended[:i], *turn.state.suspended[i + 1 :], active]
                turn.state.suspended = rest[-MAX_SUSPENDED:]
                turn.state.flow, turn.state.flow_state = flow.name, dict(item.get("state") or {})
                return flow, state
        return None

    def _fits(self, flow: Flow, state: Any, text: str, turn: Turn) -> bool | None:
        """Does the text answer the step (a value it can take)? None: the flow does not say."""
        check = getattr(flow, "fits", None)
        return None if check is None else check(state, text, self.flow_context(turn))

    def _operator_requested(self, flow: Flow, flow_state: Any, u: Understanding, text: str) -> bool:
        """A human is always reachable (standard §4.6.5.10). But while the flow waits
        for free text, an unusual surname can look like a weak operator request:
        there the guess must be near certain or be said in words."""
        top = u.ranking[0]
        waits_for_text = getattr(flow, "accepts_free_text", None)
        free_text = bool(waits_for_text and waits_for_text(flow_state))
        return (
            top.intent == "ask_operator"
            and top.score >= self.cal.answer
            and (not free_text or top.score >= self.cal.short_answer or asks_for(text, "ask_operator"))
        )

    def _unsure(self, u: Understanding, text: str) -> bool:
        """A message that is not the step's value and looks like a request the NLU is not
        sure of (a value mistyped has digits in it: the step says what is wrong instead)."""
        top = u.ranking[0]
        if top.intent in NOT_SUGGESTED or any(ch.isdigit() for ch in text):
            return False
        return decide(u.ranking, self.cal, len(text.split())) is Decision.clarify

    def _ask_which(self, turn: Turn, flow: Flow, u: Understanding) -> None:
        top = u.ranking[0]
        title = self._title(top.key) or ""
        what = getattr(flow, "what", None) or texts.FLOW_WHAT
        turn.decision = f"flow:{flow.name}:which"
        turn.say(
            ReplyKind.clarify,
            texts.CONTINUE_OR.format(what=what, title=title),
            [
                Button(title=texts.CONTINUE_BUTTON.format(what=what), payload=RESUME_PAYLOAD),
                Button(title=title, payload=top.key),
            ],
        )

    def _served(self, turn: Turn) -> bool:
        """Was the detour served (an answer given, an action done), so the flow may ask again?"""
        return bool(turn.replies) and turn.decision not in NOT_SERVED and not turn.state.with_operator

    async def back_to(self, turn: Turn, flow: Flow, lead: str | None = texts.RESUMED) -> None:
        """The active `flow`'s pending question again, after a detour (an answer, an operator)."""
        if turn.state.flow != flow.name or not hasattr(flow, "reprompt"):
            return
        state = self._typed_state(turn, flow)
        if state is _STALE:
            return
        pending = turn.state.pending
        if lead:
            turn.say(ReplyKind.info, lead)
        await self.run_step(turn, flow, flow.reprompt(state, self.flow_context(turn)))
        turn.state.pending = pending  # «Помог ли ответ?» still stands beside the question

    @staticmethod
    def note_client_facts(turn: Turn, text: str, entities: Mapping[str, str]) -> None:
        """Who the client is and what they are about, said in passing («я самозанятый
        фотограф, …»), kept in the profile so this and later answers fit (R-5, R-6).
        Public for a module that takes a message before it is understood."""
        segment = segment_mentioned(text)
        if segment and replaces(turn.profile.get("segment"), segment):
            turn.profile["segment"] = turn.profile_updates["segment"] = segment.value
        situation = entities.get("life_situation")
        if situation and situation in LIFE_SITUATIONS:
            turn.profile["life_situation"] = turn.profile_updates["life_situation"] = situation

    def _interrupts(self, flow: Flow, flow_state: Any, u: Understanding, fits: bool | None = None) -> bool:
        """A clear request for something else (the operator, history, another
        service) wins over the step a flow is waiting for; answers to the step
        («да», «нет», a number, a name, a question about it) still go to the flow.
        The flow keeps its state, so the client can come back to it."""
        top = u.ranking[0]
        if top.intent in flow.start_intents or decide(u.ranking, self.cal) is not Decision.act:
            return False
        if fits is False:  # not the step's value: any clear request or question wins
            return top.intent not in NOT_SUGGESTED
        waits_for_text = getattr(flow, "accepts_free_text", None)
        if waits_for_text and waits_for_text(flow_state):
            return False  # a flow that cannot tell its values: a free-text step takes the text
        return top.intent not in FLOW_ANSWER_INTENTS

    async def _answer_pending(self, turn: Turn, pending: Pending, u: Understanding) -> bool:
        top = u.ranking[0]
        if pending.kind == "segment" and u.entities.get("segment"):
            self._set_segment(turn, u.entities["segment"])
            return True
        typed = answers.yes_or_no(turn.text)  # «да, помогло», «нет, спасибо»: read before the NLU's guess
        answer = typed if typed is not None else yes_or_no(top.intent, top.score)
        if answer is None or (pending.kind == "clarify" and typed is None and top.intent == "thank"):
            return False
        turn.decision = f"{pending.kind}:{'yes' if answer else 'no'}"
        if pending.kind == "resolved":
            self._resolved(turn, answer, pending)
        elif pending.kind == "clarify":
            if answer and pending.target:
                await self._press(turn, pending.target)
            else:
                self._options_from_keys(turn, pending.alternatives, texts.OPTIONS_AFTER_NO)
        else:
            return False
        return True

    # ----------------------------------------------------------- button input
    async def _press(self, turn: Turn, raw: str) -> None:
        payload = parse_payload(raw)
        turn.decision = f"button:{payload.action}" if payload else "button:unknown"
        pending, turn.state.pending = turn.state.pending, None
        if payload is None:
            turn.say(ReplyKind.info, texts.UNKNOWN_BUTTON)
        elif payload.action == "faq" and payload.value in self.kb:
            self._answer(turn, payload.value, [])
            if flow := self.flows.get(turn.state.flow or ""):  # a question asked mid-flow: then back to it
                await self.back_to(turn, flow)
        elif payload.action == "rs":
            flow = self.flows.get(turn.state.flow or "")
            if flow is None:
                turn.say(ReplyKind.info, texts.NOTHING_TO_CONTINUE, self._start_buttons())
            else:
                await self.back_to(turn, flow, lead=None)
        elif payload.action == "do":
            await self._act(turn, Candidate(intent=payload.value, score=1.0), None)
        elif payload.action in {"ok", "nok"}:
            same = pending if pending and pending.kind == "resolved" and pending.target == payload.value else None
            self._resolved(turn, payload.action == "ok", same or Pending(kind="resolved", target=payload.value))
            if payload.action == "ok" and (flow := self.flows.get(turn.state.flow or "")):
                await self.back_to(turn, flow)  # «Да, помогло» under an answer given mid-flow
        elif payload.action == "cn":
            self._options_from_keys(turn, pending.alternatives if pending else [], texts.OPTIONS_AFTER_NO)
        elif payload.action == "seg":
            self._set_segment(turn, payload.value)
        elif payload.action == "flow":
            await self._flow_button(turn, payload.value)
        else:
            turn.say(ReplyKind.info, texts.UNKNOWN_BUTTON)

    # ---------------------------------------------------------------- actions
    async def _act(self, turn: Turn, top: Candidate, u: Understanding | None) -> None:
        intent = top.intent
        if intent == "faq" and top.faq_id is not None and top.faq_id in self.kb:
            self._answer(turn, top.faq_id, u.ranking if u else [])
        elif intent == "cancel":
            await self._cancel(turn)
        elif intent in self.intent_handlers:
            await self.intent_handlers[intent](self, turn, u)
        elif intent == "greet":
            turn.say(ReplyKind.info, texts.greeting(self.org_name, self.assistant_name), self._start_buttons())
        elif intent == "help":
            turn.say(ReplyKind.info, texts.CAPABILITIES, self._start_buttons())
        elif intent == "thank":
            turn.say(ReplyKind.info, texts.THANKS_REPLY)
        elif intent == "goodbye":
            turn.say(ReplyKind.info, texts.GOODBYE)
        elif intent in {"affirm", "deny"}:
            turn.say(ReplyKind.info, texts.UNCLEAR_YES_NO)
        elif intent == "set_segment":
            segment = u.entities.get("segment") if u else None
            if segment:
                self._set_segment(turn, segment)
            else:
                self._ask_segment(turn)
        elif intent == "out_of_scope":
            self._out_of_scope(turn)
        elif intent in texts.INTENT_TITLES:
            turn.say(ReplyKind.info, texts.NOT_AVAILABLE_YET.format(title=texts.INTENT_TITLES[intent]))
        else:
            turn.say(ReplyKind.info, texts.UNKNOWN_BUTTON)

    def _answer(self, turn: Turn, topic_id: str, ranking: list[Candidate]) -> None:
        entry = self.kb[topic_id]
        # The life situation the client is in, as far as their last question tells.
        turn.profile["life_situation"] = turn.profile_updates["life_situation"] = entry.life_situation
        turn.say(
            ReplyKind.answer,
            answer_text(entry, turn.profile.get("segment")),
            [b for extra in self.answer_buttons for b in extra(topic_id)],
            faq_id=topic_id,
            source_url=str(entry.source.url),
        )
        others = [c.key for c in suggestible(ranking) if c.faq_id != topic_id]
        others += [f"faq:{r}" for r in entry.related]
        turn.state.pending = Pending(kind="resolved", target=topic_id, alternatives=list(dict.fromkeys(others))[:6])
        turn.say(
            ReplyKind.ask_resolved,
            texts.ASK_RESOLVED,
            [
                Button(title=texts.YES_HELPED, payload=f"ok:{topic_id}"),
                Button(title=texts.NO_HELPED, payload=f"nok:{topic_id}"),
                Button(title=texts.OPERATOR_BUTTON, payload=OPERATOR_PAYLOAD),
            ],
        )

    def _resolved(self, turn: Turn, helped: bool, pending: Pending) -> None:
        if helped:
            turn.say(ReplyKind.info, texts.GLAD_TO_HELP)
            turn.completed.append("answer")
            return
        keys = pending.alternatives
        if not keys and pending.target is not None and pending.target in self.kb:
            keys = [f"faq:{r}" for r in self.kb[pending.target].related]
        if keys:
            self._options_from_keys(turn, keys, texts.NOT_RESOLVED)
        else:
            turn.say(ReplyKind.options, texts.NOT_RESOLVED_NO_OPTIONS)

    def _clarify(self, turn: Turn, ranking: list[Candidate]) -> None:
        top, rest = ranking[0], suggestible(ranking[1:])
        turn.state.pending = Pending(kind="clarify", target=top.key, alternatives=[c.key for c in rest[:5]])
        turn.say(
            ReplyKind.clarify,
            texts.CLARIFY.format(title=self._title(top.key)),
            [
                Button(title=texts.YES, payload=top.key),
                Button(title=texts.NO, payload="cn"),
            ],
        )

    def _options(self, turn: Turn, candidates: list[Candidate], lead: str) -> None:
        self._options_from_keys(turn, [c.key for c in candidates], lead)

    def _options_from_keys(self, turn: Turn, keys: list[str], lead: str) -> None:
        titled = [(k, title) for k in dict.fromkeys(keys) if (title := self._title(k))][:3]
        if not titled:
            self._out_of_scope(turn)
            return
        buttons = [Button(title=title, payload=k) for k, title in titled]
        buttons.append(Button(title=texts.OTHER_BUTTON, payload=OPERATOR_PAYLOAD))
        turn.say(ReplyKind.options, lead, buttons)

    def _out_of_scope(self, turn: Turn) -> None:
        turn.decision = "out_of_scope"
        turn.say(ReplyKind.info, texts.OUT_OF_SCOPE, self._start_buttons())

    def _ask_segment(self, turn: Turn) -> None:
        turn.state.pending = Pending(kind="segment")
        turn.say(
            ReplyKind.flow,
            texts.ASK_SEGMENT,
            [Button(title=title, payload=f"seg:{seg.value}") for seg, title in SEGMENT_TITLES.items()],
        )

    def _set_segment(self, turn: Turn, value: str) -> None:
        try:
            segment = Segment(value)
        except ValueError:
            self._ask_segment(turn)
            return
        turn.profile["segment"] = turn.profile_updates["segment"] = segment.value
        title = SEGMENT_TITLES.get(segment, "универсальный профиль").lower()
        topics = [t for t in SEGMENT_TOPICS.get(segment, ()) if t in self.kb]
        turn.say(
            ReplyKind.info,
            texts.SEGMENT_SAVED.format(title=title),
            [Button(title=self.kb[t].title, payload=f"faq:{t}") for t in topics],
        )

    # ------------------------------------------------------------------ flows
    # The engine's API for modules: build a flow's context, start a flow, run a
    # step a module made (e.g. a button that works outside its flow, also aside of
    # another flow), end flows whose data is gone, and read what the conversation
    # was last about.
    def flow_context(self, turn: Turn) -> FlowContext:
        return FlowContext(
            conversation_id=turn.state.conversation_id,
            client_id=turn.state.client_id,
            channel=turn.state.channel,
            profile=frozen_profile(turn.profile),
            now=datetime.now(UTC),
        )

    async def start_flow(self, turn: Turn, name: str, event: FlowEvent | None = None) -> None:
        flow = self.flows[name]
        await self.run_step(turn, flow, flow.start(self.flow_context(turn), event or FlowEvent()))

    async def last_answered_topic(self, turn: Turn, within: int = 20) -> str | None:
        """The knowledge-base topic of the last answer in this conversation, if recent."""
        return (await self.last_answered(turn, within))[0]

    async def last_answered(self, turn: Turn, within: int = 20) -> tuple[str | None, str]:
        """The topic of the last answer in this conversation, if recent, and the client's
        words it answered (masked as stored; "" when not kept)."""
        history = await self.conversations.history(turn.state.conversation_id, limit=within)
        for i in range(len(history) - 1, -1, -1):
            entry = history[i]
            if entry.get("from") == "bot" and entry.get("faq_id"):
                asked: dict[str, Any] = next((e for e in reversed(history[:i]) if e.get("from") == "client"), {})
                return str(entry["faq_id"]), str(asked.get("text") or "")
        return None, ""

    def active_state(self, turn: Turn, flow: Flow) -> Any:
        """The state of `flow` when it is the conversation's active flow (as its model), else
        None — for a module that runs one of the flow's own steps (e.g. a status told)."""
        if turn.state.flow != flow.name:
            return None
        state = self._typed_state(turn, flow)
        return None if state is _STALE else state

    def _typed_state(self, turn: Turn, flow: Flow) -> Any:
        """The active flow's state as its model; _STALE when what is stored no longer
        fits the flow (e.g. saved by an older version)."""
        try:
            return flow.State.model_validate(turn.state.flow_state)
        except ValidationError:
            log.warning("stale state of flow %s dropped", flow.name, extra={"conversation": turn.state.conversation_id})
            return _STALE

    async def _stale(self, turn: Turn, flow: Flow) -> None:
        turn.state.flow, turn.state.flow_state = None, {}
        turn.decision = f"flow:{flow.name}:stale"
        turn.say(ReplyKind.info, texts.FLOW_STALE, self._start_buttons())

    async def _flow_button(self, turn: Turn, value: str) -> None:
        name, _, choice = value.partition(":")
        flow = self.flows.get(name)
        # No flow offers a button without a value; flows read an empty payload as "no button".
        if flow is None or turn.state.flow != name or not choice:
            turn.say(ReplyKind.info, texts.UNKNOWN_BUTTON)
            return
        state = self._typed_state(turn, flow)
        if state is _STALE:
            await self._stale(turn, flow)
            return
        step = flow.step(state, FlowEvent(payload=choice), self.flow_context(turn))
        if step.passthrough:  # a press the flow did not take has no text to answer instead: never silence
            turn.say(ReplyKind.info, texts.UNKNOWN_BUTTON)
            return
        await self.run_step(turn, flow, step)

    async def _cancel(self, turn: Turn) -> None:
        """`do:cancel` or «отмена» mid-flow: end the active flow. A flow with an
        optional `cancel(state, ctx)` cleans up / says its own words."""
        turn.state.pending = None
        name = turn.state.flow
        flow = self.flows.get(name or "")
        cancel = getattr(flow, "cancel", None)
        state = self._typed_state(turn, flow) if flow is not None else None
        if flow is not None and cancel and state is not _STALE:
            step = cancel(state, self.flow_context(turn))
        else:
            step = Step(state=None)
        if flow is not None:
            await self.run_step(turn, flow, step)
        else:  # no flow, or one no longer registered
            turn.state.flow, turn.state.flow_state = None, {}
        turn.decision = "cancel"
        if name is None:
            turn.say(ReplyKind.info, texts.NOTHING_TO_CANCEL, self._start_buttons())
        elif not step.replies and turn.state.flow is None:
            turn.say(ReplyKind.info, texts.CANCELLED)

    async def run_step(self, turn: Turn, flow: Flow, step: Step[Any]) -> None:
        """Apply a step: replies, profile changes, the new state (only here is flow state
        written); then perform its effects, feeding each outcome back to the flow."""
        outcomes = 0
        queue: list[tuple[Step[Any], int]] = [(step, 0)]
        while queue:
            current, done = queue.pop()
            if done == 0:
                self._apply(turn, flow, current)
            for i in range(done, len(current.effects)):
                effect = current.effects[i]
                outcome = await self.effect_handlers[type(effect)](effect, self._effect_context(turn))
                if outcome is None:
                    continue
                outcomes += 1
                if outcome.completes_service:
                    turn.completed.append(flow.name)
                if turn.state.flow != flow.name or outcomes > MAX_OUTCOMES_PER_TURN:
                    raise FlowWiringError(
                        f"flow {flow.name!r}: the outcome {type(outcome).__name__} has no step "
                        f"to go to (the flow ended, or outcomes loop)"
                    )
                state = flow.State.model_validate(turn.state.flow_state)
                # The rest of this step's effects run after the outcome's whole step.
                queue.append((current, i + 1))
                queue.append((flow.step(state, FlowEvent(outcome=outcome), self.flow_context(turn)), 0))
                break
        await self._reprompt(turn)

    def _apply(self, turn: Turn, flow: Flow, step: Step[Any]) -> None:
        turn.decision = f"flow:{flow.name}"
        turn.replies.extend(step.replies)
        for name, value in step.profile.items():
            if value is None:
                turn.profile.pop(name, None)
                turn.profile_removed.add(name)
                turn.profile_updates.pop(name, None)
            else:
                turn.profile[name] = turn.profile_updates[name] = value
                turn.profile_removed.discard(name)
        self._drop_suspended(turn, step.ends)
        if step.state is not None:
            self._set_aside(turn, flow.name)
            turn.state.flow, turn.state.flow_state = flow.name, step.state.model_dump(mode="json")
        elif step.then is not None and step.then.flow in self.flows:
            # the flow handed back (e.g. the rating after an operator): it asks its question again
            self._drop_last_suspended(turn, step.then.flow)
            turn.state.flow, turn.state.flow_state = step.then.flow, dict(step.then.state)
            then = self.flows[step.then.flow]
            if hasattr(then, "reprompt"):
                turn.reprompt = then
        else:
            self._end_flow(turn)

    def _set_aside(self, turn: Turn, starting: str) -> None:
        """Another flow takes the conversation (a request that interrupted this one, a callback
        booked mid-form): the active one keeps its state and comes back when that one ends."""
        current = turn.state.flow
        if current and current != starting and current in self.flows:
            turn.state.suspended = [*turn.state.suspended, {"flow": current, "state": turn.state.flow_state}]
            turn.state.suspended = turn.state.suspended[-MAX_SUSPENDED:]
            turn.state.flow, turn.state.flow_state = None, {}

    @staticmethod
    def _drop_last_suspended(turn: Turn, name: str) -> None:
        """A flow handed back by another one is not also waiting set aside."""
        for i in range(len(turn.state.suspended) - 1, -1, -1):
            if turn.state.suspended[i].get("flow") == name:
                turn.state.suspended = turn.state.suspended[:i] + turn.state.suspended[i + 1 :]
                return

    async def run_aside(self, turn: Turn, flow: Flow, step: Step[Any]) -> None:
        """Run a step of `flow` while the client may be in another flow (a button under an
        old message, e.g. «Отписаться» or «Отменить запись»): the other flow is set aside
        and comes back, with its question asked again, when this one ends."""
        self._set_aside(turn, flow.name)
        await self.run_step(turn, flow, step)

    def end_flows(self, turn: Turn, names: Collection[str]) -> int:
        """End the flows named in this conversation, active or set aside, without a word (forms
        whose data was just deleted must not come back; e.g. in a `system_turn` of another of
        the client's conversations). A flow set aside under an ended one comes back. Returns
        how many ended."""
        ended = self._drop_suspended(turn, names)
        if turn.state.flow in names:
            self._end_flow(turn)
            ended += 1
        return ended

    @staticmethod
    def _drop_suspended(turn: Turn, names: Collection[str]) -> int:
        kept = [item for item in turn.state.suspended if item.get("flow") not in names]
        dropped = len(turn.state.suspended) - len(kept)
        if dropped:
            turn.state.suspended = kept
        return dropped

    def _end_flow(self, turn: Turn) -> None:
        """No flow any more, or back to the one set aside last (asking its question again)."""
        turn.state.flow, turn.state.flow_state = None, {}
        while turn.state.suspended:
            *rest, item = turn.state.suspended
            turn.state.suspended = rest
            flow = self.flows.get(str(item.get("flow")))
            if flow is None:
                continue
            turn.state.flow, turn.state.flow_state = flow.name, dict(item.get("state") or {})
            state = self._typed_state(turn, flow)
            if state is _STALE:
                turn.state.flow, turn.state.flow_state = None, {}
                continue
            if hasattr(flow, "reprompt"):
                turn.reprompt = flow  # asked once the step that ended the other flow is done
            else:
                turn.say(ReplyKind.info, texts.RESUMED)
            return

    async def _reprompt(self, turn: Turn) -> None:
        flow, turn.reprompt = turn.reprompt, None
        if flow is None or turn.state.flow != flow.name:
            return
        state = self._typed_state(turn, flow)
        if state is not _STALE:
            await self.run_step(turn, flow, flow.reprompt(state, self.flow_context(turn)))

    def _effect_context(self, turn: Turn) -> EffectContext:
        return EffectContext(
            conversation_id=turn.state.conversation_id,
            client_id=turn.state.client_id,
            channel=turn.state.channel,
            profile=frozen_profile(turn.profile),
            now=datetime.now(UTC),
            defer=turn.after.append,
        )

    # ---------------------------------------------------------------- helpers
    def _title(self, key: str) -> str | None:
        kind, _, value = key.partition(":")
        if kind == "faq":
            return self.kb[value].title if value in self.kb else None
        return texts.INTENT_TITLES.get(value)

    def _start_buttons(self) -> list[Button]:
        return [Button(title=self.kb[t].title, payload=f"faq:{t}") for t in START_TOPICS if t in self.kb]

    def _offer_operator(self, turn: Turn) -> None:
        """Every reply set leaves a way to a human (standard §4.6.5.10)."""
        if not turn.replies or any(r.kind in {ReplyKind.handoff, ReplyKind.operator} for r in turn.replies):
            return
        if any(b.payload == OPERATOR_PAYLOAD for r in turn.replies for b in r.buttons):
            return
        turn.replies[-1].buttons.append(Button(title=texts.OPERATOR_BUTTON, payload=OPERATOR_PAYLOAD))

    async def _default_handoff(self, turn: Turn, u: Understanding | None) -> None:
        """Placeholder until the handoff module registers its own handler."""
        turn.decision = "handoff"
        turn.say(ReplyKind.handoff, texts.HANDOFF_STARTED)
