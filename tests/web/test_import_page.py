"""The import page with the office's own list: the mapping shown, an unknown heading given its field by
the clerk, nothing written before the confirmation; in headless Chromium on a phone (390 px) and on
a 1080p office screen, with the screenshots kept in docs/."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Person, Project, Role
from notifier.core.settings import Settings
from notifier.importing.importer import ImportKind, import_file
from tests.fixtures.office_sheet import PEOPLE, UNITS, office_rows, office_sheet, write_csv
from tests.web.test_http import _csrf
from tests.web.test_http import _login as _client_login
from web.security import hash_password

DOCS = Path(__file__).resolve().parents[2] / "docs"
PASSWORD = "correct horse battery"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1920, "height": 1080}


@pytest.fixture
def web_settings(settings: Settings) -> Settings:
    """The conftest's server and browser serve these tests' own settings."""
    return settings


async def _office(session: AsyncSession, settings: Settings, tmp_path: Path) -> Path:
    """Units, people and an admin in the database; the office's list (lead column headed 负责同志) on disk."""
    for kind, rows in ((ImportKind.UNITS, UNITS), (ImportKind.PEOPLE, PEOPLE)):
        path = write_csv(tmp_path / f"{kind}.csv", rows)
        result = await import_file(session, settings=settings, kind=kind, path=path, year=2026)
        assert result.ok, result.errors
    session.add(
        Person(name="管理员", phone="+8613900000001", role=Role.ADMIN, password_hash=hash_password(PASSWORD))
    )
    await session.commit()
    return office_sheet(tmp_path / "2026年重点项目清单.xlsx", office_rows(lead_heading="负责同志"))


async def _projects(session: AsyncSession) -> int:
    return (await session.exec(select(func.count()).select_from(Project))).one()


async def _login(page: Any, base: str) -> None:
    await page.goto(f"{base}/admin/login")
    await page.fill("input[name=name]", "管理员")
    await page.fill("input[name=password]", PASSWORD)
    await page.click("#login")
    await page.wait_for_url(f"{base}/admin")


async def _no_sideways_scroll(page: Any) -> None:
    width = await page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], width


async def _upload(page: Any, base: str, sheet: Path) -> None:
    await page.goto(f"{base}/admin/import")
    await page.select_option("select[name=kind]", "projects")
    await page.set_input_files("input[name=upload]", str(sheet))
    await page.click("#import-check")
    await page.wait_for_selector("#import-report")


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
async def test_office_list_mapped_picked_and_confirmed(
    session: AsyncSession,
    settings: Settings,
    server: str,
    browser: Any,
    tmp_path: Path,
    viewport: dict[str, int],
) -> None:
    sheet = await _office(session, settings, tmp_path)
    page = await browser.new_page(viewport=viewport)
    await _login(page, server)
    await _upload(page, server, sheet)
    # The mapping: every headed column, the merged group's parts with their 万元, the unknown ones in yellow.
    rows = page.locator("#import-mapping-table tbody tr")
    assert await rows.count() == 11
    group = page.locator('#import-mapping-table tr[data-column="E"]')
    assert "投资情况（万元）/年度计划投资" in (await group.text_content() or "")
    assert "万元" in (await group.locator("td").nth(3).text_content() or "")
    unknown = page.locator("#import-mapping-table tr.unknown")
    assert [await unknown.nth(i).get_attribute("data-column") for i in range(await unknown.count())] == [
        "H",
        "K",
    ]
    # Without the lead's name, row 10's landline cannot say who leads it: refused, with the reason.
    assert "10联系电话手机号无效:0483-8312345" in (await page.text_content("#import-errors") or "")
    assert await page.locator("#import-confirm").count() == 0
    assert await _projects(session) == 0
    await _no_sideways_scroll(page)
    if viewport == PHONE and "sqlite" in settings.database_url:
        await page.screenshot(path=str(DOCS / "import-phone.png"), full_page=True)
    # The clerk picks 项目负责人 for 负责同志 and checks again: the list is valid, still nothing written.
    await page.select_option('select[name="map.H"]', "lead_name")
    await page.click("#import-recheck")
    await page.wait_for_selector("#import-confirm")
    assert await page.locator("#import-errors").count() == 0
    assert await page.locator('#import-mapping-table tr.chosen[data-column="H"]').count() == 1
    assert "备注" in (await page.text_content("#import-warnings") or "")
    notes = await page.text_content("#import-notes") or ""
    for said in ("标题行", "合计", "分组行", "注释行", "只有年月"):
        assert said in notes, said
    assert await _projects(session) == 0
    await _no_sideways_scroll(page)
    if viewport == DESKTOP and "sqlite" in settings.database_url:
        await page.screenshot(path=str(DOCS / "import-desktop.png"), full_page=True)
    await page.click("#import-confirm")
    await page.wait_for_selector("#import-done")
    assert await _projects(session) == 3
    leads = (await session.exec(select(Project.lead_id).where(Project.lead_id.is_not(None)))).all()  # type: ignore[union-attr]
    assert len(leads) == 3


async def test_picks_are_checked_and_bad_ones_refused(
    session: AsyncSession, settings: Settings, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    sheet = await _office(session, settings, tmp_path)
    await _client_login(client)
    csrf = _csrf((await client.get("/admin/import")).text)
    checked = await client.post("/admin/import", data={"csrf": csrf, "kind": "projects"},
                                files={"upload": (sheet.name, sheet.read_bytes(), "application/octet-stream")})  # fmt: skip
    assert checked.status_code == 422 and 'name="map.H"' in checked.text
    token = re.search(r'name="token" value="([^"]+)"', checked.text)
    assert token
    base = {"csrf": csrf, "kind": "projects", "token": token.group(1), "filename": sheet.name}
    # A confirmation with the unknown column still unpicked imports nothing.
    refused = await client.post("/admin/import", data={**base, "action": "confirm"})
    assert refused.status_code == 422 and "是固定电话" in refused.text
    assert await _projects(session) == 0
    # The file went with the refusal: a field picked afterwards finds nothing to check.
    gone = await client.post("/admin/import", data={**base, "action": "check", "map.H": "lead_name"})
    assert gone.status_code == 422 and "import-error" in gone.text
    again = await client.post("/admin/import", data={"csrf": csrf, "kind": "projects"},
                              files={"upload": (sheet.name, sheet.read_bytes(), "application/octet-stream")})  # fmt: skip
    token = re.search(r'name="token" value="([^"]+)"', again.text)
    assert token
    base["token"] = token.group(1)
    bad = await client.post("/admin/import", data={**base, "action": "check", "map.H": "salary"})
    assert bad.status_code == 422 and "选择的字段无效" in bad.text
    assert await _projects(session) == 0
