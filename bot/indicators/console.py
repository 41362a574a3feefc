"""The indicators page of the operator console, for supervisors:

    GET /console/indicators         the standard's indicators with star levels, the assistant's
                                    measures and weekly charts, for a period, channel and life
                                    situation (a GET form: the address is the report)
    GET /console/indicators.csv     the same for the project office, as CSV
    GET /console/indicators.xlsx    … and as an Excel workbook

Registered by the indicators module's `routes` hook when the console is installed.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.responses import HTMLResponse, Response

from handoff.console import ConsoleDep, Link, Session, add_pages, supervisor
from knowledge_base.models import LIFE_SITUATIONS

from .charts import line_chart
from .export import to_csv, to_xlsx
from .report import Filter
from .service import MAX_DAYS, Indicators

TEMPLATES = Path(__file__).parent / "templates"
PAGE = "/console/indicators"
LINK = Link(PAGE, "Показатели", about="Показатели качества по стандарту: простота, удовлетворённость, NPS, повторы")
SUPERVISORS_ONLY = "Показатели качества смотрит руководитель смены. Если они нужны вам, обратитесь к нему."
BAD_PERIOD = "Не удалось прочитать период — показаны последние 4 недели. Укажите даты в календаре и нажмите «Показать»."
LONG_PERIOD = f"Период длиннее {MAX_DAYS} дней сокращён: показаны последние {MAX_DAYS} дней выбранного периода."
# the weekly charts: the shares a centre watches from week to week
CHARTS = (
    ("standard", "ease", "Простота («Легко» и «Скорее легко»)"),
    ("standard", "satisfaction", "Удовлетворённость («Удовлетворён» и «Скорее удовлетворён»)"),
    ("assistant", "solved", "Решено без оператора"),
    ("assistant", "helped", "Ответ помог"),
)

Supervisor = Annotated[Session, Depends(supervisor(SUPERVISORS_ONLY))]
router = APIRouter(prefix="/console")


def install(app: FastAPI, indicators: Indicators) -> None:
    app.state.indicators = indicators
    add_pages(app, TEMPLATES, LINK)
    app.include_router(router)


def indicators_of(request: Request) -> Indicators:
    found: Indicators = request.app.state.indicators
    return found


IndicatorsDep = Annotated[Indicators, Depends(indicators_of)]


CHANNEL_CODE = re.compile(r"[a-z][a-z0-9_]{0,31}")


def _filter(indicators: Indicators, start: str, end: str, channel: str, situation: str) -> tuple[Filter, str]:
    """The filter the form asks for, or the last 4 weeks and why."""
    first, last = indicators.default_period()
    note = ""
    if start or end:
        try:
            first, last = date.fromisoformat(start or end), date.fromisoformat(end or start)
        except ValueError:
            first, last = indicators.default_period()
            note = BAD_PERIOD
    first, last = min(first, last), max(first, last)
    if (last - first).days >= MAX_DAYS:
        first, note = last - timedelta(days=MAX_DAYS - 1), LONG_PERIOD
    situation = situation if situation in LIFE_SITUATIONS else ""
    # a channel is a code («telegram», «max»): anything else (a mangled link) means all of them
    channel = channel.strip() if CHANNEL_CODE.fullmatch(channel.strip()) else ""
    return Filter(first, last, channel, situation), note


Param = Annotated[str, Query(max_length=32)]


@router.get("/indicators", response_class=HTMLResponse)
async def indicators_page(
    request: Request,
    s: Supervisor,
    c: ConsoleDep,
    ind: IndicatorsDep,
    start: Param = "",
    end: Param = "",
    channel: Param = "",
    situation: Param = "",
) -> Response:
    f, note = _filter(ind, start, end, channel, situation)
    report = await ind.report(f)
    charts = []
    for section, key, title in CHARTS:
        points = [
            (week, next(i.value for i in (standard if section == "standard" else assistant) if i.key == key))
            for week, standard, assistant in report.weeks
        ]
        charts.append(line_chart(title, points))
    query = urlencode(
        {"start": f.start.isoformat(), "end": f.end.isoformat(), "channel": f.channel, "situation": f.situation}
    )
    return c.page(
        request,
        "indicators.html",
        s,
        report=report,
        f=f,
        note=note,
        charts=charts,
        query=query,
        situations=LIFE_SITUATIONS,
        min_sample=ind.reader.min_sample,
        chart_titles=[title for *_, title in CHARTS],
        channels=sorted({*report.channels, *([f.channel] if f.channel else [])}),
    )


@router.get("/indicators.csv")
async def indicators_csv(
    s: Supervisor, ind: IndicatorsDep, start: Param = "", end: Param = "", channel: Param = "", situation: Param = ""
) -> Response:
    f, _ = _filter(ind, start, end, channel, situation)
    body = to_csv(await ind.report(f))
    return _download(body, "text/csv; charset=utf-8", f"indicators-{f.start:%Y%m%d}-{f.end:%Y%m%d}.csv")


@router.get("/indicators.xlsx")
async def indicators_xlsx(
    s: Supervisor, ind: IndicatorsDep, start: Param = "", end: Param = "", channel: Param = "", situation: Param = ""
) -> Response:
    f, _ = _filter(ind, start, end, channel, situation)
    body = to_xlsx(await ind.report(f))
    kind = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return _download(body, kind, f"indicators-{f.start:%Y%m%d}-{f.end:%Y%m%d}.xlsx")


def _download(body: bytes, media_type: str, name: str) -> Response:
    return Response(body, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{name}"'})
