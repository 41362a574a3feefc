"""What every console route reaches: the `Console` (the runtime, the handoff
service, sign-in, the templates), kept on `app.state` and handed to routes by
the `ConsoleDep` dependency; the page renderer and the templates' filters.

Other packages add their own screens (the consent module's campaigns) with
`add_pages`: their templates extend the console's `base.html`, and their
links appear in its navigation."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, FastAPI
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import FileSystemLoader
from starlette.requests import HTTPConnection, Request

from bot.core import phones

from ..presence import TITLES as PRESENCE_TITLES
from ..states import TITLES as STATUS_TITLES
from ..summary import REASONS

if TYPE_CHECKING:
    from bot.runtime import Runtime

    from ..service import HandoffService
    from .auth import ConsoleAuth, Session

TEMPLATES = Path(__file__).parent.parent / "templates"
CONTENT_HOME = "/console/content"  # where a content editor lands (the knowledge-base pages)


@dataclass(frozen=True)
class Link:
    """A section in the console's navigation; `about` is its line on the supervisor's page."""

    href: str
    title: str
    about: str = ""
    supervisors_only: bool = True
    for_editors: bool = False  # shown to content editors (who see nothing else)

    def shown_to(self, role: str) -> bool:
        if role == "supervisor":
            return True
        if role == "content_editor":
            return self.for_editors
        return not self.supervisors_only


@dataclass
class Console:
    runtime: Runtime
    service: HandoffService
    auth: ConsoleAuth
    templates: Jinja2Templates
    links: list[Link] = field(default_factory=list)

    def page(self, request: Request, name: str, s: Session | None, status_code: int = 200, **ctx: Any) -> HTMLResponse:
        return self.templates.TemplateResponse(request, name, {"s": s, **ctx}, status_code=status_code)


def make_templates(service: HandoffService, links: list[Link]) -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(TEMPLATES))
    env = templates.env
    zone = service.schedule.zone
    env.filters["hm"] = lambda ts: datetime.fromtimestamp(float(ts), zone).strftime("%H:%M") if ts else ""
    env.filters["dt"] = lambda ts: datetime.fromtimestamp(float(ts), zone).strftime("%d.%m.%Y %H:%M") if ts else ""
    env.filters["ago"] = ago
    env.filters["masked"] = phones.masked
    env.globals.update(
        status_titles=STATUS_TITLES, presence_titles=PRESENCE_TITLES, reasons=REASONS, console_links=links
    )
    return templates


def console_of(conn: HTTPConnection) -> Console:
    console: Console = conn.app.state.console
    return console


ConsoleDep = Annotated[Console, Depends(console_of)]


def add_pages(app: FastAPI, templates: Path, *links: Link) -> None:
    """Another package's console screens: its template folder (searched after the console's)
    and its navigation links. Call from a module's `routes` hook, after handoff's."""
    console = console_of_app(app)
    loader = console.templates.env.loader
    assert isinstance(loader, FileSystemLoader)
    if str(templates) not in loader.searchpath:
        loader.searchpath.append(str(templates))
    console.links.extend(link for link in links if link not in console.links)


def console_of_app(app: FastAPI) -> Console:
    console: Console | None = getattr(app.state, "console", None)
    if console is None:
        raise RuntimeError("the operator console is not set up: install the handoff module before its pages")
    return console


def ago(seconds: float) -> str:
    seconds = int(max(0, seconds))
    if seconds < 60:
        return f"{seconds} с"
    if seconds < 3600:
        return f"{seconds // 60} мин"
    return f"{seconds // 3600} ч {seconds % 3600 // 60} мин"
