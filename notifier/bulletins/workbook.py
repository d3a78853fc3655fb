"""The monthly report's spreadsheet, laid out as a report: a title and as-of rows, a frozen header,
one row per project (unit names, not codes), a 合计 row, readable widths; the unit rates on a
second sheet.

Rates are stored as the exact ratio with the number format "0.0%", so a spreadsheet shows the
same text as `format_rate` (the SMS, the wall); totals are the rates of the totals. Text that
came from people (codes, names, reasons) is always stored as a text cell, never as a formula:
a name such as "=HYPERLINK(...)" or "+1" shows as typed and runs nothing when the file is opened.
"""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from notifier.numbers.money import format_rate
from notifier.numbers.rates import Numbers, ProjectFigures, ratio

STAGE_ZH = {"preparatory": "前期", "new": "新开工", "continuing": "续建", "completed": "竣工投产"}
PROJECT_HEADINGS = ["项目编号", "项目名称", "所属单位", "建设性质", "计划开工时间", "年度计划投资(万元)", "本年完成投资(万元)",
                    "投资完成率", "是否开复工", "已办手续数", "应办手续数", "周报次数", "红黑榜"]  # fmt: skip
UNIT_HEADINGS = ["单位编号", "单位名称", "项目数", "开复工率", "手续办结率", "投资完成率", "开复工率排名", "手续办结率排名",
                 "投资完成率排名"]  # fmt: skip
WAN = Decimal(10_000)
PERCENT = "0.0%"
MONEY = "#,##0.00"
# A cell whose text starts with one of these would be read as a formula by spreadsheet programs.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Rows above the table: the title, the as-of line, a blank row; the header is the row after.
HEADER_ROW = 4
HEADING_FILL = PatternFill("solid", fgColor="DDEBF7")
TOTAL_FILL = PatternFill("solid", fgColor="F2F2F2")


def monthly_workbook(
    numbers: Numbers, projects: list[ProjectFigures], *, title: str = "重点项目月报告"
) -> bytes:
    """The .xlsx bytes for the monthly report as of `numbers.as_of`."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "项目明细"
    _project_sheet(sheet, numbers, projects, title)
    _unit_sheet(book.create_sheet("单位三率"), numbers, title)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _project_sheet(sheet: Worksheet, numbers: Numbers, projects: list[ProjectFigures], title: str) -> None:
    red = {e.project_id for e in numbers.red_list}
    black = {e.project_id: e.reason for e in numbers.black_list}
    names = {u.code: u.name for u in numbers.units}
    _top(sheet, numbers, title, PROJECT_HEADINGS)
    for p in projects:
        mark = (
            f"黑榜:{black[p.project_id]}" if p.project_id in black else "红榜" if p.project_id in red else ""
        )
        _row(sheet, [p.code, p.name, names.get(p.unit_code, p.unit_code), STAGE_ZH.get(p.stage, p.stage),
                     _day(p.planned_start), _wan(p.annual_plan), _wan(p.investment_done),
                     _exact(p.investment_rate), "是" if p.started else "否", p.procedures_done,
                     p.procedures_required, p.reports, mark])  # fmt: skip
    plan = sum((p.annual_plan for p in projects), Decimal(0))
    done = sum((p.investment_done for p in projects), Decimal(0))
    _row(sheet, ["合计", f"{len(projects)}个项目", "", "", "", _wan(plan), _wan(done), _exact(ratio(done, plan)),
                 sum(1 for p in projects if p.started), sum(p.procedures_done for p in projects),
                 sum(p.procedures_required for p in projects), sum(p.reports for p in projects), ""],
         total=True)  # fmt: skip
    _formats(sheet, {6: MONEY, 7: MONEY, 8: PERCENT})
    _widths(sheet)


def _unit_sheet(sheet: Worksheet, numbers: Numbers, title: str) -> None:
    _top(sheet, numbers, title, UNIT_HEADINGS)
    for u in numbers.units:
        _row(sheet, [u.code, u.name, u.rates.projects, _exact(u.rates.start_rate), _exact(u.rates.procedure_rate),
                     _exact(u.rates.investment_rate), u.rank["start_rate"], u.rank["procedure_rate"],
                     u.rank["investment_rate"]])  # fmt: skip
    overall = numbers.overall
    _row(sheet, ["合计", "全盟", overall.projects, _exact(overall.start_rate), _exact(overall.procedure_rate),
                 _exact(overall.investment_rate), "", "", ""], total=True)  # fmt: skip
    _formats(sheet, {4: PERCENT, 5: PERCENT, 6: PERCENT})
    _widths(sheet)


def _top(sheet: Worksheet, numbers: Numbers, title: str, headings: list[str]) -> None:
    """Title, as-of line, then the header row, frozen so it stays in view."""
    as_of = numbers.as_of
    _text(sheet.cell(row=1, column=1), f"{title}({as_of.year}年{as_of.month}月)").font = Font(
        bold=True, size=14
    )
    _text(sheet.cell(row=2, column=1), f"截至{as_of.year}年{as_of.month}月{as_of.day}日 · {numbers.year}年度项目清单 · "
                                       f"序时进度 {format_rate(numbers.time_schedule)}")  # fmt: skip
    for index, heading in enumerate(headings, start=1):
        cell = _text(sheet.cell(row=HEADER_ROW, column=index), heading)
        cell.font = Font(bold=True)
        cell.fill = HEADING_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    sheet.freeze_panes = f"A{HEADER_ROW + 1}"


def _row(sheet: Worksheet, values: list[Any], *, total: bool = False) -> None:
    row = sheet.max_row + 1
    for column, value in enumerate(values, start=1):
        cell = sheet.cell(row=row, column=column)
        if isinstance(value, str):
            _text(cell, value)
        else:
            cell.value = value
        if total:
            cell.font = Font(bold=True)
            cell.fill = TOTAL_FILL


def _text(cell: Any, value: str) -> Any:
    """A text cell whatever the text: openpyxl would store "=..." as a formula."""
    cell.value = value
    cell.data_type = "s"
    if value.startswith(FORMULA_STARTS):
        cell.quotePrefix = True  # spreadsheet programs keep it text when the cell is edited, too
    return cell


def _exact(value: Decimal | None) -> float | None:
    """The exact ratio (a float carries 17 significant digits; "0.0%" rounds it for display)."""
    return None if value is None else float(value)


def _wan(yuan: Decimal) -> float:
    return float((yuan / WAN).quantize(Decimal("0.01")))


def _day(value: date | None) -> str:
    return value.isoformat() if value else ""


def _formats(sheet: Worksheet, formats: dict[int, str]) -> None:
    for column, number_format in formats.items():
        for row in sheet.iter_rows(min_row=HEADER_ROW + 1, min_col=column, max_col=column):
            for cell in row:
                cell.number_format = number_format


def _widths(sheet: Worksheet) -> None:
    """Each column as wide as its longest heading or value (a Chinese character counts twice)."""
    for column in sheet.iter_cols(min_row=HEADER_ROW):
        longest = max((_display_width(c) for c in column), default=8)
        sheet.column_dimensions[get_column_letter(column[0].column or 1)].width = min(max(longest + 2, 8), 60)


def _display_width(cell: Any) -> int:
    if cell.value is None:
        return 0
    if cell.number_format == PERCENT:
        return 7
    text = str(cell.value)
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)
