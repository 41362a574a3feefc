"""The operator console under /console: server-rendered pages (Jinja2) and a
WebSocket for live updates, one module per concern:

    auth.py          sessions, CSRF and roles as FastAPI dependencies
    signin.py        sign-in and sign-out
    queue.py         the queue, taking a conversation, presence
    conversation.py  one conversation and the operator's actions; who may see it
    callbacks.py     callbacks to make
    profile.py       the name and position an operator introduces themselves with
    supervisor.py    the shift at a glance
    privacy.py       a supervisor erases a client's data (when bot.privacy is installed)
    live.py          the WebSocket
    browser.py       security headers, safe redirects, error pages
    pages.py         the `Console` every route reaches, templates, `add_pages`

Other packages add screens with the public names below (the consent module's
campaigns: bot/consent/console.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from . import callbacks, conversation, live, privacy, profile, queue, signin
from . import supervisor as supervisor_pages
from .auth import ConsoleAuth, Session, SignedForm, SignedIn, supervisor
from .browser import SecurityHeaders, back, install_errors
from .pages import Console, ConsoleDep, Link, add_pages, make_templates

if TYPE_CHECKING:
    from bot.runtime import Runtime

    from ..service import HandoffService

__all__ = [
    "Console",
    "ConsoleDep",
    "Link",
    "Session",
    "SignedForm",
    "SignedIn",
    "add_pages",
    "back",
    "routes",
    "supervisor",
]

STATIC = Path(__file__).parent.parent / "static"


def routes(app: FastAPI, runtime: Runtime, service: HandoffService) -> None:
    links: list[Link] = []
    templates = make_templates(service, links)
    app.state.console = Console(runtime, service, ConsoleAuth(runtime, service.presence.set), templates, links)
    for concern in (signin, queue, conversation, callbacks, profile, supervisor_pages, live):
        app.include_router(concern.router)
    if runtime.privacy is not None:
        app.include_router(privacy.router)
    app.mount("/console/static", StaticFiles(directory=str(STATIC)), name="console-static")
    app.add_middleware(SecurityHeaders, prefixes=("/console",))
    install_errors(app, templates)
