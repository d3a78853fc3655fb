"""Weekly progress reports: one current version per project and week, history kept, deadline enforced."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import bindparam, func
from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from models import ProcedureItem, ProgressReport, Project
from models.enums import Channel, Stage
from notifier.amounts import format_amount
from notifier.errors import GuatuError
from notifier.holidays import schedule_for_week
from notifier.settings import Settings
from notifier.texts import t
from notifier.weeks import parse_week, week_monday, week_sunday

# Channels through which the office itself enters reports (corrections, imports): no deadline or lead check.
OFFICE_CHANNELS = {Channel.ADMIN, Channel.IMPORT}


class ReportError(GuatuError):
    """A report that cannot be stored; the message says why, `reason` says which check refused it."""

    def __init__(self, message: str, *, reason: str = "") -> None:
        super().__init__(message)
        self.reason = reason


def report_deadline(settings: Settings, week: str) -> datetime:
    """SCHEDULE_DEADLINE within ISO `week` in the office time zone, moved with holidays like the prompt."""
    return schedule_for_week(settings, week).deadline


# Built once: the investment already reported for a project in other weeks (current versions only).
REPORTED_ELSEWHERE = select(func.coalesce(func.sum(ProgressReport.investment), 0)).where(
    col(ProgressReport.project_id) == bindparam("project_id"),
    col(ProgressReport.is_current).is_(True),
    col(ProgressReport.week) != bindparam("week"),
)


async def _remaining(session: AsyncSession, *, project: Project, week: str) -> Decimal:
    """Total investment minus what is already done: the base and the current reports of other weeks."""
    reported = (await session.exec(REPORTED_ELSEWHERE, params={"project_id": project.id, "week": week})).one()
    return Decimal(project.total_investment) - Decimal(project.ytd_base) - Decimal(reported)


async def submit_report(
    session: AsyncSession,
    *,
    settings: Settings,
    project_id: int,
    reporter_id: int | None,
    week: str,
    stage: Stage,
    investment: Decimal,
    procedure_item_ids: list[int],
    blockers: str | None,
    channel: Channel,
    now: datetime,
    lang: str = "zh",
) -> ProgressReport:
    """Store the week's report (replacing a current one, kept as history) and update the project; commits.

    Raises ReportError past the deadline, for someone else's project, or for an amount over what remains.
    """
    project = await session.get(Project, project_id)
    if project is None or not project.active:
        raise ReportError(t("bot.report.no_project", lang), reason="no_project")
    office = channel in OFFICE_CHANNELS
    if not office and (reporter_id is None or project.lead_id != reporter_id):
        raise ReportError(t("bot.report.not_yours", lang, project=project.name), reason="not_yours")
    deadline = report_deadline(settings, week)
    if not office and now > deadline:
        when = deadline.astimezone(settings.tz).strftime("%Y-%m-%d %H:%M")
        raise ReportError(
            t("bot.report.past_deadline", lang, week=week, deadline=when), reason="past_deadline"
        )
    if investment < 0:
        raise ReportError(t("bot.report.negative", lang), reason="negative")
    remaining = await _remaining(session, project=project, week=week)
    if investment > remaining:
        raise ReportError(
            t("bot.report.over_total", lang, amount=format_amount(investment, lang),
              remaining=format_amount(max(remaining, Decimal(0)), lang),
              total=format_amount(Decimal(project.total_investment), lang)),
            reason="over_total",
        )  # fmt: skip
    today = now.astimezone(settings.tz).date()
    monday = week_monday(week)
    items = (
        list((await session.exec(select(ProcedureItem).where(
            ProcedureItem.project_id == project_id, col(ProcedureItem.id).in_(procedure_item_ids)))).all())
        if procedure_item_ids
        else []
    )  # fmt: skip
    # Items done in an earlier week were counted then; a resubmission may re-pick this week's ones.
    counted = [item for item in items if item.done_on is None or item.done_on >= monday]
    for item in counted:
        if item.done_on is None:
            item.done_on = today
            session.add(item)
    # The week's earlier versions stop being current; their numbers give the next version's.
    result = await session.exec(  # type: ignore[call-overload]
        update(ProgressReport)
        .where(col(ProgressReport.project_id) == project_id, col(ProgressReport.week) == week)
        .values(is_current=False)
        .returning(col(ProgressReport.version))
    )
    versions: list[int] = list(result.scalars().all())
    await session.flush()
    report = ProgressReport(
        project_id=project_id,
        week=week,
        year=parse_week(week)[0],
        week_end=week_sunday(week),
        reporter_id=reporter_id,
        channel=channel,
        investment=investment,
        procedures_completed=len(counted),
        procedure_names=json.dumps([item.name for item in counted], ensure_ascii=False),
        stage=stage,
        blockers=(blockers or "").strip() or None,
        submitted_at=now,
        is_current=True,
        version=max(versions, default=0) + 1,
    )
    session.add(report)
    _update_project(project, stage=stage, today=today)
    session.add(project)
    await session.commit()
    return report


def _update_project(project: Project, *, stage: Stage, today: date) -> None:
    """A reported start (new) or resumption (continuing) sets the project's dates once."""
    if stage == Stage.NEW and project.actual_start is None:
        project.actual_start = today
    if stage == Stage.CONTINUING and project.stage == Stage.CONTINUING and project.resumed_on is None:
        project.resumed_on = today
    if stage == Stage.CONTINUING and project.actual_start is None and project.stage != Stage.CONTINUING:
        project.actual_start = today
    project.stage = stage
