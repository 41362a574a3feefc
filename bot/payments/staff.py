"""Staff confirm QR / bank-transfer payments: one by one (by УИН) or from a bank
statement (CSV), each with an entry in the audit stream.

A QR payment goes to the Treasury under the order's УИН and the assistant never
sees it unless a ГИС ГМП connection is configured (gisgmp.py). Until then a
member of staff who sees the money arrive marks the order received here (the
console page, bot/payments/console.py, or `python -m bot.payments`). The mark
goes through the same status machine as a gateway's notification
(PaymentService.apply), so the client is notified once, a repeat changes
nothing, and an amount that differs from the accrual is refused.
"""

from __future__ import annotations

import csv
import io
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from redis.asyncio import Redis

from . import keys as pay_keys
from . import uin as uin_codes
from .providers import Observed
from .service import PaymentService
from .status import OPEN, PaymentMethod, PaymentStatus

Result = Literal["marked", "already_paid", "amount_differs", "not_found", "closed", "bad_uin", "no_uin"]
Source = Literal["console", "cli", "statement"]

RESULT_TITLES: dict[str, str] = {
    "marked": "отмечен как полученный, клиенту отправлено подтверждение",
    "already_paid": "уже был отмечен оплаченным — ничего не изменилось",
    "amount_differs": "сумма не совпадает с начислением — не отмечен, проверьте платёж",
    "not_found": "начисления с таким УИН нет — проверьте номер",
    "closed": "начисление закрыто (платёж не прошёл или возвращён) — не отмечен",
    "bad_uin": "УИН записан с ошибкой — проверьте номер",
    "no_uin": "в строке выписки нет УИН — сверьте платёж вручную",
}
UIN_IN_TEXT = re.compile(r"(?<!\d)(\d{20}|\d{25})(?!\d)")


@dataclass(frozen=True)
class Marked:
    uin: str
    result: Result
    amount_kopecks: int | None = None
    order_id: str | None = None

    @property
    def title(self) -> str:
        return RESULT_TITLES[self.result]


def parse_rubles(text: str) -> int | None:
    """«1 200,00» / «1200.5» / «1200» → kopecks; None when it is no amount."""
    cleaned = re.sub(r"[\s\u00a0₽рруб.]*$", "", text.strip().lower()).replace("\u00a0", "").replace(" ", "")
    match = re.fullmatch(r"(\d{1,12})(?:[.,](\d{1,2}))?", cleaned)
    if not match:
        return None
    return int(match.group(1)) * 100 + int((match.group(2) or "0").ljust(2, "0"))


async def mark_received(
    svc: PaymentService,
    redis: Redis,
    uin: str,
    amount_kopecks: int | None,
    *,
    by: str,
    source: Source,
    reference: str = "",
) -> Marked:
    """Mark the order of this УИН paid (the amount, when given, must be the accrual's);
    the client is notified by the service. Every attempt is audited, refused ones too."""
    marked = await _mark(svc, uin, amount_kopecks, reference=reference)
    await redis.xadd(
        pay_keys.payment_audit(),
        {
            "ts": f"{time.time():.3f}",
            "by": by,
            "source": source,
            "uin": marked.uin,
            "order": marked.order_id or "",
            "amount": str(amount_kopecks or ""),
            "result": marked.result,
            "reference": reference[:80],
        },
        maxlen=pay_keys.PAYMENT_AUDIT_MAX,
        approximate=True,
    )
    return marked


async def _mark(svc: PaymentService, uin: str, amount_kopecks: int | None, *, reference: str) -> Marked:
    try:
        uin = uin_codes.validate(uin)
    except uin_codes.UinError:
        return Marked(uin=uin.strip(), result="bad_uin", amount_kopecks=amount_kopecks)
    order = await svc.orders.by_uin(uin)
    if order is None:
        return Marked(uin=uin, result="not_found", amount_kopecks=amount_kopecks)
    if amount_kopecks is not None and amount_kopecks != order.amount_kopecks:
        return Marked(uin=uin, result="amount_differs", amount_kopecks=amount_kopecks, order_id=order.id)
    if order.status is PaymentStatus.paid:
        return Marked(uin=uin, result="already_paid", amount_kopecks=amount_kopecks, order_id=order.id)
    if order.status not in (*OPEN, PaymentStatus.expired):
        return Marked(uin=uin, result="closed", amount_kopecks=amount_kopecks, order_id=order.id)
    seen = Observed(
        status=PaymentStatus.paid,
        provider_payment_id=f"staff:{reference or uin}",
        amount_kopecks=order.amount_kopecks,
    )
    order, changed = await svc.apply(order, seen, PaymentMethod.qr, announce=True)
    result: Result = "marked" if changed else "already_paid"
    return Marked(uin=uin, result=result, amount_kopecks=order.amount_kopecks, order_id=order.id)


