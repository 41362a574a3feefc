"""Feature modules plug into the assistant here, and only here.

A module is a Python module with any of these functions:
  install(runtime)            register flows, interceptors, intent handlers,
                              outbound senders on runtime.engine / runtime.outbound
  routes(app, runtime)        add FastAPI routes (webhooks, console, voice page)
  background(runtime)         return a list of coroutines to run while serving
                              (pollers, queue workers, TCP servers)
"""

from __future__ import annotations

import importlib
from types import ModuleType

MODULES: list[str] = [
    # one line per feature module, e.g. "bot.channels.telegram",
    "handoff.module",
    "bot.channels.telegram",
    "voice.module",
    "bot.payments.module",
    "bot.consent.module",
    "bot.privacy.module",  # after consent: wraps its revoke_consent handler; handles its privacy.purge
    "bot.applications.module",
    "bot.booking.module",
    "bot.history",
]


def load() -> list[ModuleType]:
    return [importlib.import_module(name) for name in MODULES]


def install(runtime) -> None:
    for module in load():
        if hasattr(module, "install"):
            module.install(runtime)


def routes(app, runtime) -> None:
    for module in load():
        if hasattr(module, "routes"):
            module.routes(app, runtime)


def background(runtime) -> list:
    tasks = []
    for module in load():
        if hasattr(module, "background"):
            tasks += module.background(runtime)
    return tasks
