"""The knowledge base edited from the console as a feature module: every process
follows published changes before its turns; the pages for content editors and
supervisors when the console (the handoff module) is installed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.modules import Module, installed

if TYPE_CHECKING:
    from bot.core.engine import Engine
    from bot.runtime import Runtime


def install(runtime: Runtime) -> None:
    from .service import ContentService

    content = ContentService(runtime)
    runtime.content = content

    async def follow_published(engine: Engine, turn: Any, msg: Any) -> bool:
        await content.live.sync()  # one GET; a catch-up only when something was published
        return False  # never takes the turn

    runtime.engine.interceptors.insert(0, follow_published)


def routes(app: Any, runtime: Runtime) -> None:
    if installed(runtime, "handoff") and runtime.content is not None:
        from handoff.console.content import install as console_pages

        console_pages(app, runtime.content)


MODULE = Module("content", provides=("content",), uses=("handoff",), install=install, routes=routes)
