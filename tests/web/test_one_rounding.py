"""One rounding: for each unit the rates read the same on the wall (the page the FastAPI app
renders), in the unit leaders' SMS and in the monthly workbook (the stored exact ratio shown
through its number format), including figures where rounding twice would differ."""

from __future__ import annotations

import io
import re
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import httpx
from openpyxl import load_workbook
from sqlmodel.ext.asyncio.session import AsyncSession

from models import BulletinKind, Person, Project, Role, Stage, Unit, UnitKind
from notifier.bulletins.compose import compose_bulletin
from notifier.bulletins.workbook import monthly_workbook
from notifier.core.settings import Settings
from notifier.numbers.rates import project_figures
from web.security import hash_password

AS_OF = date(2026, 11, 30)
# unit code -> (projects started of 3, procedures done / required, investment done / plan in yuan)
UNITS = {
    "U1": (
        1,
        (2149, 3998),
        (53749, 100000),
    ),  # 53.749%: 53.7%, though its four-decimal fraction 0.5375 reads 53.8%
    "U2": (2, (43, 80), (43, 80)),  # exactly 53.75%: half up, 53.8%
    "U3": (0, (1, 3), (2, 3)),
    "U4": (3, (0, 7), (1, 2001)),  # 0.0499…%: 0.0%
}


async def _office(session: AsyncSession) -> None:
    session.add(
        Person(
            name="管理员", phone="+8613900000001", role=Role.ADMIN, password_hash=hash_password("pw-0123456")
        )
    )
    for order, (code, (started, (done, required), (invested, plan))) in enumerate(UNITS.items()):
        unit = Unit(code=code, name=f"单位{code}", kind=UnitKind.BANNER, sort_order=order)
        session.add(unit)
        await session.flush()
        for i in range(3):
            session.add(Project(code=f"{code}-{i}", name=f"项目{code}{i}", unit_id=unit.id or 0, year=2026,
                                stage=Stage.NEW, actual_start=date(2026, 3, 1) if i < started else None,
                                procedures_required=required if i == 0 else 0, procedures_base=done if i == 0 else 0,
                                annual_plan=Decimal(plan) if i == 0 else Decimal(0),
                                ytd_base=Decimal(invested) if i == 0 else Decimal(0)))  # fmt: skip
    await session.commit()


def _excel_text(value: Any, number_format: str) -> str:
    """What a spreadsheet shows for a number under "0.0%" (15 significant digits, then half up)."""
    assert number_format == "0.0%"
    if value is None:
        return "—"
    return f"{(Decimal(format(value, '.15g')) * 100).quantize(Decimal('0.1'), ROUND_HALF_UP)}%"


async def test_wall_sms_and_workbook_show_the_same_percentages(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    await _office(session)
    page = await client.get("/admin/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf is not None
    await client.post(
        "/admin/login", data={"name": "管理员", "password": "pw-0123456", "csrf": csrf.group(1)}
    )
    wall = (await client.get(f"/wall?as_of={AS_OF}")).text

    composed = await compose_bulletin(session, settings=settings, kind=BulletinKind.MONTHLY, as_of=AS_OF)
    book = load_workbook(
        io.BytesIO(monthly_workbook(composed.numbers, await project_figures(session, as_of=AS_OF)))
    )
    sheet = book["单位三率"]
    rows = {r[0].value: r for r in sheet.iter_rows(min_row=5) if r[0].value in UNITS}

    seen = {}
    for code in UNITS:
        row = re.search(rf'<tr data-unit="{code}">(.*?)</tr>', wall, re.S)
        assert row is not None
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row.group(1))
        on_wall = [cells[2], cells[4], cells[6]]
        lead = re.search(rf"单位{code}:开复工率(.+?)\(第.+?名\),手续办结率(.+?)\(第.+?名\),投资完成率(.+?)\(",
                         composed.unit_sms[code])  # fmt: skip
        assert lead is not None
        in_sms = list(lead.groups())
        in_book = [_excel_text(rows[code][i].value, rows[code][i].number_format) for i in (3, 4, 5)]
        assert on_wall == in_sms == in_book, code
        seen[code] = on_wall
    assert seen["U1"][2] == "53.7%" and seen["U2"][2] == "53.8%" and seen["U4"][2] == "0.0%"
    assert seen["U3"] == ["0.0%", "33.3%", "66.7%"]
