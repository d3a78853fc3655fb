"""Console actions around the weekly round: send this week's prompts now, a test prompt to the
admin's own number, and the monthly workbook download.

"Now" hands the round to the workers as the calendar would (the `weekly_prompt` job with this
week): the workers hold the Telegram and SMS clients, and the round is idempotent per project and
week, so pressing twice, or the calendar firing later, prompts nobody twice.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import ProgressReport, Project, WeekPrompt, utcnow
from notifier.core.errors import GuatuError
from notifier.core.settings import Settings
from notifier.core.texts import t
from notifier.numbers.weeks import week_of
from notifier.reporting.reports import report_deadline
from web.pages import AdminDep, SessionDep, SettingsDep, error_page, lang_of, redirect
from web.security import csrf_ok

router = APIRouter(prefix="/admin")
ROUND_JOB = "weekly_prompt"  # notifier.jobs.bot.weekly_prompt, the calendar's own prompt job
_MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True)
class RoundOverview:
    """This week's round as the console shows it."""

    week: str
    deadline: datetime
    projects: int  # active projects with a lead
    prompted: int
    reported: int

    @property
    def closed(self) -> bool:
        return self.deadline <= utcnow()


async def round_overview(session: AsyncSession, *, settings: Settings, now: datetime) -> RoundOverview:
    week = week_of(now, settings.tz)
    projects = (
        await session.exec(
            select(func.count()).where(col(Project.active).is_(True), col(Project.lead_id).is_not(None))
        )
    ).one()
    prompted = (await session.exec(select(func.count()).where(WeekPrompt.week == week))).one()
    reported = (
        await session.exec(
            select(func.count(func.distinct(ProgressReport.project_id))).where(ProgressReport.week == week)
        )
    ).one()
    return RoundOverview(week=week, deadline=report_deadline(settings, week), projects=int(projects),
                         prompted=int(prompted), reported=int(reported))  # fmt: skip


def month_default(settings: Settings) -> str:
    """The month the workbook field offers first: the last complete month."""
    today = datetime.now(settings.tz).date()
    year, month = (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)
    return f"{year}-{month:02d}"


def month_end(value: str, *, today: date, lang: str) -> date:
    """The as-of day for a month "YYYY-MM": its last day, or today for the current month; a
    malformed or future month is a GuatuError with a readable message."""
    match = _MONTH_RE.match(value.strip())
    if not match or not 1 <= int(match.group(2)) <= 12 or not 2000 <= int(match.group(1)) <= 2099:
        raise GuatuError(t("console.workbook.bad_month", lang, value=value[:20]))
    year, month = int(match.group(1)), int(match.group(2))
    if (year, month) > (today.year, today.month):
        raise GuatuError(t("console.workbook.future", lang, value=value[:20]))
    if (year, month) == (today.year, today.month):
        return today
    return date(year, month, calendar.monthrange(year, month)[1])


def _queue_error(request: Request) -> Response | None:
    if request.app.state.redis is None:
        return error_page(request, t("console.no_redis", lang_of(request)), status_code=422)
    return None


@router.post("/round/now")
async def round_now(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    admin: AdminDep,
    csrf: Annotated[str, Form()] = "",
) -> Response:
    """Queue this week's prompt round for the workers; refused once the week's deadline has passed."""
    lang = lang_of(request)
    if not csrf_ok(request, csrf):
        return error_page(request, t("web.csrf_failed", lang), status_code=403)
    if (refused := _queue_error(request)) is not None:
        return refused
    overview = await round_overview(session, settings=settings, now=utcnow())
    if overview.closed:
        deadline = overview.deadline.astimezone(settings.tz).strftime("%Y-%m-%d %H:%M")
        return error_page(request, t("console.round.closed", lang, deadline=deadline), status_code=422)
    redis: Any = request.app.state.redis
    # One job per week and press: a second press while it is queued is the same job.
    await redis.enqueue_job(ROUND_JOB, overview.week, _job_id=f"round-now:{overview.week}:{admin.id}")
    return redirect("/admin?notice=round_queued" + ("&lang=en" if lang == "en" else ""))


@router.post("/round/test")
async def round_test(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    admin: AdminDep,
    csrf: Annotated[str, Form()] = "",
) -> Response:
    """The week's prompt SMS (as the CLI's `guatu round test` composes it), marked as a test, to the
    signed-in admin's own number only."""
    from notifier.reporting.prompts import compose_test_prompt, send_test_prompt

    lang = lang_of(request)
    if not csrf_ok(request, csrf):
        return error_page(request, t("web.csrf_failed", lang), status_code=403)
    if not admin.phone:
        return error_page(request, t("console.round.no_phone", lang), status_code=422)
    if (refused := _queue_error(request)) is not None:
        return refused
    try:
        prompt = await compose_test_prompt(session, settings=settings, phone=admin.phone, now=utcnow())
        prompt.text = t("console.round.test_prefix", lang) + prompt.text
        campaign = await send_test_prompt(session, request.app.state.redis, settings=settings, prompt=prompt,
                                          created_by_id=admin.id, title=t("console.round.test_title", lang))  # fmt: skip
    except GuatuError as exc:
        return error_page(request, str(exc), status_code=422)
    return redirect(f"/admin/campaigns/{campaign.id}")


@router.get("/workbook")
async def workbook(request: Request, session: SessionDep, settings: SettingsDep, admin: AdminDep) -> Response:
    """The monthly report's spreadsheet for ?month=YYYY-MM (the same file the monthly report sends)."""
    from notifier.bulletins.workbook import monthly_workbook
    from notifier.numbers.rates import compute_numbers, project_figures

    lang = lang_of(request)
    value = request.query_params.get("month", "") or month_default(settings)
    try:
        as_of = month_end(value, today=datetime.now(settings.tz).date(), lang=lang)
    except GuatuError as exc:
        return error_page(request, str(exc), status_code=400)
    numbers = await compute_numbers(session, settings=settings, as_of=as_of)
    data = monthly_workbook(numbers, await project_figures(session, as_of=as_of, year=numbers.year))
    name = f"guatu-{as_of.year}-{as_of.month:02d}.xlsx"
    return Response(
        data,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
