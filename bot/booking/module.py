"""Plugs appointments (R-11) into the assistant (listed in bot/modules.py).

install: the booking flow and its effect handlers (the service is
  `runtime.booking`); a start handler that picks the topic from the
  conversation; an interceptor that runs the «Перенести» / «Отменить» buttons
  of an earlier booking message in any state — aside of another active flow,
  which comes back with its question when the booking part is done;
routes: the consultants' screen in the operator console (console.py), when
  handoff is installed;
background: the reminder worker (a delayed queue polled every
  BOOKING_REMINDER_INTERVAL_SECONDS).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from bot.core.messages import Incoming
from bot.modules import Module

from .flow import NAME
from .service import BookingService
from .topics import load_topics

if TYPE_CHECKING:
    from fastapi import FastAPI

    from bot.core.engine import Engine, Turn
    from bot.runtime import Runtime

log = logging.getLogger("booking")

BUTTON_PREFIX = f"flow:{NAME}:"
STATELESS = ("book", "list", "t:", "a:", "m:", "c:", "cy:", "keep", "x")  # buttons that carry all they need


def install(runtime: Runtime) -> None:
    engine = runtime.engine
    svc = BookingService(runtime, load_topics(runtime.settings.booking_topics_file))
    runtime.booking = svc
    engine.register_flow(svc.flow, svc.effects())
    for intent in svc.flow.start_intents:
        engine.intent_handlers[intent] = svc.start

    async def intercept(engine_: Engine, turn: Turn, msg: Incoming) -> bool:
        payload = msg.payload or ""
        if not payload.startswith(BUTTON_PREFIX) or turn.state.flow == NAME:
            return False
        value = payload[len(BUTTON_PREFIX) :]
        if not value.startswith(STATELESS):
            return False  # a stale step button: the engine says it is outdated
        await engine_.run_aside(turn, svc.flow, svc.flow.press(value, engine_.flow_context(turn)))
        return True

    engine.interceptors.append(intercept)


def routes(app: FastAPI, runtime: Runtime) -> None:
    if runtime.booking is not None and runtime.handoff is not None:  # the screen lives in the operator console
        from .console import install as console_pages

        console_pages(app)


def background(runtime: Runtime) -> list[Coroutine[Any, Any, None]]:
    return [remind(runtime)]


async def remind(runtime: Runtime) -> None:
    svc = runtime.booking
    assert svc is not None  # installed before its background runs
    while True:
        try:
            await svc.send_due_reminders()
        except Exception:
            log.exception("reminder round failed")
        await asyncio.sleep(runtime.settings.booking_reminder_interval_seconds)


MODULE = Module(
    "booking",
    provides=("booking",),
    requires=("consent",),
    uses=("handoff",),
    install=install,
    routes=routes,
    background=background,
)
