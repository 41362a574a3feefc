"""Plug-in point of the handoff module (registered in bot/modules.py).

install(runtime)  → the `ask_operator` handler, the interceptor that keeps the
                    bot silent during a handoff, the rating and callback flows,
                    the "api" and "terminal" outbound senders; the service is
                    available as `runtime.handoff`.
routes(app, rt)   → the operator console (/console: handoff/console/, one module per
                    concern) and the API poll endpoint.
background(rt)    → the watcher that offers callbacks to clients who waited too long.
"""

from __future__ import annotations

import asyncio
import logging

from bot.modules import Module

from .callbacks import Callback
from .delivery import add_outbox_route, api_sender, terminal_sender
from .schedule import load_schedule
from .service import HandoffService

log = logging.getLogger("handoff")


def service(runtime) -> HandoffService:
    return runtime.handoff


def install(runtime) -> None:
    settings = runtime.settings
    schedule = load_schedule(settings.handoff_schedule_file, settings.handoff_timezone)
    svc = HandoffService(runtime, schedule)
    svc.install()
    runtime.handoff = svc
    runtime.outbound.register("api", api_sender(runtime.redis))
    runtime.outbound.register("terminal", terminal_sender())


def routes(app, runtime) -> None:
    from .console import routes as console_routes

    add_outbox_route(app, runtime)
    console_routes(app, runtime, service(runtime))


def background(runtime) -> list:
    return [watch(runtime)]


async def watch(runtime) -> None:
    svc = service(runtime)
    while True:
        try:
            await svc.check_waiting()
            await svc.check_with_operator()
        except Exception:
            log.exception("handoff watcher round failed")
        await asyncio.sleep(runtime.settings.handoff_watch_interval_seconds)


async def book_callback(
    runtime, *, client_id: str, phone: str, channel: str, conversation_id: str = "", reason: str = ""
) -> Callback | None:
    """For other channels (voice): book the first free callback slot for a client
    who consented to the use of `phone`. Say `runtime.handoff.booked_text(cb, now)`."""
    return await service(runtime).book_callback(
        client_id=client_id, phone=phone, channel=channel, conversation_id=conversation_id, reason=reason
    )


MODULE = Module("handoff", provides=("handoff",), install=install, routes=routes, background=background)
