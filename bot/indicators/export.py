"""The indicators for the project office: CSV (semicolons and a BOM, as Russian
Excel opens it) and XLSX (a sheet of indicators, a sheet of weeks). Counts and
shares only: nothing about a client is in a report."""

from __future__ import annotations

import csv
import io

from openpyxl import Workbook
from openpyxl.styles import Font

from .report import Report
from .standard import Indicator

HEADER = ("Раздел", "Показатель", "Значение", "Выборка", "Уровень")
WEEK_HEADER = ("Неделя с", "Показатель", "Значение", "Выборка", "Уровень")
SECTIONS = (("Стандарт, таблица 1", "standard"), ("Помощник", "assistant"))


def _value(i: Indicator) -> float | None:
    """The number a spreadsheet can compute with: percent for shares."""
    if i.value is None:
        return None
    return round(i.value * 100, 1) if i.kind == "share" else round(i.value, 1)


def _unit(i: Indicator) -> str:
    return {"share": " (%)", "nps": "", "seconds": " (с)", "count": ""}[i.kind]


def rows(report: Report) -> list[tuple[object, ...]]:
    out: list[tuple[object, ...]] = []
    for section, attr in SECTIONS:
        for i in getattr(report, attr):
            out.append((section, i.title + _unit(i), _value(i), i.sample, i.level if attr == "standard" else ""))
    return out


def week_rows(report: Report) -> list[tuple[object, ...]]:
    return [
        (week.strftime("%d.%m.%Y"), i.title + _unit(i), _value(i), i.sample, i.level if i in standard else "")
        for week, standard, assistant in report.weeks
        for i in (*standard, *assistant)
    ]


def period_line(report: Report) -> str:
    f = report.filter
    line = f"Период: {f.start:%d.%m.%Y} — {f.end:%d.%m.%Y}"
    return line + (f"; канал: {f.channel}" if f.channel else "") + (f"; ситуация: {f.situation}" if f.situation else "")


def to_csv(report: Report) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";")
    writer.writerow([period_line(report)])
    writer.writerow(HEADER)
    for row in rows(report):
        writer.writerow(["" if v is None else str(v).replace(".", ",") if isinstance(v, float) else v for v in row])
    return buffer.getvalue().encode("utf-8-sig")


def to_xlsx(report: Report) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Показатели"
    sheet.append([period_line(report)])
    sheet.append(HEADER)
    for row in rows(report):
        sheet.append(list(row))
    weeks = book.create_sheet("По неделям")
    weeks.append(WEEK_HEADER)
    for row in week_rows(report):
        weeks.append(list(row))
    for ws in (sheet, weeks):
        for cell in ws[2 if ws is sheet else 1]:
            cell.font = Font(bold=True)
        ws.column_dimensions["A"].width = 20
        ws.column_dimensions["B"].width = 70
        ws.column_dimensions["E"].width = 16
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
