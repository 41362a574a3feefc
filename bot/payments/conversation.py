"""The payment intents of the conversation.

pay_fee         starts the flow with the fee the conversation points to (after
                «как открыть ИП?» → the ИП registration fee)
payment_status  «прошла ли моя оплата?»: answered from the client's orders (or
                the one whose УИН was typed), at any time; a payment flow whose
                order is settled ends with that answer
"""

from __future__ import annotations

import re
from collections.abc import Sequence


from bot.core.engine import Engine, IntentHandler, Turn
from bot.core.messages import ReplyKind, Understanding
from bot.flows.base import FlowEvent

from . import texts
from . import uin as uin_codes
from .flow import CONTEXT_FEE, PayFlow
from .orders import Order
from .receipts import OrderFacts, status_list, status_reply
from .service import PaymentService
from .status import OPEN, PaymentStatus

UIN_IN_TEXT = re.compile(r"(?<!\d)\d[\d \-]{18,30}\d(?!\d)")
RECENT_ORDERS = 3  # listed when the client asks without a УИН


def start_with_context(flow: PayFlow) -> IntentHandler:
    """Start the flow with the fee the conversation points to (the last FAQ answered)."""

    async def start(engine: Engine, turn: Turn, u: Understanding | None) -> None:
        entities = dict(u.entities) if u else {}
        suggested = flow.catalogue.for_topic(await engine.last_answered_topic(turn))
        if len(suggested) == 1:
            entities[CONTEXT_FEE] = suggested[0].id
        event = FlowEvent(text=turn.text, intent=u.intent if u else None, score=u.confidence if u else 1.0,
                          entities=entities)
        await engine.start_flow(turn, flow.name, event)

    return start


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
                turn.replies.append(status_reply(latest.facts()))
                await svc.told(latest)
            else:
                turn.replies.append(status_list([o.facts() for o in orders]))
            await _end_settled_flow(engine, turn, flow, [o.facts() for o in orders])
        turn.decision = "payment_status"

    return handle


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
