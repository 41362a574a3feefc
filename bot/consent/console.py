"""Campaign screens in the operator console, for supervisors:

    GET  /console/campaigns                  every campaign with its delivery counts; the form for a new one
    POST /console/campaigns                  save (and show the reach) or save and launch
    POST /console/campaigns/{id}/launch      launch a saved campaign
    POST /console/c/{cid}/consent-service    send the client the consent for one service
                                             (§4.5.4.1 form 2); the client confirms it themselves

Registered by the consent module's `routes` hook when the handoff module (the
console) is installed; sign-in, CSRF and roles are the console's dependencies.
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime
from pathlib import Path
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, Response

from handoff.console import ConsoleDep, Link, Session, SignedForm, add_pages, back, supervisor
from handoff.console.conversation import NOT_YOURS, visible
from knowledge_base.models import LIFE_SITUATIONS, SEGMENT_TITLES

from . import campaigns as campaign_store
from . import texts
from .model import Category

log = logging.getLogger("consent.console")

TEMPLATES = Path(__file__).parent / "templates"
PAGE = "/console/campaigns"
LINK = Link(PAGE, "Рассылки", about="Рассылки клиентам: создать, запустить, посмотреть доставку")

SUPERVISORS_ONLY = (
    "Рассылки создаёт и запускает руководитель смены. Если нужно что-то сообщить клиентам, обратитесь к нему."
)
CATEGORIES = {
    Category.content.value: texts.CATEGORY_TITLES[Category.content],
    Category.trigger.value: texts.CATEGORY_TITLES[Category.trigger],
}
INVALID = (
    "Рассылка не сохранена: проверьте поля — название от 3 до 120 символов, "
    "текст от 10 до 1500 символов, выберите тип рассылки."
)
NO_SUCH = "Такой рассылки нет — обновите страницу."
NO_SERVICE = "Выберите услугу из списка — такой услуги нет в каталоге."
NOT_SENT = "Не удалось отправить сообщение клиенту: его канал сейчас недоступен. Попробуйте позже."
SENT = (
    "Клиенту отправлен текст согласия на сообщения об услуге «{title}». Согласие появится, когда клиент его подтвердит."
)

Supervisor = Annotated[Session, Depends(supervisor(SUPERVISORS_ONLY))]
SupervisorForm = Annotated[Session, Depends(supervisor(SUPERVISORS_ONLY, form=True))]

router = APIRouter(prefix="/console")


def install(app: FastAPI) -> None:
    add_pages(app, TEMPLATES, LINK)
    app.include_router(router)


@router.post("/c/{cid}/consent-service")
async def ask_service_consent(
    cid: str, s: SignedForm, c: ConsoleDep, service: Annotated[str, Form(max_length=32)] = ""
) -> Response:
    """The consent text with «Согласен(на)» goes to the client: a consent is theirs to give, so
    the operator only offers it; the ledger records it when the client presses the button."""
    page = f"/console/c/{quote(cid, safe='')}"
    allowed, _ = await visible(c, s, cid)
    if not allowed:
        return back("/console", error=NOT_YOURS)
    consent = c.runtime.consent
    flow = consent.flow if consent else None
    if flow is None or service not in flow.services:
        return back(page, error=NO_SERVICE)
    if not await c.service.send_for(s.user.name, cid, flow.service_request(service)):
        return back(page, error=NOT_SENT)
    return back(page, note=SENT.format(title=flow.services[service]))


@router.get("/campaigns", response_class=HTMLResponse)
async def campaigns_page(request: Request, s: Supervisor, c: ConsoleDep, note: str = "", error: str = "") -> Response:
    redis = c.runtime.redis
    rows = []
    for campaign in reversed(await campaign_store.list_campaigns(redis)):
        counts = await campaign_store.delivery_counts(redis, campaign.id)
        rows.append(
            {
                "c": campaign,
                "counts": counts,
                "total": sum(counts.values()),
                "segments": ", ".join(SEGMENT_TITLES[x] for x in campaign.segments) or "все",
                "topic": LIFE_SITUATIONS.get(campaign.life_situation or "", "все темы")
                if not campaign.service
                else f"услуга {campaign.service}",
            }
        )
    return c.page(
        request,
        "campaigns.html",
        s,
        rows=rows,
        note=note,
        error=error,
        categories=CATEGORIES,
        segments=SEGMENT_TITLES,
        situations=LIFE_SITUATIONS,
    )


@router.post("/campaigns")
async def create_campaign(
    s: SupervisorForm,
    c: ConsoleDep,
    title: Annotated[str, Form()] = "",
    text: Annotated[str, Form()] = "",
    category: Annotated[str, Form()] = "",
    segment: Annotated[str, Form()] = "",
    situation: Annotated[str, Form()] = "",
    launch: Annotated[str, Form()] = "",
) -> Response:
    redis = c.runtime.redis
    try:
        campaign = campaign_store.Campaign.model_validate(
            {
                "id": f"c{datetime.now(c.service.schedule.zone):%Y%m%d}-{secrets.token_hex(3)}",
                "title": title.strip(),
                "category": category,
                "text": text.strip(),
                "life_situation": situation or None,
                "segments": [segment] if segment else [],
                "created_by": s.user.name,
            }
        )
    except ValueError:  # pydantic's ValidationError is a ValueError
        return back(PAGE, error=INVALID)
    await campaign_store.create_campaign(redis, campaign)
    log.info("campaign %s created by a supervisor", campaign.id)
    if launch:
        report = await campaign_store.launch_campaign(redis, campaign.id)
        return back(PAGE, note=f"Рассылка «{campaign.title}» запущена. {launched(report)}")
    report = await campaign_store.launch_campaign(redis, campaign.id, dry_run=True)
    return back(
        PAGE,
        note=f"Рассылка «{campaign.title}» сохранена, но ещё не отправлена. "
        f"Её получат клиентов: {report.queued} "
        f"(с согласием на эту тему; всего клиентов с согласиями — "
        f"{report.clients}). Нажмите «Разослать», когда будете готовы.",
    )


@router.post("/campaigns/{campaign_id}/launch")
async def launch_campaign(campaign_id: str, s: SupervisorForm, c: ConsoleDep) -> Response:
    redis = c.runtime.redis
    campaign = await campaign_store.get_campaign(redis, campaign_id)
    if campaign is None:
        return back(PAGE, error=NO_SUCH)
    report = await campaign_store.launch_campaign(redis, campaign_id)
    return back(PAGE, note=f"Рассылка «{campaign.title}» запущена. {launched(report)}")


def launched(report: campaign_store.LaunchReport) -> str:
    """A launch report in words: whom it reached and why the others were left out."""
    parts = [f"Поставлено в очередь сообщений: {report.queued}."]
    if report.already_queued:
        parts.append(f"Уже получали её раньше (повторно не отправляется): {report.already_queued}.")
    parts.append(f"Без согласия на эту тему: {report.no_consent}; из других групп клиентов: {report.other_segment}.")
    parts.append("Сообщения уходят сразу, в тихие часы клиента — утром.")
    return " ".join(parts)
