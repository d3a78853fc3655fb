"""End-to-end in headless Chromium (Debian's, driven by Playwright) against uvicorn on a free port.

Sign in, broadcast to a small audience through the Twilio fake with a real arq worker and watch the
campaign page reach done; open the wall on the sample data and check tiles and rankings against
compute_numbers; submit the lead form from a signed link and find the report stored.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from arq.worker import Worker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

import worker as worker_module
from models import Person, ProgressReport, Project, Role
from notifier.core.settings import Settings
from notifier.demo.sample import load_sample
from notifier.numbers.rates import compute_numbers
from notifier.numbers.weeks import week_key
from notifier.reporting.links import report_link
from web.fakes.twilio import FakeTwilio
from web.security import hash_password

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
AS_OF = date(2026, 11, 20)
PASSWORD = "correct horse battery"

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs /usr/bin/chromium (scripts/browser-deps.sh)"
)


@pytest.fixture
async def worker(web_settings: Settings, redis_url: str, redis: Any) -> AsyncIterator[None]:
    """A real arq worker on the test Redis db, in this event loop."""
    options = worker_module.worker_settings(web_settings, redis_url)
    options["cron_jobs"] = []
    job_worker = Worker(**options, poll_delay=0.05, handle_signals=False)
    task = asyncio.create_task(job_worker.async_run())
    yield
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await job_worker.close()


async def _sample(session: AsyncSession) -> None:
    await load_sample(session, as_of=AS_OF)
    session.add(
        Person(name="管理员", phone="+8613900000001", role=Role.ADMIN, password_hash=hash_password(PASSWORD))
    )
    await session.commit()


async def _login(page: Any, base: str) -> None:
    await page.goto(f"{base}/admin/login")
    await page.fill("input[name=name]", "管理员")
    await page.fill("input[name=password]", PASSWORD)
    await page.click("#login")
    await page.wait_for_url(f"{base}/admin")


async def test_broadcast_reaches_done(
    session: AsyncSession, server: str, browser: Any, worker: None, fake_twilio: FakeTwilio
) -> None:
    await _sample(session)
    page = await browser.new_page()
    await _login(page, server)
    await page.goto(f"{server}/admin/broadcast")
    await page.fill("#pick-phones", "+8613900000011\n+8613900000012\n+8613900000013")
    await page.fill("textarea[name=text]", "今天下午三点召开重点项目调度会。")
    await page.click("#preview-button")
    assert await page.text_content("#preview-recipients") == "3"
    await page.click("#confirm")
    await page.wait_for_url(f"{server}/admin/campaigns/*")
    # A selector, not wait_for_function: the page's CSP forbids the eval that one relies on.
    await page.wait_for_selector('#state[data-state="done"]', timeout=30_000)
    assert (
        await page.text_content("#state") == "已完成"
    )  # the state is shown in Chinese, kept raw for scripts
    assert (
        int(await page.text_content('td[data-state="sent"]') or 0)
        + int(await page.text_content('td[data-state="delivered"]') or 0)
        == 3
    )
    assert fake_twilio.stats()["messages"] == 3
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "campaign.png"), full_page=True)


async def test_wall_matches_the_numbers(
    session: AsyncSession, server: str, browser: Any, web_settings: Settings
) -> None:
    await _sample(session)
    numbers = (await compute_numbers(session, settings=web_settings, as_of=AS_OF)).to_json()
    page = await browser.new_page(viewport={"width": 1920, "height": 1080})
    await _login(page, server)
    await page.goto(f"{server}/wall?as_of={AS_OF}")
    assert await page.locator(".units .tile").count() == numbers["overall"]["projects"]
    assert await page.locator('.units .tile[data-state="black"]').count() == len(numbers["black_list"])
    for unit in numbers["units"]:
        for key, rank in unit["rank"].items():
            cell = page.locator(f'#rates tr[data-unit="{unit["code"]}"] td[data-rate="{key}"]')
            assert (await cell.text_content()) == (str(rank) if rank else "—")
    assert await page.locator("#black-list li[data-code]").count() == len(numbers["black_list"])
    # The chart: one bar per unit, highest investment-plan completion first, units without a rate last.
    bars = page.locator("#investment-chart .bar-row")
    assert await bars.count() == len(numbers["units"])
    shown = [await bars.nth(i).get_attribute("data-unit") for i in range(await bars.count())]
    by_rate = sorted(
        numbers["units"],
        key=lambda u: (u["investment_rate"] is None, -(u["investment_rate"] or 0), u["code"]),
    )
    assert shown == [u["code"] for u in by_rate]
    first = by_rate[0]
    width = await bars.first.locator(".bar").evaluate("e => e.style.width")
    assert width == f"{min(first['investment_rate'] * 100, 100):.1f}%"
    assert await page.locator("#not-reported li[data-code]").count() == len(numbers["not_reported"])
    coverage = f"{numbers['week']['reports']} / 应报 {numbers['overall']['projects']}"
    assert coverage in (await page.text_content("#coverage") or "")
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "wall.png"), full_page=True)


async def test_lead_form_from_signed_link(
    session: AsyncSession, server: str, browser: Any, web_settings: Settings
) -> None:
    await _sample(session)
    project = (await session.exec(select(Project).where(Project.lead_id.is_not(None)).limit(1))).one()  # type: ignore[union-attr]
    week = week_key(datetime.now(web_settings.tz).date() + timedelta(days=7))
    link = report_link(web_settings, person_id=project.lead_id or 0, project_id=project.id or 0, week=week)
    page = await browser.new_page(viewport={"width": 390, "height": 844})  # a phone
    await page.goto(server + link)
    assert await page.text_content("#project-name") == project.name
    await page.fill("input[name=investment]", "300万")
    await page.fill("textarea[name=blockers]", "用地手续待批复")
    await page.click("#submit")
    await page.wait_for_selector("#saved")
    report = (await session.exec(select(ProgressReport).where(ProgressReport.project_id == project.id))).one()
    assert (report.week, report.investment, report.channel) == (week, 3_000_000, "web")
    assert report.blockers == "用地手续待批复"


def test_docs_wall_screenshot_is_referenced() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    assert "docs/wall.png" in readme
    assert (Path(__file__).resolve().parents[2] / "docs" / "wall.png").stat().st_size > 10_000
