"""The payment intents of the conversation.

pay_fee         starts the flow with the fee the conversation points to (after
                «как открыть ИП?» → the ИП registration fee)
payment_status  «прошла ли моя оплата?»: answered from the client's orders (or
                the one whose УИН was typed), at any time; a payment flow whose
                order is settled ends with that answer
after_paid      a payment confirmed outside the client's turn (the gateway's webhook,
                reconciliation, staff marking a QR payment): the flow that waited for
                it ends and the service may be rated, as after «Проверить оплату»
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence

from bot.channels.outbound import Outbound
from bot.core.engine import Engine, IntentHandler, Turn
from bot.core.messages import Button, ReplyKind, Understanding
from bot.flows.base import FlowEvent

from . import texts
from . import uin as uin_codes
from .catalogue import Catalogue
from .flow import CONTEXT_FEE, PayFlow
from .orders import Order
from .receipts import OrderFacts, status_list, status_reply
from .service import AfterPaid, PaymentService
from .status import OPEN, PaymentStatus

UIN_IN_TEXT = re.compile(r"(?<!\d)\d[\d \-]{18,30}\d(?!\d)")
RECENT_ORDERS = 3  # listed when the client asks without a УИН
PAY_PAYLOAD = "do:pay_fee"


def start_with_context(flow: PayFlow) -> IntentHandler:
    """Start the flow with the fee the conversation points to (the last FAQ answered)."""

    async def start(engine: Engine, turn: Turn, u: Understanding | None) -> None:
        entities = dict(u.entities) if u else {}
        topic, asked = await engine.last_answered(turn)
        suggested = flow.catalogue.for_topic(topic)
        if len(suggested) > 1:  # «сколько стоит пошлина за ООО?»: the fee the question named
            named = flow.catalogue.match_text(asked)
            suggested = [f for f in suggested if f in named] or suggested
        if len(suggested) == 1:
            entities[CONTEXT_FEE] = suggested[0].id
        event = FlowEvent(
            text=turn.text, intent=u.intent if u else None, score=u.confidence if u else 1.0, entities=entities
        )
        await engine.start_flow(turn, flow.name, event)

    return start


def pay_button(catalogue: Catalogue) -> Callable[[str], list[Button]]:
    """«Оплатить госпошлину» under an answer that offers to pay here (fees.yaml `offer_topics`):
    it starts the payment with the fee of that topic proposed, as typing the request would."""

    def buttons(topic_id: str) -> list[Button]:
        if topic_id not in catalogue.offer_topics:
            return []
        return [Button(title=texts.PAY_BUTTON, payload=PAY_PAYLOAD)]

    return buttons


def payment_status(svc: PaymentService, flow: PayFlow) -> IntentHandler:
    """«Прошла ли моя оплата?» — answered from the client's orders (and a УИН if typed)."""

    async def handle(engine: Engine, turn: Turn, u: Understanding | None) -> None:
        orders = await _asked_about(svc, turn)
        if orders is None:
            return
        if not orders:
            turn.say(ReplyKind.info, texts.NO_PAYMENTS)
        else:
            latest = orders[0]
            if latest.status is PaymentStatus.paid or len(orders) == 1:
                turn.replies.append(status_reply(svc.facts(latest)))
                await svc.told(latest)
            else:
                turn.replies.append(status_list([svc.facts(o) for o in orders]))
            await _end_settled_flow(engine, turn, flow, [svc.facts(o) for o in orders])
        turn.decision = "payment_status"

    return handle


def after_paid(engine: Engine, outbound: Outbound, svc: PaymentService, flow: PayFlow) -> AfterPaid:
    """Once the client was told, outside a turn, that an order is paid: in the order's
    conversation the payment flow waiting for it ends, and the completed payment is seen
    by the after-turn hooks (a rating is asked, R-14); what they say goes the way the
    notice went, to that conversation, and into its history."""

    async def rate(order: Order) -> None:
        async def settled(turn: Turn) -> None:
            await _end_settled_flow(engine, turn, flow, [svc.facts(order)])

        done = await engine.completed_outside(order.conversation_id, flow.name, first=settled)
        if done is None or not done[1]:
            return
        state, replies = done
        now = time.time()
        await engine.conversations.append_history(
            order.conversation_id,
            *({"ts": now, "from": "bot", "kind": r.kind.value, "text": r.text} for r in replies),
        )
        await outbound.send(state.channel, order.conversation_id, state.client_id, replies)

    return rate


async def _asked_about(svc: PaymentService, turn: Turn) -> list[Order] | None:
    """The orders the client asks about, as they stand now, newest first; None when a
    typed УИН is wrong (the client is told how)."""
    client = turn.state.client_id
    typed = UIN_IN_TEXT.search(turn.text or "")
    if typed:
        try:
            uin = uin_codes.validate(typed.group())
        except uin_codes.UinError as exc:
            turn.decision = "payment_status"
            turn.say(ReplyKind.error, texts.UIN_NOT_CHECKED.format(problem=exc))
            return None
        order = await svc.orders.by_uin(uin)
        orders = [order] if order and order.client_id == client else []
    else:
        orders = await svc.orders.for_client(client, limit=RECENT_ORDERS)
    return [await svc.latest(o.id) if o.status in OPEN else o for o in orders]


async def _end_settled_flow(engine: Engine, turn: Turn, flow: PayFlow, told: Sequence[OrderFacts]) -> None:
    """The client was just told that the payment flow's own order is settled: the flow
    ends (through its own step and the engine)."""
    state = engine.active_state(turn, flow)
    if state is None:  # another flow, or a state of an older version (dropped at the next message)
        return
    step = flow.status_told(state, told)
    if step.state is None:
        await engine.run_step(turn, flow, step)
