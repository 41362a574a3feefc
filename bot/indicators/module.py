"""The quality indicators as a feature module: the console page when the console
(the handoff module) is installed. The CLI (`python -m bot analytics`) reads the
same counters without it."""

from __future__ import annotations

from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from bot.modules import Module, installed

if TYPE_CHECKING:
    from bot.runtime import Runtime


def routes(app: Any, runtime: Runtime) -> None:
    if installed(runtime, "handoff"):  # the page lives in the operator console
        from .console import install as console_pages
        from .service import Indicators

        console_pages(app, Indicators(runtime.redis, runtime.kb, runtime.settings))


def background(runtime: Runtime) -> list[Coroutine[Any, Any, None]]:
    from .service import Indicators

    return [Indicators(runtime.redis, runtime.kb, runtime.settings).run()]


MODULE = Module("indicators", uses=("handoff",), routes=routes, background=background)
