"""The handoff state machine of one conversation, as a plain table.

    bot ──request──▶ waiting ──claim──▶ with_operator ──resolve──▶ resolved
     ▲                 │  ▲                  │   │                    │
     └────cancel───────┘  └──transfer(queue)─┘   └─transfer(operator) │
     └──────────────────────────return (rating, flow restored)────────┘

Redis scripts in handoff/keys.py apply these transitions atomically; this
module is the one readable statement of what is allowed, used to check an
action before it is tried and to explain a refusal.
"""

from __future__ import annotations

from enum import Enum


class Status(str, Enum):
    bot = "bot"
    waiting = "waiting"
    with_operator = "with_operator"
    resolved = "resolved"


class Event(str, Enum):
    request = "request"  # the client asks for a human
    cancel = "cancel"  # the client stops waiting
    claim = "claim"  # an operator takes the conversation
    transfer = "transfer"  # to another operator or back to the queue
    requeue = "requeue"  # transfer back to the queue
    resolve = "resolve"  # the operator is done
    back = "back"  # the bot takes over again


TRANSITIONS: dict[tuple[Status, Event], Status] = {
    (Status.bot, Event.request): Status.waiting,
    (Status.resolved, Event.request): Status.waiting,
    (Status.waiting, Event.cancel): Status.bot,
    (Status.waiting, Event.claim): Status.with_operator,
    (Status.with_operator, Event.transfer): Status.with_operator,
    (Status.with_operator, Event.requeue): Status.waiting,
    (Status.with_operator, Event.resolve): Status.resolved,
    (Status.resolved, Event.back): Status.bot,
}

# Statuses in which the bot stays silent and messages go to the operator.
HUMAN_STATUSES = {Status.waiting, Status.with_operator}


class Refused(Exception):
    """A transition that is not allowed; `reason` is shown to the operator."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def transition(status: Status | str, event: Event, *, transfers: int = 0, max_transfers: int = 2) -> Status:
    status = Status(status or Status.bot)
    if event in (Event.transfer, Event.requeue) and status is Status.with_operator and transfers >= max_transfers:
        raise Refused(transfer_limit_text(max_transfers))
    target = TRANSITIONS.get((status, event))
    if target is None:
        raise Refused(REFUSALS.get((status, event), f"Сейчас это действие недоступно (статус: {TITLES[status]})."))
    return target


def transfer_limit_text(max_transfers: int) -> str:
    return (
        f"Передать разговор ещё раз нельзя: по стандарту обслуживания клиента передают между "
        f"сотрудниками не более {max_transfers} раз. Пожалуйста, решите вопрос сами или "
        f"обратитесь к руководителю смены; при необходимости предложите клиенту обратный звонок."
    )


TITLES = {
    Status.bot: "с помощником",
    Status.waiting: "ждёт оператора",
    Status.with_operator: "у оператора",
    Status.resolved: "завершён",
}

REFUSALS = {
    (Status.with_operator, Event.claim): "Этот разговор уже взял другой оператор.",
    (Status.bot, Event.claim): "Клиент уже не ждёт оператора (отменил запрос или вопрос решён).",
    (Status.resolved, Event.claim): "Разговор уже завершён.",
    (Status.waiting, Event.resolve): "Сначала возьмите разговор в работу.",
    (Status.with_operator, Event.cancel): "Оператор уже подключился к разговору.",
}
