"""The operator console under /console: server-rendered pages (Jinja2), a
WebSocket for live updates, signed session cookies and CSRF tokens."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import quote, urlparse

from fastapi import APIRouter, FastAPI, Form, HTTPException, Request, WebSocket
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from itsdangerous import BadSignature, URLSafeTimedSerializer

from knowledge_base.models import LIFE_SITUATIONS, SEGMENT_TITLES, Segment
from bot.consent import campaigns as campaign_store
from bot.consent import texts as consent_texts
from bot.consent.ledger import Ledger
from bot.consent.model import PROFILE_FIELD, Category, ConsentState, Kind
from bot.store import keys

from .callbacks import masked_phone
from .login_guard import LoginGuard
from .presence import TITLES as PRESENCE_TITLES, Presence
from .states import TITLES as STATUS_TITLES, Refused, Status
from .summary import REASONS
from .users import Role, User, UserStore

log = logging.getLogger("handoff.console")

HERE = Path(__file__).parent
SESSION_COOKIE = "console_session"
LOGIN_CSRF_COOKIE = "console_login_csrf"


@dataclass(frozen=True)
class Session:
    user: User
    csrf: str


class _Login(Exception):
    """Not signed in: redirect to the login page."""


async def console_secret(runtime) -> str:
    if runtime.settings.console_secret_key:
        return runtime.settings.console_secret_key
    await runtime.redis.set(keys.console_secret(), secrets.token_hex(32), nx=True)
    return await runtime.redis.get(keys.console_secret())


def routes(app: FastAPI, runtime, service) -> None:
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    env = templates.env
    zone = service.schedule.zone
    env.filters["hm"] = lambda ts: datetime.fromtimestamp(float(ts), zone).strftime("%H:%M") if ts else ""
    env.filters["dt"] = lambda ts: datetime.fromtimestamp(float(ts), zone).strftime("%d.%m.%Y %H:%M") if ts else ""
    env.filters["ago"] = _ago
    env.filters["masked"] = masked_phone
    env.globals.update(status_titles=STATUS_TITLES, presence_titles=PRESENCE_TITLES, reasons=REASONS)
    users = UserStore(runtime.redis)
    guard = LoginGuard(runtime.redis)
    settings = runtime.settings
    max_age = settings.console_session_hours * 3600
    router = APIRouter(prefix="/console")
    signer: dict[str, URLSafeTimedSerializer] = {}

    async def serializer() -> URLSafeTimedSerializer:
        if "s" not in signer:
            signer["s"] = URLSafeTimedSerializer(await console_secret(runtime), salt="console-session")
        return signer["s"]

    async def session_from(cookie: str | None) -> Session | None:
        if not cookie:
            return None
        try:
            data = (await serializer()).loads(cookie, max_age=max_age)
        except BadSignature:
            return None
        user = await users.get(data.get("u", ""))  # a removed user loses access at once
        return Session(user, data["c"]) if user else None

    async def session(request: Request) -> Session:
        s = await session_from(request.cookies.get(SESSION_COOKIE))
        if s is None:
            raise _Login()
        return s

    async def form_session(request: Request, csrf: str) -> Session:
        s = await session(request)
        if not csrf or not hmac.compare_digest(csrf, s.csrf):
            raise HTTPException(403, "Форма устарела — обновите страницу и повторите действие.")
        return s

    def page(request: Request, name: str, s: Session | None, status_code: int = 200, **ctx) -> HTMLResponse:
        return templates.TemplateResponse(request, name, {"s": s, **ctx}, status_code=status_code)

    def back(url: str, note: str = "", error: str = "") -> RedirectResponse:
        sep = "&" if "?" in url else "?"
        if note:
            url += f"{sep}note={quote(note)}"
        elif error:
            url += f"{sep}error={quote(error)}"
        return RedirectResponse(url, status_code=303)

    # ------------------------------------------------------------- login
    @router.get("/login", response_class=HTMLResponse)
    async def login_form(request: Request, error: str = ""):
        token = secrets.token_urlsafe(24)
        resp = page(request, "login.html", None, csrf=token, error=error)
        resp.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict",
                        secure=settings.console_cookie_secure, path="/console")
        return resp

    @router.post("/login")
    async def login(request: Request, username: str = Form(""), password: str = Form(""), csrf: str = Form("")):
        expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
        if not csrf or not expected or not hmac.compare_digest(csrf, expected):
            return back("/console/login", error="Страница входа устарела — попробуйте ещё раз.")
        address = request.client.host if request.client else "unknown"
        if wait := await guard.wait_seconds(username, address):
            log.warning("console login refused: too many failures (%s)", address)
            minutes = max(1, (wait + 59) // 60)
            return back("/console/login", error=f"Слишком много неудачных попыток входа. Попробуйте снова через "
                                                f"{minutes} мин. или попросите руководителя сбросить пароль.")
        user = await users.verify(username, password)
        if user is None:
            await guard.failed(username, address)
            log.info("console login failed")
            return back("/console/login", error="Неверное имя или пароль. Проверьте раскладку и попробуйте снова.")
        await guard.succeeded(username)
        token = (await serializer()).dumps({"u": user.name, "c": secrets.token_urlsafe(24)})
        await service.presence.set(user.name, Presence.online)
        resp = RedirectResponse("/console", status_code=303)
        resp.set_cookie(SESSION_COOKIE, token, max_age=max_age, httponly=True, samesite="strict",
                        secure=settings.console_cookie_secure, path="/")
        resp.delete_cookie(LOGIN_CSRF_COOKIE, path="/console")
        return resp

    @router.post("/logout")
    async def logout(request: Request, csrf: str = Form("")):
        s = await form_session(request, csrf)
        await service.presence.set(s.user.name, Presence.offline)
        resp = RedirectResponse("/console/login", status_code=303)
        resp.delete_cookie(SESSION_COOKIE, path="/")
        return resp

    @router.post("/presence")
    async def set_presence(request: Request, presence: str = Form(...), csrf: str = Form("")):
        s = await form_session(request, csrf)
        where = request.headers.get("referer") and urlparse(request.headers["referer"]).path or "/console"
        if presence not in {p.value for p in Presence}:
            return back(where, error="Такого статуса нет: выберите «на связи», «отошёл» или «не в сети».")
        await service.presence.set(s.user.name, Presence(presence))
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
    async def may_view(s: Session, cid: str):
        ticket = await service.queue.get(cid)
        if s.user.role is Role.supervisor:
            return ticket
        if ticket and (ticket.status is Status.waiting or ticket.operator == s.user.name):
            return ticket
        raise HTTPException(403, "Этот разговор ведёт другой оператор или он уже завершён. "
                                 "Вернитесь к очереди.")

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
        operators = [n for n in await service.presence.online() if n != s.user.name]
        return page(request, "conversation.html", s, cid=cid, ticket=ticket, state=state, history=history,
                    profile=_profile_rows(profile), consents=consents, summary=summary, topics=topics, situations=LIFE_SITUATIONS,
                    draft=draft, quick=quick, operators=operators, note=note, error=error,
                    max_transfers=service.queue.max_transfers, mine=bool(ticket and ticket.operator == s.user.name
                                                                       and ticket.status is Status.with_operator))

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
    async def transfer(request: Request, cid: str, target: str = Form(""), csrf: str = Form("")):
        s = await form_session(request, csrf)
        try:
            await service.transfer(s.user.name, cid, target)
        except Refused as exc:
            return back(f"/console/c/{quote(cid, safe='')}", error=exc.reason)
        where = f"оператору {target}" if target else "в общую очередь"
        return back("/console", note=f"Разговор передан {where}.")

    @router.post("/c/{cid}/resolve")
    async def resolve(request: Request, cid: str, csrf: str = Form("")):
        s = await form_session(request, csrf)
        try:
            await service.resolve(s.user.name, cid)
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
        s = await session(request)
        if s.user.role is not Role.supervisor:
            raise HTTPException(403, "Эта страница — для руководителя смены.")
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
        return page(request, "supervisor.html", s, waiting=waiting, now=now, stats=stats,
                    max_wait=max(waits, default=0), avg_wait=sum(waits) / len(waits) if waits else 0,
                    avg_claim_wait=stats.get("wait_seconds", 0) / claimed if claimed else 0,
                    operators=operators, open_now=service.schedule.is_open(service.now()),
                    hours=service.schedule.describe())

    # ---------------------------------------------------------- campaigns
    async def supervisor(request: Request, csrf: str | None = None) -> Session:
        s = await (session(request) if csrf is None else form_session(request, csrf))
        if s.user.role is not Role.supervisor:
            raise HTTPException(403, "Рассылки создаёт и запускает руководитель смены. "
                                     "Если нужно что-то сообщить клиентам, обратитесь к нему.")
        return s

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
        s = await session_from(ws.cookies.get(SESSION_COOKIE))
        origin, host = ws.headers.get("origin", ""), ws.headers.get("host", "")
        if s is None or (origin and urlparse(origin).netloc != host):
            await ws.close(code=4401)  # not signed in, or another site's page
            return
        await ws.accept()
        cid = ws.query_params.get("cid", "")
        await service.presence.heartbeat(s.user.name)
        pubsub = runtime.redis.pubsub()
        await pubsub.subscribe(keys.handoff_events())

        async def from_redis():
            while True:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=5.0)
                if not message:
                    continue
                event = json.loads(message["data"])
                if event["type"] == "message" and event.get("cid") != cid:
                    continue  # a conversation's messages go only to its page
                if event["type"] == "message":
                    event["time"] = datetime.now(zone).strftime("%H:%M")
                await ws.send_text(json.dumps(event, ensure_ascii=False))

        async def from_browser():
            while True:
                data = json.loads(await ws.receive_text())
                if data.get("type") == "heartbeat":
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

    @app.exception_handler(_Login)
    async def _to_login(request: Request, _exc: _Login) -> Response:
        return RedirectResponse("/console/login", status_code=303)

    _install_html_errors(app, templates)


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
        elif name in ("first_seen", "last_seen") and value.isdigit():
            value = datetime.fromtimestamp(int(value), timezone.utc).strftime("%d.%m.%Y %H:%M UTC")
        elif name == PROFILE_FIELD or name.startswith("consent_pd_"):
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
