"""Feature modules plug into the assistant here, and only here.

A feature module is a Python module with a `MODULE = Module(...)` that says
what it provides (the services it puts on the Runtime, by field name), what it
requires (services that must exist before it installs: a missing one is a
start-up error naming the module to add) and what it uses when present
(installed before it if enabled, fine if not). The install order is derived
from that, so the order of `MODULES` below means nothing; a cycle is a
start-up error.

Its hooks, all optional:
  install(runtime)      register flows, effect handlers, interceptors, intent
                        handlers, outbound senders; set the services it provides
  routes(app, runtime)  add FastAPI routes (webhooks, console, voice page); run
                        after every module is installed
  background(runtime)   coroutines to run while serving (pollers, workers)

Adding one: docs/ARCHITECTURE.md, «Adding a module».
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastapi import FastAPI

    from bot.runtime import Runtime

MODULES: list[str] = [
    "handoff.module",
    "bot.channels.telegram",
    "bot.channels.max",
    "bot.channels.widget",
    "voice.module",
    "bot.payments.module",
    "bot.consent.module",
    "bot.applications.module",
    "bot.booking.module",
    "bot.privacy.module",
    "bot.history",
    "bot.services.module",
    "bot.indicators.module",
    "knowledge_base.module",
]


@dataclass(frozen=True)
class Module:
    name: str
    provides: tuple[str, ...] = ()  # Runtime fields this module sets in install()
    requires: tuple[str, ...] = ()  # services that must be installed first
    uses: tuple[str, ...] = ()  # services used when present (installed first if enabled)
    install: Callable[[Runtime], None] | None = None
    routes: Callable[[FastAPI, Runtime], None] | None = None
    background: Callable[[Runtime], list[Coroutine[Any, Any, None]]] | None = None


class ModuleError(RuntimeError):
    """The enabled modules cannot be put together (said at start-up)."""


def specs(names: list[str] | None = None) -> list[Module]:
    """The enabled modules, in an order where each comes after what it requires and uses."""
    loaded: list[tuple[str, ModuleType]] = [(n, importlib.import_module(n)) for n in names or MODULES]
    found: list[Module] = []
    for path, mod in loaded:
        spec = getattr(mod, "MODULE", None)
        if not isinstance(spec, Module):
            raise ModuleError(f"{path} has no MODULE = Module(...) declaration (see bot/modules.py)")
        found.append(spec)
    return order(found)


def order(found: list[Module]) -> list[Module]:
    provider: dict[str, Module] = {}
    for spec in found:
        for service in spec.provides:
            if service in provider:
                raise ModuleError(f"both {provider[service].name} and {spec.name} provide {service!r}")
            provider[service] = spec
    for spec in found:
        for service in spec.requires:
            if service not in provider:
                raise ModuleError(
                    f"module {spec.name!r} requires {service!r}, which no enabled module provides: "
                    f"add the module that provides it to MODULES in bot/modules.py"
                )
    placed: list[Module] = []
    visiting: list[str] = []

    def place(spec: Module) -> None:
        if spec in placed:
            return
        if spec.name in visiting:
            cycle = " → ".join([*visiting[visiting.index(spec.name) :], spec.name])
            raise ModuleError(f"modules need each other in a circle: {cycle}")
        visiting.append(spec.name)
        for service in (*spec.requires, *spec.uses):
            if service in provider and provider[service] is not spec:
                place(provider[service])
        visiting.pop()
        placed.append(spec)

    for spec in found:
        place(spec)
    return placed


def installed(runtime: Runtime, service: str) -> bool:
    """Is the service on the runtime (its module enabled and installed)?"""
    return getattr(runtime, service, None) is not None


def install(runtime: Runtime) -> None:
    for spec in specs():
        if spec.install:
            spec.install(runtime)


def routes(app: FastAPI, runtime: Runtime) -> None:
    for spec in specs():
        if spec.routes:
            spec.routes(app, runtime)


def background(runtime: Runtime) -> list[Coroutine[Any, Any, None]]:
    tasks: list[Coroutine[Any, Any, None]] = []
    for spec in specs():
        if spec.background:
            tasks += spec.background(runtime)
    return tasks
