"""The monthly report's spreadsheet: one row per project, with the unit rates on a second sheet."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter

from notifier.numbers.rates import Numbers, ProjectFigures, fraction

STAGE_ZH = {"preparatory": "前期", "new": "新开工", "continuing": "续建", "completed": "竣工投产"}
PROJECT_HEADINGS = ["项目编号", "项目名称", "所属单位", "建设性质", "计划开工时间", "年度计划投资(万元)", "本年完成投资(万元)",
                    "投资完成率", "是否开复工", "已办手续数", "应办手续数", "周报次数", "红黑榜"]  # fmt: skip
UNIT_HEADINGS = ["单位编号", "单位名称", "项目数", "开复工率", "手续办结率", "投资完成率", "开复工率排名", "手续办结率排名",
                 "投资完成率排名"]  # fmt: skip
WAN = Decimal(10_000)


def monthly_workbook(numbers: Numbers, projects: list[ProjectFigures]) -> bytes:
    """The .xlsx bytes for the monthly report as of `numbers.as_of`."""
    red = {e.project_id for e in numbers.red_list}
    black = {e.project_id: e.reason for e in numbers.black_list}
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "项目明细"
    _header(sheet, PROJECT_HEADINGS)
    for p in projects:
        mark = (
            f"黑榜:{black[p.project_id]}" if p.project_id in black else "红榜" if p.project_id in red else ""
        )
        sheet.append([p.code, p.name, p.unit_code, STAGE_ZH.get(p.stage, p.stage), _day(p.planned_start),
                      float((p.annual_plan / WAN).quantize(Decimal("0.01"))),
                      float((p.investment_done / WAN).quantize(Decimal("0.01"))), fraction(p.investment_rate),
                      "是" if p.started else "否", p.procedures_done, p.procedures_required, p.reports, mark])  # fmt: skip
    _percent(sheet, 8)
    units = book.create_sheet("单位三率")
    _header(units, UNIT_HEADINGS)
    for u in numbers.units:
        units.append([u.code, u.name, u.rates.projects, fraction(u.rates.start_rate), fraction(u.rates.procedure_rate),
                      fraction(u.rates.investment_rate), u.rank["start_rate"], u.rank["procedure_rate"],
                      u.rank["investment_rate"]])  # fmt: skip
    for column in (4, 5, 6):
        _percent(units, column)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _day(value: date | None) -> str:
    return value.isoformat() if value else ""


def _header(sheet: object, headings: list[str]) -> None:
    sheet.append(headings)  # type: ignore[attr-defined]
    for index, _ in enumerate(headings, start=1):
        cell = sheet.cell(row=1, column=index)  # type: ignore[attr-defined]
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDEBF7")
        sheet.column_dimensions[get_column_letter(index)].width = 14  # type: ignore[attr-defined]


def _percent(sheet: object, column: int) -> None:
    for row in sheet.iter_rows(min_row=2, min_col=column, max_col=column):  # type: ignore[attr-defined]
        for cell in row:
            cell.number_format = "0.0%"
