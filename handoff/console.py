"""The operator console under /console: server-rendered pages (Jinja2) and a
WebSocket for live updates. Who may do what is decided in `console_auth.py`
(sessions, CSRF, roles) and `may_view` below (which conversations)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import quote

from fastapi import APIRouter, FastAPI, Form, HTTPException, Request, WebSocket
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from knowledge_base.models import LIFE_SITUATIONS, SEGMENT_TITLES, Segment
from bot.consent import campaigns as campaign_store
from bot.consent import texts as consent_texts
from bot.consent.ledger import Ledger
from bot.consent.model import PROFILE_FIELD, Category, ConsentState, Kind
from bot.core.numbers import parse_epoch
from bot.origin import same_origin
from handoff import keys as handoff_keys

from .callbacks import masked_phone
from .console_auth import (SESSION_COOKIE, ConsoleAuth, SecurityHeaders, Session, back, login_redirect,
                           safe_console_path)
from .presence import TITLES as PRESENCE_TITLES, Presence
from .states import TITLES as STATUS_TITLES, Refused, Status
from .summary import REASONS
from .users import Role

log = logging.getLogger("handoff.console")

HERE = Path(__file__).parent


def routes(app: FastAPI, runtime, service) -> None:
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    env = templates.env
    zone = service.schedule.zone
    env.filters["hm"] = lambda ts: datetime.fromtimestamp(float(ts), zone).strftime("%H:%M") if ts else ""
    env.filters["dt"] = lambda ts: datetime.fromtimestamp(float(ts), zone).strftime("%d.%m.%Y %H:%M") if ts else ""
    env.filters["ago"] = _ago
    env.filters["masked"] = masked_phone
    env.globals.update(status_titles=STATUS_TITLES, presence_titles=PRESENCE_TITLES, reasons=REASONS)
    auth = ConsoleAuth(runtime, service.presence.set)
    users = auth.users
    session, form_session = auth.session, auth.form_session
    router = APIRouter(prefix="/console")

    def page(request: Request, name: str, s: Session | None, status_code: int = 200, **ctx) -> HTMLResponse:
        return templates.TemplateResponse(request, name, {"s": s, **ctx}, status_code=status_code)

    auth.routes(router, page)

    @router.post("/presence")
    async def set_presence(request: Request, presence: str = Form("", max_length=16), csrf: str = Form("")):
        s = await form_session(request, csrf)
        where = safe_console_path(request.headers.get("referer"))
        try:
            value = Presence(presence)
        except ValueError:
            return back(where, error="Такого статуса нет: выберите «на связи», «отошёл» или «не в сети».")
        await service.presence.set(s.user.name, value)
        return back(where)

    # ------------------------------------------------------------- queue
    async def queue_context(s: Session) -> dict:
        now = time.time()
        return {"waiting": await service.queue.waiting(), "mine": await service.queue.mine(s.user.name),
                "now": now, "presence": await service.presence.get(s.user.name),
                "callbacks_due": len(await service.callbacks.upcoming())}

    @router.get("", response_class=HTMLResponse)
    async def queue_page(request: Request, note: str = "", error: str = ""):
        s = await session(request)
        return page(request, "queue.html", s, note=note, error=error, **await queue_context(s))

    @router.get("/queue.part", response_class=HTMLResponse)
    async def queue_part(request: Request):
        s = await session(request)
        return page(request, "_queue.html", s, **await queue_context(s))

    @router.post("/claim")
    async def claim_next(request: Request, csrf: str = Form(""), cid: str = Form("")):
        s = await form_session(request, csrf)
        try:
            got = await service.claim(s.user.name, cid)
        except Refused as exc:
            return back("/console", error=exc.reason)
        return back(f"/console/c/{quote(got, safe='')}", note="Разговор ваш — клиент видит, что вы подключились.")

    # ------------------------------------------------------ conversation
    async def visible(s: Session, cid: str) -> tuple[bool, object]:
        """A supervisor sees every conversation; an operator, the waiting ones and their own."""
        ticket = await service.queue.get(cid)
        if s.user.role is Role.supervisor:
            return True, ticket
        return bool(ticket and (ticket.status is Status.waiting or ticket.operator == s.user.name)), ticket

    async def may_view(s: Session, cid: str):
        allowed, ticket = await visible(s, cid)
        if not allowed:
            raise HTTPException(403, "Этот разговор ведёт другой оператор или он уже завершён. "
                                     "Вернитесь к очереди.")
        return ticket

    @router.get("/c/{cid}", response_class=HTMLResponse)
    async def conversation_page(request: Request, cid: str, note: str = "", error: str = "", quick: str = ""):
        s = await session(request)
        ticket = await may_view(s, cid)
        state = await runtime.engine.conversations.load(cid)
        if state is None:
            raise HTTPException(404, "Такого разговора нет. Вернитесь к очереди.")
        history = await runtime.engine.conversations.history(cid)
        profile = await runtime.engine.profiles.get(state.client_id)
        consents = _consent_rows(await Ledger(runtime.redis).state(state.client_id), zone)
        summary = await service.summary(ticket, history) if ticket else None
        topics = sorted((runtime.kb[t] for t in runtime.kb.ids()), key=lambda e: (e.life_situation, e.title))
        draft = runtime.kb[quick].answer_for(profile.get("segment")) if quick in runtime.kb else ""
        owner = ticket.operator if ticket and ticket.status is Status.with_operator else ""
        operators = [n for n in await service.presence.online() if n not in (s.user.name, owner)]
        return page(request, "conversation.html", s, cid=cid, ticket=ticket, state=state, history=history,
                    profile=_profile_rows(profile), consents=consents, summary=summary, topics=topics, situations=LIFE_SITUATIONS,
                    draft=draft, quick=quick, operators=operators, note=note, error=error,
                    max_transfers=service.queue.max_transfers, mine=bool(owner and owner == s.user.name),
                    oversee=bool(owner and owner != s.user.name and s.user.role is Role.supervisor))

    @router.post("/c/{cid}/reply")
    async def reply(request: Request, cid: str, text: str = Form(""), csrf: str = Form("")):
        s = await form_session(request, csrf)
        url = f"/console/c/{quote(cid, safe='')}"
        try:
            await service.reply(s.user.name, cid, text)
        except Refused as exc:
            return back(url, error=exc.reason)
        return back(url + "#reply")

    @router.post("/c/{cid}/transfer")
    async def transfer(request: Request, cid: str, target: str = Form("", max_length=64), csrf: str = Form("")):
        s = await form_session(request, csrf)
        try:
            await service.transfer(s.user.name, cid, target, supervisor=s.user.role is Role.supervisor)
        except Refused as exc:
            return back(f"/console/c/{quote(cid, safe='')}", error=exc.reason)
        where = f"оператору {target}" if target else "в общую очередь"
        return back("/console", note=f"Разговор передан {where}.")

    @router.post("/c/{cid}/resolve")
    async def resolve(request: Request, cid: str, csrf: str = Form("")):
        s = await form_session(request, csrf)
        try:
            await service.resolve(s.user.name, cid, supervisor=s.user.role is Role.supervisor)
        except Refused as exc:
            return back(f"/console/c/{quote(cid, safe='')}", error=exc.reason)
        return back("/console", note="Разговор завершён: помощник продолжит и попросит клиента оценить помощь.")

    # ---------------------------------------------------------- callbacks
    @router.get("/callbacks", response_class=HTMLResponse)
    async def callbacks_page(request: Request, note: str = "", error: str = ""):
        s = await session(request)
        items = await service.callbacks.upcoming(include_done=True)
        return page(request, "callbacks.html", s, items=items, note=note, error=error,
                    zone_title=service.schedule.timezone_title)

    @router.post("/callbacks/{callback_id}/done")
    async def callback_done(request: Request, callback_id: str, csrf: str = Form("")):
        s = await form_session(request, csrf)
        ok = await service.callbacks.mark_done(callback_id, s.user.name)
        return back("/console/callbacks", note="Отмечено: звонок выполнен." if ok else "",
                    error="" if ok else "Этот звонок уже отмечен или удалён.")

    # --------------------------------------------------------- supervisor
    @router.get("/supervisor", response_class=HTMLResponse)
    async def supervisor_page(request: Request):
        await auth.supervisor(request, why="Эта страница — для руководителя смены.")
        now = time.time()
        waiting = await service.queue.waiting()
        waits = [t.waited(now) for t in waiting]
        stats = await service.queue.stats()
        claimed = stats.get("claimed", 0)
        operators = []
        presence = await service.presence.all()
        for user in await users.all():
            operators.append({"name": user.name, "role": user.role.value,
                              "presence": presence.get(user.name, Presence.offline),
                              "active": len(await service.queue.mine(user.name))})
        s = await session(request)
        return page(request, "supervisor.html", s, waiting=waiting, now=now, stats=stats,
                    max_wait=max(waits, default=0), avg_wait=sum(waits) / len(waits) if waits else 0,
                    avg_claim_wait=stats.get("wait_seconds", 0) / claimed if claimed else 0,
                    operators=operators, open_now=service.schedule.is_open(service.now()),
                    hours=service.schedule.describe())

    # ---------------------------------------------------------- campaigns
    async def supervisor(request: Request, csrf: str | None = None) -> Session:
        return await auth.supervisor(request, csrf, why="Рассылки создаёт и запускает руководитель смены. "
                                                         "Если нужно что-то сообщить клиентам, обратитесь к нему.")

    @router.get("/campaigns", response_class=HTMLResponse)
    async def campaigns_page(request: Request, note: str = "", error: str = ""):
        s = await supervisor(request)
        rows = []
        for c in reversed(await campaign_store.list_campaigns(runtime.redis)):
            counts = await campaign_store.delivery_counts(runtime.redis, c.id)
            rows.append({"c": c, "counts": counts, "total": sum(counts.values()),
                         "segments": ", ".join(SEGMENT_TITLES[x] for x in c.segments) or "все",
                         "topic": LIFE_SITUATIONS.get(c.life_situation or "", "все темы")
                         if not c.service else f"услуга {c.service}"})
        return page(request, "campaigns.html", s, rows=rows, note=note, error=error,
                    categories=CAMPAIGN_CATEGORIES, segments=SEGMENT_TITLES, situations=LIFE_SITUATIONS)

    @router.post("/campaigns")
    async def create_campaign(request: Request, csrf: str = Form(""), title: str = Form(""),
                              text: str = Form(""), category: str = Form(""), segment: str = Form(""),
                              situation: str = Form(""), launch: str = Form("")):
        s = await supervisor(request, csrf)
        try:
            campaign = campaign_store.Campaign(
                id=f"c{datetime.now(zone):%Y%m%d}-{secrets.token_hex(3)}", title=title.strip(),
                category=category, text=text.strip(), life_situation=situation or None,
                segments=[segment] if segment else [], created_by=s.user.name)
        except ValueError:  # pydantic's ValidationError is a ValueError
            return back("/console/campaigns", error=CAMPAIGN_INVALID)
        await campaign_store.create_campaign(runtime.redis, campaign)
        log.info("campaign %s created by a supervisor", campaign.id)
        if launch:
            report = await campaign_store.launch_campaign(runtime.redis, campaign.id)
            return back("/console/campaigns", note=f"Рассылка «{campaign.title}» запущена. {_launched(report)}")
        report = await campaign_store.launch_campaign(runtime.redis, campaign.id, dry_run=True)
        return back("/console/campaigns", note=f"Рассылка «{campaign.title}» сохранена, но ещё не отправлена. "
                                               f"Её получат клиентов: {report.queued} "
                                               f"(с согласием на эту тему; всего клиентов с согласиями — "
                                               f"{report.clients}). Нажмите «Разослать», когда будете готовы.")

    @router.post("/campaigns/{campaign_id}/launch")
    async def launch_campaign(request: Request, campaign_id: str, csrf: str = Form("")):
        await supervisor(request, csrf)
        campaign = await campaign_store.get_campaign(runtime.redis, campaign_id)
        if campaign is None:
            return back("/console/campaigns", error="Такой рассылки нет — обновите страницу.")
        report = await campaign_store.launch_campaign(runtime.redis, campaign_id)
        return back("/console/campaigns", note=f"Рассылка «{campaign.title}» запущена. {_launched(report)}")

    # ---------------------------------------------------------- websocket
    @app.websocket("/console/ws")
    async def live(ws: WebSocket):
        token = ws.cookies.get(SESSION_COOKIE)
        s = await auth.session_from(token)
        if s is None or not same_origin(ws.headers):
            await ws.close(code=4401)  # not signed in, or another site's page
            return
        cid = ws.query_params.get("cid", "")
        if cid and not (await visible(s, cid))[0]:
            await ws.close(code=4403)  # another operator's conversation: not even live
            return
        await ws.accept()
        await service.presence.heartbeat(s.user.name)
        pubsub = runtime.redis.pubsub()
        await pubsub.subscribe(handoff_keys.handoff_events())

        async def still_allowed() -> Session | None:
            """Rights are checked again for every client message: a logout, a removed
            account or a conversation that moved to another operator stops the stream."""
            current = await auth.session_from(token)
            return current if current and (not cid or (await visible(current, cid))[0]) else None

        async def from_redis():
            while True:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=5.0)
                if not message:
                    continue
                event = json.loads(message["data"])
                if event["type"] == "message":
                    if event.get("cid") != cid:
                        continue  # a conversation's messages go only to its page
                    if await still_allowed() is None:
                        await ws.send_text(json.dumps({"type": "queue", "cid": cid}))  # "status changed"
                        await ws.close(code=4403)
                        return
                    event["time"] = datetime.now(zone).strftime("%H:%M")
                await ws.send_text(json.dumps(event, ensure_ascii=False))

        async def from_browser():
            while True:
                data = json.loads(await ws.receive_text())
                if data.get("type") == "heartbeat":
                    if await auth.session_from(token) is None:
                        await ws.close(code=4401)
                        return
                    await service.presence.heartbeat(s.user.name)

        tasks = [asyncio.create_task(from_redis()), asyncio.create_task(from_browser())]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            with contextlib.suppress(Exception):
                await pubsub.unsubscribe()
                await pubsub.aclose()

    app.include_router(router)
    app.mount("/console/static", StaticFiles(directory=str(HERE / "static")), name="console-static")

    login_redirect(app)
    app.add_middleware(SecurityHeaders, prefixes=("/console",))
    _install_html_errors(app, templates)
    return auth, page  # for handoff/console_privacy.py


def _install_html_errors(app: FastAPI, templates: Jinja2Templates) -> None:
    """Console errors as a page that says what to do, not a JSON body."""
    from starlette.exceptions import HTTPException as StarletteHTTPException
    from fastapi.exception_handlers import http_exception_handler

    @app.exception_handler(StarletteHTTPException)
    async def _html_error(request: Request, exc: StarletteHTTPException) -> Response:
        if not request.url.path.startswith("/console"):
            return await http_exception_handler(request, exc)
        return templates.TemplateResponse(request, "error.html", {"s": None, "message": exc.detail},
                                          status_code=exc.status_code)


CAMPAIGN_CATEGORIES = {Category.content.value: consent_texts.CATEGORY_TITLES[Category.content],
                       Category.trigger.value: consent_texts.CATEGORY_TITLES[Category.trigger]}
CAMPAIGN_INVALID = ("Рассылка не сохранена: проверьте поля — название от 3 до 120 символов, "
                    "текст от 10 до 1500 символов, выберите тип рассылки.")


def _launched(report) -> str:
    """A launch report in words: whom it reached and why the others were left out."""
    parts = [f"Поставлено в очередь сообщений: {report.queued}."]
    if report.already_queued:
        parts.append(f"Уже получали её раньше (повторно не отправляется): {report.already_queued}.")
    parts.append(f"Без согласия на эту тему: {report.no_consent}; из других групп клиентов: "
                 f"{report.other_segment}.")
    parts.append("Сообщения уходят сразу, в тихие часы клиента — утром.")
    return " ".join(parts)


PROFILE_LABELS = {"segment": "Кто клиент", "last_channel": "Канал", "first_seen": "Впервые обратился",
                  "last_seen": "Последнее сообщение", "phone": "Телефон"}


def _profile_rows(profile: dict[str, str]) -> list[tuple[str, str]]:
    rows = []
    for name, value in sorted(profile.items()):
        if name == "segment":
            try:
                value = SEGMENT_TITLES.get(Segment(value), "универсальный профиль")
            except ValueError:
                pass
        elif name in ("first_seen", "last_seen") and (ts := parse_epoch(value)) is not None:
            value = datetime.fromtimestamp(ts, timezone.utc).strftime("%d.%m.%Y %H:%M UTC")
        elif name in (PROFILE_FIELD, "pd_sources") or name.startswith("consent_pd_"):
            continue  # consents are shown from the ledger (`_consent_rows`), not from profile caches
        rows.append((PROFILE_LABELS.get(name, name), value))
    return rows


def _consent_rows(state: ConsentState, zone) -> list[tuple[str, str]]:
    """The client's consents from the ledger: what, since when, through which channel, on which text."""
    rows = []
    for g in state.active():
        if g.kind is Kind.notify:
            continue
        via = consent_texts.CHANNEL_TITLES.get(g.channel, g.channel)
        text = f"{g.text_id or '—'}, версия {g.version or '—'}"
        rows.append((consent_texts.short_title(g.kind, g.scope),
                     f"дано {datetime.fromtimestamp(g.granted_at, zone):%d.%m.%Y %H:%M} {via} (текст {text})"))
    for key, ts in sorted(state.withdrawn.items(), key=lambda kv: kv[1]):
        if key in state.grants:
            continue
        kind, _, scope = key.partition(":")
        rows.append((consent_texts.short_title(Kind(kind), scope),
                     f"отозвано {datetime.fromtimestamp(ts, zone):%d.%m.%Y %H:%M}"))
    return rows


def _ago(seconds: float) -> str:
    seconds = int(max(0, seconds))
    if seconds < 60:
        return f"{seconds} с"
    if seconds < 3600:
        return f"{seconds // 60} мин"
    return f"{seconds // 3600} ч {seconds % 3600 // 60} мин"
