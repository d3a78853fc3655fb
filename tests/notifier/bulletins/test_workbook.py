"""The monthly workbook reads as a report: title and as-of rows, a frozen header, unit names, a
合计 row with the rates of the totals, readable widths, exact ratios shown as percentages."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

from openpyxl import load_workbook
from sqlmodel.ext.asyncio.session import AsyncSession

from models import BulletinKind, Project, Stage, Unit, UnitKind
from notifier.bulletins.compose import compose_bulletin
from notifier.bulletins.workbook import monthly_workbook
from notifier.core.settings import Settings
from notifier.numbers.rates import project_figures


async def test_monthly_workbook_is_a_report(session: AsyncSession, settings: Settings) -> None:
    for order, (code, name) in enumerate([("ALZQ", "阿拉善左旗"), ("GXQ", "阿拉善高新技术产业开发区")]):
        unit = Unit(code=code, name=name, kind=UnitKind.BANNER, sort_order=order)
        session.add(unit)
        await session.flush()
        session.add(Project(code=f"{code}-1", name=f"{name}储能电站项目", unit_id=unit.id or 0, year=2026,
                            stage=Stage.NEW, actual_start=date(2026, 4, 1) if order == 0 else None,
                            annual_plan=Decimal(30_000_000), ytd_base=Decimal(10_000_000 * (order + 1)),
                            procedures_required=3, procedures_base=order + 1))  # fmt: skip
    await session.commit()
    composed = await compose_bulletin(
        session, settings=settings, kind=BulletinKind.MONTHLY, as_of=date(2026, 12, 1)
    )
    figures = await project_figures(session, as_of=composed.as_of)
    book = load_workbook(io.BytesIO(monthly_workbook(composed.numbers, figures)))

    projects = book["项目明细"]
    assert projects["A1"].value == "重点项目月报告(2026年11月)"
    assert projects["A2"].value == "截至2026年11月30日 · 2026年度项目清单 · 序时进度 91.7%"
    assert projects["A4"].value == "项目编号" and projects.freeze_panes == "A5"
    assert [projects.cell(row=r, column=3).value for r in (5, 6)] == [
        "阿拉善左旗",
        "阿拉善高新技术产业开发区",
    ]
    total = [c.value for c in projects[7]]
    assert total[:2] == ["合计", "2个项目"]
    assert total[5:12] == [6000.0, 3000.0, 0.5, 1, 3, 6, 0]
    assert projects["H5"].value == 1 / 3 and projects["H5"].number_format == "0.0%"
    assert projects["F5"].number_format == "#,##0.00"
    assert projects.column_dimensions["B"].width > projects.column_dimensions["A"].width >= 10
    assert projects.column_dimensions["C"].width >= 2 * len("阿拉善高新技术产业开发区")

    units = book["单位三率"]
    assert units.freeze_panes == "A5"
    assert [c.value for c in units[7]][:6] == ["合计", "全盟", 2, 0.5, 0.5, 0.5]
    assert units["D5"].number_format == units["F7"].number_format == "0.0%"