# ----------------------------------------------------------- bank statements
# Column titles banks use in statement exports (lower case, without spaces).
UIN_COLUMNS = ("уин", "uin", "кодуин", "уип", "идентификаторплатежа")
AMOUNT_COLUMNS = ("сумма", "amount", "суммаприход", "поступление", "кредит", "приход")
PURPOSE_COLUMNS = ("назначение", "назначениеплатежа", "purpose")
NUMBER_COLUMNS = ("номер", "номердокумента", "№", "number", "номерплатежа")


@dataclass(frozen=True)
class StatementRow:
    line: int
    uin: str
    amount_kopecks: int | None
    reference: str


class StatementError(ValueError):
    """The file is not a statement we can read (the message says what to fix)."""


def decode(raw: bytes) -> str:
    """A statement file's text: UTF-8, or windows-1251 as bank exports often are."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("windows-1251")


def read_statement(text: str) -> list[StatementRow]:
    """Rows of a bank statement CSV (`;` or `,`, a header row naming the columns).
    The УИН comes from its column or, failing that, from the purpose of payment."""
    text = text.lstrip("\ufeff")
    if not text.strip():
        raise StatementError("файл пустой")
    dialect = ";" if text.split("\n", 1)[0].count(";") >= text.split("\n", 1)[0].count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=dialect)
    header = [re.sub(r"\s+", "", h.lower()) for h in next(reader)]

    def column(names: Iterable[str]) -> int | None:
        return next((i for i, h in enumerate(header) if h in names), None)

    uin_at, amount_at = column(UIN_COLUMNS), column(AMOUNT_COLUMNS)
    purpose_at, number_at = column(PURPOSE_COLUMNS), column(NUMBER_COLUMNS)
    if amount_at is None or (uin_at is None and purpose_at is None):
        raise StatementError("в первой строке нужны названия столбцов: «Сумма» и «УИН» (или «Назначение платежа»)")
    rows = []
    for n, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue

        def cell(at: int | None, cells: list[str] = cells) -> str:
            return cells[at].strip() if at is not None and at < len(cells) else ""

        uin = re.sub(r"\D", "", cell(uin_at))
        if not uin:  # the first number in the purpose that is a УИН (a КБК there has no check digit)
            uin = next((n for n in UIN_IN_TEXT.findall(cell(purpose_at)) if uin_codes.is_valid(n)), "")
        rows.append(StatementRow(n, uin, parse_rubles(cell(amount_at)), cell(number_at)))
    return rows


async def import_statement(svc: PaymentService, redis: Redis, text: str, *, by: str, source: Source) -> list[Marked]:
    """Mark every statement row whose УИН and amount match an order; report each row."""
    report = []
    for row in read_statement(text):
        if not row.uin:
            report.append(Marked(uin="", result="no_uin", amount_kopecks=row.amount_kopecks))
            continue
        reference = f"statement:{row.reference or row.line}"
        report.append(
            await mark_received(svc, redis, row.uin, row.amount_kopecks, by=by, source=source, reference=reference)
        )
    return report


@dataclass(frozen=True)
class AuditEntry:
    ts: float
    by: str
    source: str
    uin: str
    amount_kopecks: int | None
    result: str

    @property
    def title(self) -> str:
        return RESULT_TITLES.get(self.result, self.result)


async def audit(redis: Redis, limit: int = 50) -> list[AuditEntry]:
    """The latest staff marks, newest first."""
    entries = await redis.xrevrange(pay_keys.payment_audit(), count=limit)
    return [
        AuditEntry(
            ts=float(f.get("ts") or 0),
            by=f.get("by", ""),
            source=f.get("source", ""),
            uin=f.get("uin", ""),
            amount_kopecks=int(f["amount"]) if f.get("amount") else None,
            result=f.get("result", ""),
        )
        for _, f in entries
    ]


async def awaiting(svc: PaymentService, limit: int = 50) -> list:
    """Open orders someone chose to pay by QR / requisites: what staff look out for."""
    out = []
    for order_id in await svc.orders.open_ids(limit=500):
        order = await svc.orders.get(order_id)
        if order and order.attempt(PaymentMethod.qr) and order.status in OPEN:
            out.append(order)
            if len(out) >= limit:
                break
    return out
