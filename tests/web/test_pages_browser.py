"""The console, the lead's form and the wall in headless Chromium at a phone's size (390x844) and on
one 1080p screen, with the screenshots kept in docs/ (console-*.png, form-*.png, wall-*.png)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Person, ProgressReport, Project, Role
from notifier.core.settings import Settings
from notifier.demo.sample import load_sample
from notifier.numbers.rates import compute_numbers
from notifier.numbers.weeks import week_key, week_label
from notifier.reporting.links import report_link
from notifier.sending.audiences import resolve_audience
from web.security import hash_password

CHROMIUM = Path("/usr/bin/chromium")
DOCS = Path(__file__).resolve().parents[2] / "docs"
AS_OF = date(2026, 11, 20)
PASSWORD = "correct horse battery"
PHONE = {"width": 390, "height": 844}
SCREEN = {"width": 1920, "height": 1080}
# Stored values that must never reach the Chinese pages as they are.
RAW_VALUES = ("approve", "black_list", "black-list", "not_started", "unit:", "role:", "all-leaders", "2026-W")

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs /usr/bin/chromium (scripts/browser-deps.sh)"
)


async def _sample(session: AsyncSession) -> None:
    await load_sample(session, as_of=AS_OF)
    session.add(Person(name="管理员", phone="+8613900000001", role=Role.ADMIN,
                       password_hash=hash_password(PASSWORD)))  # fmt: skip
    await session.commit()


async def _login(page: Any, base: str) -> None:
    await page.goto(f"{base}/admin/login")
    await page.fill("input[name=name]", "管理员")
    await page.fill("input[name=password]", PASSWORD)
    await page.click("#login")
    await page.wait_for_url(f"{base}/admin")


async def _shot(page: Any, name: str, *, full: bool = True) -> None:
    DOCS.mkdir(exist_ok=True)
    await page.screenshot(path=str(DOCS / name), full_page=full)


async def _no_overflow(page: Any) -> None:
    """Nothing wider than the window: no sideways scrolling, nothing cut off at the right edge."""
    widths = await page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    wide = await page.evaluate(
        "Array.from(document.querySelectorAll('body *')).filter(e => e.getBoundingClientRect().right"
        " > window.innerWidth + 1).slice(0, 5).map(e => e.tagName + '.' + e.className + ' ' + e.id)"
    )
    assert widths[0] <= widths[1], (widths, wide)


async def _main_text(page: Any) -> str:
    return str(await page.inner_text("main"))


async def test_console_pages(
    session: AsyncSession, server: str, browser: Any, web_settings: Settings
) -> None:
    await _sample(session)
    page = await browser.new_page(viewport={"width": 1366, "height": 900})
    await _login(page, server)
    # The front page: this week's round with the week as dates, the workbook download.
    week = week_key(datetime.now(web_settings.tz).date())
    assert await page.text_content("#round-week") == week_label(week)
    assert await page.locator("#round-test").is_enabled()
    await _shot(page, "console-home.png")

    # Projects: figures per project, numeric columns sorted as numbers (the largest first).
    await page.goto(f"{server}/admin/projects?as_of={AS_OF}")
    rows = page.locator("#projects tbody tr")
    assert await rows.count() == 100
    await page.click("#projects thead th:nth-child(5)")  # the annual plan
    plans = [
        float(v)
        for v in await page.eval_on_selector_all("#projects td.plan", "c => c.map(e => e.dataset.sort)")
    ]
    assert plans == sorted(plans, reverse=True) and plans[0] > plans[-1]
    await page.click("#projects thead th:nth-child(7)")  # the rate; projects without one go last
    rates = await page.eval_on_selector_all("#projects td.rate", "c => c.map(e => e.dataset.sort)")
    numeric = [float(r) for r in rates if r]
    assert numeric == sorted(numeric, reverse=True) and all(r == "" for r in rates[len(numeric) :])
    text = await _main_text(page)
    assert not [raw for raw in RAW_VALUES if raw in text]
    assert "万元" in text and "%" in text
    await _shot(page, "console-projects.png", full=False)

    # The broadcast picker: all leaders plus one unit by name, the preview counts them.
    await page.goto(f"{server}/admin/broadcast")
    await page.check('input[name=groups][value="all-leaders"]')
    await page.select_option("#pick-units", label="阿拉善左旗")
    await page.fill("textarea[name=text]", "今天下午三点召开重点项目调度会。")
    await page.click("#preview-button")
    unit_code = await page.eval_on_selector("#pick-units option[selected]", "e => e.value")
    expected = await resolve_audience(
        session, settings=web_settings, audience=f"all-leaders,unit:{unit_code}"
    )
    assert await page.text_content("#preview-recipients") == str(len(expected.recipients))
    assert await page.text_content("#preview-audience") == "全体领导、阿拉善左旗"
    await _shot(page, "console-broadcast.png")

    # A bulletin for sign-off: the SMS wraps, with segments, recipients and the send time.
    await page.goto(f"{server}/admin/bulletins?as_of={AS_OF}")
    await page.click("#draft")
    await page.wait_for_url(f"{server}/admin/bulletins/*")
    facts = await page.text_content("#send-facts") or ""
    assert "条短信" in facts and "接收人" in facts
    box = await page.locator("#sms-text").bounding_box()
    assert box is not None and box["width"] <= 1366
    await _shot(page, "console-signoff.png")

    # The same pages hold on a phone: nothing wider than the screen.
    phone = await browser.new_page(viewport=PHONE)
    await _login(phone, server)
    for path in ("/admin", f"/admin/projects?as_of={AS_OF}", "/admin/broadcast"):
        await phone.goto(server + path)
        await _no_overflow(phone)
    await _shot(phone, "console-phone.png", full=False)


async def _lead_link(session: AsyncSession, settings: Settings, *, days: int) -> tuple[Project, str, str]:
    project = (await session.exec(select(Project).where(col(Project.lead_id).is_not(None)).limit(1))).one()
    week = week_key(datetime.now(settings.tz).date() + timedelta(days=days))
    link = report_link(settings, person_id=project.lead_id or 0, project_id=project.id or 0, week=week)
    return project, week, link


async def test_lead_form_on_a_phone(
    session: AsyncSession, server: str, browser: Any, web_settings: Settings
) -> None:
    await _sample(session)
    project, week, link = await _lead_link(session, web_settings, days=7)
    page = await browser.new_page(viewport=PHONE)
    await page.goto(server + link)
    assert await page.text_content("#week") == week_label(week)
    assert await page.text_content("#unit") == "万元"
    assert await page.get_attribute("#investment", "inputmode") is None  # a keypad that can type 万 and 亿
    await _no_overflow(page)
    await _shot(page, "form-phone.png")

    # An approximate amount is asked back before anything is stored.
    await page.fill("#investment", "约500万")
    await page.click("#submit")
    await page.wait_for_selector("#confirm-amount")
    assert "500万元" in (await page.text_content("#confirm-amount") or "")
    assert (await session.exec(select(ProgressReport))).all() == []
    await _shot(page, "form-confirm.png")
    await page.click("#confirm")
    await page.wait_for_selector("#saved")
    assert await page.text_content("#echo-amount") == "500万元"
    await _shot(page, "form-done.png")
    report = (await session.exec(select(ProgressReport))).one()
    assert (report.investment, report.channel) == (5_000_000, "web")

    # Reopening the link shows the week's report to correct; a bare number is 万元.
    await page.goto(server + link)
    assert await page.input_value("#investment") == "500"
    await page.fill("#investment", "650")
    await page.click("#submit")
    await page.wait_for_selector("#saved")
    assert await page.text_content("#echo-amount") == "650万元"
    await session.rollback()
    current = (
        await session.exec(select(ProgressReport).where(col(ProgressReport.is_current).is_(True)))
    ).one()
    assert (current.investment, current.version) == (6_500_000, 2)


async def test_expired_link_says_whom_to_call(
    session: AsyncSession, server: str, browser: Any, web_settings: Settings
) -> None:
    await _sample(session)
    _, week, link = await _lead_link(session, web_settings, days=-14)
    page = await browser.new_page(viewport=PHONE)
    response = await page.goto(server + link)
    assert response.status == 403
    text = await page.text_content("#closed-text") or ""
    assert week_label(week) in text and web_settings.office_contact in text and "截止" in text
    await _shot(page, "form-closed.png")


async def _wall(page: Any, server: str) -> None:
    await _login(page, server)
    await page.goto(f"{server}/wall?as_of={AS_OF}")


async def test_wall_on_a_phone(
    session: AsyncSession, server: str, browser: Any, web_settings: Settings
) -> None:
    await _sample(session)
    numbers = await compute_numbers(session, settings=web_settings, as_of=AS_OF)
    page = await browser.new_page(viewport=PHONE)
    await _wall(page, server)
    await _shot(page, "wall-phone.png")
    await _no_overflow(page)
    # Unit names read on one line (not one character per line) in the table and the chart.
    for selector in ("#rates td.unit-name", "#investment-chart .bar-label", ".units .unit h2"):
        cells = page.locator(selector)
        assert await cells.count() == len(numbers.units)
        for i in range(await cells.count()):
            fits = await cells.nth(i).evaluate(
                "e => e.scrollWidth <= e.clientWidth + 1 && e.getBoundingClientRect().height"
                " < 2 * parseFloat(getComputedStyle(e).lineHeight)"
            )
            assert fits, (selector, await cells.nth(i).text_content())


async def test_wall_on_one_1080p_screen(
    session: AsyncSession, server: str, browser: Any, web_settings: Settings
) -> None:
    await _sample(session)
    numbers = await compute_numbers(session, settings=web_settings, as_of=AS_OF)
    page = await browser.new_page(viewport=SCREEN)
    await _wall(page, server)
    await _shot(page, "wall-desktop.png", full=False)
    await _shot(page, "wall.png", full=False)  # the README's figure
    height = await page.evaluate("document.documentElement.scrollHeight")
    assert height <= SCREEN["height"], height  # one screen, no scrolling
    await _no_overflow(page)
    assert await page.locator(".units .tile").count() == numbers.overall.projects
    # Type an office reads from across the room, and tile names shown whole.
    size = await page.eval_on_selector("#rates td.unit-name", "e => parseFloat(getComputedStyle(e).fontSize)")
    assert size >= 18
    cut = await page.eval_on_selector_all(
        ".units .tile", "ts => ts.filter(t => t.scrollWidth > t.clientWidth + 1).length"
    )
    assert cut == 0


async def test_front_door_goes_to_the_wall(server: str, browser: Any) -> None:
    page = await browser.new_page()
    await page.goto(server + "/")
    assert page.url.startswith(f"{server}/admin/login?next=/wall")  # signed out: the sign-in, then the wall
