"""QR / bank-transfer payments in the operator console, for supervisors:

    GET  /console/payments              payments awaited by QR or requisites, the latest marks (audit)
    POST /console/payments/mark         mark one received (УИН and amount)
    POST /console/payments/statement    import a bank statement (CSV): every row whose УИН and amount match

Registered by the payments module's `routes` hook when the handoff module (the
console) is installed; sign-in, CSRF and roles are the console's dependencies.
Each mark is audited with the supervisor's name (bot/payments/staff.py).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, Response

from handoff.console import ConsoleDep, Link, Session, add_pages, back, supervisor

from . import staff
from .catalogue import format_rubles
from .service import PaymentService
from .staff import decode

log = logging.getLogger("payments.console")

TEMPLATES = Path(__file__).parent / "templates"
PAGE = "/console/payments"
LINK = Link(PAGE, "Оплаты по QR", about="Отметить полученными оплаты по QR-коду и реквизитам, загрузить выписку банка")
SUPERVISORS_ONLY = "Оплаты отмечает руководитель смены. Если клиент сообщил об оплате, передайте ему УИН из квитанции."
BAD_AMOUNT = "Сумма не распознана: напишите её в рублях, например 1200 или 1200,00."
BAD_FILE = "Выписку не удалось прочитать: {problem}. Нужен файл CSV (разделитель «;» или «,»), в кодировке UTF-8."
STATEMENT_MAX_BYTES = 2_000_000

Supervisor = Annotated[Session, Depends(supervisor(SUPERVISORS_ONLY))]
SupervisorForm = Annotated[Session, Depends(supervisor(SUPERVISORS_ONLY, form=True))]

router = APIRouter(prefix="/console")


def install(app: FastAPI) -> None:
    add_pages(app, TEMPLATES, LINK)
    app.include_router(router)


def _service(c: ConsoleDep) -> PaymentService:
    svc = c.runtime.payments
    assert svc is not None  # the page is registered by the payments module
    return svc


@router.get("/payments", response_class=HTMLResponse)
async def payments_page(request: Request, s: Supervisor, c: ConsoleDep, note: str = "", error: str = "") -> Response:
    svc = _service(c)
    awaiting = [
        {"o": o, "amount": format_rubles(o.amount_kopecks), "rubles": f"{o.amount_kopecks / 100:.2f}".replace(".", ",")}
        for o in await staff.awaiting(svc)
    ]
    marks = [
        {"m": m, "amount": format_rubles(m.amount_kopecks) if m.amount_kopecks else "—"}
        for m in await staff.audit(c.runtime.redis)
    ]
    return c.page(request, "payments.html", s, awaiting=awaiting, marks=marks, note=note, error=error)


@router.post("/payments/mark")
async def mark(
    s: SupervisorForm, c: ConsoleDep, uin: Annotated[str, Form()] = "", amount: Annotated[str, Form()] = ""
) -> Response:
    kopecks = staff.parse_rubles(amount)
    if kopecks is None:
        return back(PAGE, error=BAD_AMOUNT)
    marked = await staff.mark_received(_service(c), c.runtime.redis, uin, kopecks, by=s.user.name, source="console")
    log.info("payment mark by a supervisor: %s", marked.result)
    text = f"УИН {marked.uin}: {marked.title}."
    return back(PAGE, note=text) if marked.result in ("marked", "already_paid") else back(PAGE, error=text)


@router.post("/payments/statement")
async def statement(s: SupervisorForm, c: ConsoleDep, file: UploadFile) -> Response:
    raw = await file.read(STATEMENT_MAX_BYTES + 1)
    try:
        if len(raw) > STATEMENT_MAX_BYTES:
            raise staff.StatementError("файл больше 2 МБ — разделите выписку на части")
        text = decode(raw)
        report = await staff.import_statement(_service(c), c.runtime.redis, text, by=s.user.name, source="statement")
    except staff.StatementError as exc:
        return back(PAGE, error=BAD_FILE.format(problem=exc))
    marked = sum(1 for m in report if m.result == "marked")
    problems = [f"{m.uin or 'без УИН'} — {m.title}" for m in report if m.result not in ("marked", "already_paid")]
    note = f"Выписка обработана: строк {len(report)}, отмечено оплаченными {marked}."
    if problems:
        note += " Требуют проверки: " + "; ".join(problems[:10]) + "."
    return back(PAGE, note=note)
