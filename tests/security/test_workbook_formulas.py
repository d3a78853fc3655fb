"""The monthly workbook stores text from people as text cells: a code or a name that starts like a
formula (=, +, -, @) is never written as a formula, so opening the file runs nothing."""

from __future__ import annotations

import io
import zipfile
from datetime import date
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from notifier.bulletins.workbook import monthly_workbook
from notifier.numbers.rates import ListEntry, Numbers, ProjectFigures, ScopeRates, UnitRates, WeekActivity

HOSTILE = ["=HYPERLINK(\"http://evil.example\",\"点我\")", "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)",
           "=1+1"]  # fmt: skip


def _numbers(unit_name: str, reason: str) -> Numbers:
    rates = ScopeRates(1, 1, 0, 1, Decimal(1), Decimal(3))
    unit = UnitRates(code=unit_name, name=unit_name, short_name=unit_name, unit_id=1, rates=rates,
                     rank={"start_rate": 1, "procedure_rate": 1, "investment_rate": 1})  # fmt: skip
    black = [ListEntry(project_id=1, code="=P", name="x", unit_code=unit_name, reason=reason)]
    return Numbers(as_of=date(2026, 11, 30), year=2026, time_schedule=Decimal(11) / 12, overall=rates, units=[unit],
                   red_list=[], black_list=black, report_week="2026-W48", not_reported=[],
                   week=WeekActivity("2026-W48", 0, Decimal(0), 0, 0))  # fmt: skip


def _project(code: str, name: str) -> ProjectFigures:
    return ProjectFigures(project_id=1, code=code, name=name, unit_code=code, stage="new", planned_start=None,
                          annual_plan=Decimal(3), investment_done=Decimal(1), started=True, procedures_done=0,
                          procedures_required=1, reports=0, lead_id=None, unit_leader_id=None)  # fmt: skip


@pytest.mark.parametrize("text", HOSTILE)
def test_formula_like_text_is_stored_as_text(text: str) -> None:
    data = monthly_workbook(_numbers(text, text), [_project(text, text)])
    book = load_workbook(io.BytesIO(data))
    projects, units = book["项目明细"], book["单位三率"]
    row = [c for c in projects[5]]
    for cell in (row[0], row[1], row[2], row[12], units[5][0], units[5][1]):
        assert cell.data_type == "s", (cell.coordinate, cell.value)
        assert str(cell.value).endswith(text)
    assert row[0].value == text and row[1].value == text and row[2].value == text
    assert row[0].quotePrefix and row[1].quotePrefix
    # No formula anywhere in the file: not one <f> element in any sheet.
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        sheets = [n for n in archive.namelist() if n.startswith("xl/worksheets/")]
        assert sheets and all(b"<f>" not in archive.read(n) and b"<f " not in archive.read(n) for n in sheets)


def test_plain_text_gets_no_quote_prefix() -> None:
    book = load_workbook(
        io.BytesIO(monthly_workbook(_numbers("阿拉善左旗", "逾期未开工"), [_project("P1", "供水工程")]))
    )
    cell = book["项目明细"]["A5"]
    assert (cell.value, cell.data_type, cell.quotePrefix) == ("P1", "s", False)
