"""Weekly progress reports: one current version per project and week, history kept, deadline enforced."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from models import ProcedureItem, ProgressReport, Project
from models.enums import Channel, Stage
from notifier.core.errors import GuatuError
from notifier.core.settings import Settings
from notifier.core.texts import t
from notifier.numbers.amounts import format_amount
from notifier.numbers.holidays import schedule_for_week
from notifier.numbers.weeks import parse_week, week_monday, week_sunday

# Channels through which the office itself enters reports (corrections, imports): no deadline or lead check.
OFFICE_CHANNELS = {Channel.ADMIN, Channel.IMPORT}


class ReportError(GuatuError):
    """A report that cannot be stored; the message says why, `reason` says which check refused it."""

    def __init__(self, message: str, *, reason: str = "") -> None:
        super().__init__(message)
        self.reason = reason


def check_text(
    text: str | None,
    *,
    lang: str = "zh",  # pragma: no mutate: t() reads any other code as zh
) -> None:
    """ReportError (reason "bad_text") for text a database cannot store: NUL, or a lone surrogate
    (half of a character, which arrives in JSON as an escape and cannot be encoded)."""
    if text is None:
        return
    try:
        text.encode("utf-8")  # pragma: no mutate: codec names are case-insensitive
    except UnicodeEncodeError:
        raise ReportError(t("bot.report.bad_text", lang), reason="bad_text") from None
    if "\x00" in text:
        raise ReportError(t("bot.report.bad_text", lang), reason="bad_text")


def report_deadline(settings: Settings, week: str) -> datetime:
    """SCHEDULE_DEADLINE within ISO `week` in the office time zone, moved with holidays like the prompt."""
    return schedule_for_week(settings, week).deadline


# The index that keeps one current version per project and week (models/projects.py).
CURRENT_INDEX = "uq_report_current"


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
    lang: str = "zh",  # pragma: no mutate: t() reads any other code as zh
) -> ProgressReport:
    """Store the week's report (replacing a current one, kept as history) and update the project; commits.

    Raises ReportError past the deadline, for someone else's project, or for an amount over what remains.
    """
    check_text(blockers, lang=lang)
    project = await session.get(Project, project_id)
    _check(settings, project, reporter_id=reporter_id, week=week, channel=channel, now=now, lang=lang)
    assert project is not None
    await _check_amount(session, project=project, week=week, investment=investment, lang=lang)
    today = now.astimezone(settings.tz).date()
    counted = await _complete_items(session, project_id=project_id, item_ids=procedure_item_ids, week=week,
                                    today=today)  # fmt: skip
    _update_project(project, stage=stage, today=today)
    values = {
        "project_id": project_id, "week": week, "year": parse_week(week)[0], "week_end": week_sunday(week),
        "reporter_id": reporter_id, "channel": channel, "investment": investment,
        "procedures_completed": len(counted), "stage": stage, "blockers": (blockers or "").strip() or None,
        "procedure_names": json.dumps([item.name for item in counted], ensure_ascii=False),
        "submitted_at": now,
        "is_current": True,  # pragma: no mutate: the column's default is True as well
    }  # fmt: skip
    report = await _store_version(session, values)
    await session.commit()
    return report


async def check_investment(
    session: AsyncSession, *, project_id: int, week: str, investment: Decimal, lang: str = "zh"
) -> None:
    """ReportError when `investment` cannot be this week's amount of the project: negative, or over
    what remains of its total. The chat asks it right after the amount; submit_report asks again."""
    project = await session.get(Project, project_id)
    if project is None:
        raise ReportError(t("bot.report.no_project", lang), reason="no_project")
    await _check_amount(session, project=project, week=week, investment=investment, lang=lang)


async def _check_amount(
    session: AsyncSession, *, project: Project, week: str, investment: Decimal, lang: str
) -> None:
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


async def _store_version(session: AsyncSession, values: dict[str, Any]) -> ProgressReport:
    """Retire the week's current version and add the next one.

    A submission of the same project and week at the same moment (another bot process, the web form)
    may store its version between our retire and our insert: the insert then waits for it on the
    one-current-version index and fails. Only the savepoint is rolled back, and the week is retired
    again, now with that version, which ours follows: both submissions are kept."""
    try:
        return await _next_version(session, values)
    except IntegrityError as exc:
        if CURRENT_INDEX not in str(exc.orig):
            raise
    return await _next_version(session, values)


async def _next_version(session: AsyncSession, values: dict[str, Any]) -> ProgressReport:
    async with session.begin_nested():
        retired = await session.exec(  # type: ignore[call-overload]
            update(ProgressReport)
            .where(
                col(ProgressReport.project_id) == values["project_id"],
                col(ProgressReport.week) == values["week"],
            )
            .values(is_current=False)
            .returning(col(ProgressReport.version))
        )
        report = ProgressReport(**values, version=max(retired.scalars().all(), default=0) + 1)
        session.add(report)
    return report


async def _remaining(session: AsyncSession, *, project: Project, week: str) -> Decimal:
    """Total investment minus what is already done: the base and the current reports of other weeks."""
    reported = (
        await session.exec(
            select(func.coalesce(func.sum(ProgressReport.investment), 0)).where(
                ProgressReport.project_id == project.id,
                col(ProgressReport.is_current).is_(True),
                ProgressReport.week != week,
            )
        )
    ).one()
    return Decimal(project.total_investment) - Decimal(project.ytd_base) - Decimal(reported)


def _check(
    settings: Settings, project: Project | None, *, reporter_id: int | None, week: str, channel: Channel,
    now: datetime, lang: str,
) -> None:  # fmt: skip
    """Refuse a report for a missing or inactive project, someone else's project, or past the deadline
    (the office's own channels skip the last two)."""
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


async def _complete_items(
    session: AsyncSession, *, project_id: int, item_ids: list[int], week: str, today: date
) -> list[ProcedureItem]:
    """The picked items this week's report counts, marked done today when still open."""
    if not item_ids:
        return []
    items = (await session.exec(select(ProcedureItem).where(
        ProcedureItem.project_id == project_id, col(ProcedureItem.id).in_(item_ids)))).all()  # fmt: skip
    # Items done in an earlier week were counted then; a resubmission may re-pick this week's ones.
    monday = week_monday(week)
    counted = [item for item in items if item.done_on is None or item.done_on >= monday]
    for item in counted:
        if item.done_on is None:
            item.done_on = today
    return counted


def _update_project(project: Project, *, stage: Stage, today: date) -> None:
    """The reported stage; a reported start (new) or resumption (continuing) sets the project's dates once."""
    if stage == Stage.NEW and project.actual_start is None:
        project.actual_start = today
    if stage == Stage.CONTINUING and project.stage == Stage.CONTINUING and project.resumed_on is None:
        project.resumed_on = today
    if stage == Stage.CONTINUING and project.actual_start is None and project.stage != Stage.CONTINUING:
        project.actual_start = today
    project.stage = stage
