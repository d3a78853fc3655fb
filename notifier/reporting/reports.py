"""Weekly progress reports: one current version per project and week, history kept, deadline enforced."""

from __future__ import annotations

import json
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Protocol

import asyncpg
from sqlalchemy import bindparam, exists, func, insert
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key
from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Person, ProcedureItem, ProgressReport, Project
from models.db import DriverStatement, driver_connection, may_autocommit
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


def check_text(text: str | None, *, lang: str = "zh") -> None:
    """ReportError (reason "bad_text") for text a database cannot store: NUL, or a lone surrogate
    (half of a character, which arrives in JSON as an escape and cannot be encoded)."""
    if text is None:
        return
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ReportError(t("bot.report.bad_text", lang), reason="bad_text") from None
    if "\x00" in text:
        raise ReportError(t("bot.report.bad_text", lang), reason="bad_text")


def report_deadline(settings: Settings, week: str) -> datetime:
    """SCHEDULE_DEADLINE within ISO `week` in the office time zone, moved with holidays like the prompt."""
    return schedule_for_week(settings, week).deadline


# Built once. A report costs two round trips on PostgreSQL, a read and a write (BEGIN and COMMIT
# besides when it joins a transaction of the caller's or marks procedure items done), three or four
# statements on SQLite. The read: the project's figures with the investment already reported for it
# in other weeks (current versions only) and whether the reporter's Telegram account is still the
# one that began the report.
_REPORTED_ELSEWHERE = (
    select(func.coalesce(func.sum(ProgressReport.investment), 0))
    .where(
        col(ProgressReport.project_id) == col(Project.id),
        col(ProgressReport.is_current).is_(True),
        col(ProgressReport.week) != bindparam("week"),
    )
    .scalar_subquery()
)
_STILL_BOUND = exists().where(
    col(Person.id) == bindparam("reporter_id"), col(Person.telegram_id) == bindparam("telegram_id")
)
PROJECT_FOR_REPORT = DriverStatement(select(  # type: ignore[call-overload]
    Project.name, Project.active, Project.lead_id, Project.stage, Project.total_investment, Project.ytd_base,
    Project.actual_start, Project.resumed_on, _REPORTED_ELSEWHERE.label("reported"),
    _STILL_BOUND.label("still_bound"),
).where(col(Project.id) == bindparam("project_id")))  # fmt: skip
# The week's versions stop being current; their numbers give the next version's. (Bind names must
# differ from the column names an UPDATE sets.)
RETIRE_WEEK = (
    update(ProgressReport)
    .where(
        col(ProgressReport.project_id) == bindparam("p_project"),
        col(ProgressReport.week) == bindparam("p_week"),
    )
    .values(is_current=False)
    .returning(col(ProgressReport.version))
)
INSERT_REPORT = insert(ProgressReport).returning(col(ProgressReport.id), col(ProgressReport.version))
# On PostgreSQL both in one statement: the new version's number from the versions it retires. Its
# values are bound as v_<column> (a parameter named after a column would join the UPDATE's SET).
_RETIRED = RETIRE_WEEK.cte("retired")
_VALUE_COLUMNS = [c for c in ProgressReport.__table__.columns if c.name not in {"id", "version"}]  # type: ignore[attr-defined]
INSERT_REPORT_RETIRING = (
    insert(ProgressReport)
    .values(
        {c.name: bindparam(f"v_{c.name}", type_=c.type) for c in _VALUE_COLUMNS}
        | {"version": func.coalesce(select(func.max(_RETIRED.c.version)).scalar_subquery(), 0) + 1}
    )
    .returning(col(ProgressReport.id), col(ProgressReport.version))
    .add_cte(_RETIRED)
)

# The index that keeps one current version per project and week (models/projects.py).
CURRENT_INDEX = "uq_report_current"

# What a report changes in its project (`_project_changes`).
UPDATE_PROJECT = (
    update(Project)
    .where(col(Project.id) == bindparam("p_id"))
    .values(stage=bindparam("p_stage"), actual_start=bindparam("p_actual_start"),
            resumed_on=bindparam("p_resumed_on"))
)  # fmt: skip
# On PostgreSQL that too in the same statement, when the report changes the project.
INSERT_REPORT_MOVING = INSERT_REPORT_RETIRING.add_cte(UPDATE_PROJECT.returning(col(Project.id)).cte("moved"))
# Both run on the driver in autocommit (DriverStatement): a report is the bot's busiest write.
WRITE_REPORT = DriverStatement(INSERT_REPORT_RETIRING)
WRITE_REPORT_MOVING = DriverStatement(INSERT_REPORT_MOVING)


class _ProjectFigures(Protocol):
    """What a report is checked against (a row of PROJECT_FOR_REPORT)."""

    name: str
    active: bool
    lead_id: int | None
    stage: str
    actual_start: date | None
    resumed_on: date | None


@dataclass(frozen=True)
class StoredReport:
    """The version of a week's report that `submit_report` stored (now the current one)."""

    id: int
    project_id: int
    week: str
    version: int
    channel: Channel
    stage: Stage
    investment: Decimal
    procedures_completed: int
    procedure_names: list[str]
    blockers: str | None
    week_end: date
    submitted_at: datetime
    is_current: bool = True


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
    reporter_telegram_id: int | None = None,
) -> StoredReport:
    """Store the week's report (replacing a current one, kept as history) and update the project; commits.

    Raises ReportError past the deadline, for someone else's project, for an amount over what remains,
    or (with `reporter_telegram_id`) when the reporter's Telegram account is no longer that one.
    """
    check_text(blockers, lang=lang)
    if session.new or session.dirty or session.deleted:
        await session.flush()  # the statements below run beneath the ORM
    # On PostgreSQL the write is one statement (without procedure items to mark done): outside a
    # transaction of the caller's, the read before it and the write itself each go in autocommit,
    # with no BEGIN and no COMMIT round trip around them. The read takes no lock within a
    # transaction either (READ COMMITTED), and the write is all or nothing on its own.
    alone = not procedure_item_ids and may_autocommit(session)
    async with driver_connection(session) if alone else nullcontext() as driver:
        # Alone, on a connection of the engine's driver pool (PostgreSQL, autocommit); else the session's.
        connection = driver if driver is not None else await session.connection()
        params = {
            "project_id": project_id,
            "week": week,
            "reporter_id": reporter_id,
            "telegram_id": reporter_telegram_id,
        }
        project = await PROJECT_FOR_REPORT.first(connection, params)
        _check(settings, project, reporter_id=reporter_id, week=week, channel=channel, now=now, lang=lang)
        assert project is not None
        if reporter_telegram_id is not None and not project.still_bound:
            raise ReportError(t("bot.unbound", lang), reason="unbound")
        remaining = Decimal(project.total_investment) - Decimal(project.ytd_base) - Decimal(project.reported)
        if investment < 0:
            raise ReportError(t("bot.report.negative", lang), reason="negative")
        if investment > remaining:
            raise ReportError(
                t("bot.report.over_total", lang, amount=format_amount(investment, lang),
                  remaining=format_amount(max(remaining, Decimal(0)), lang),
                  total=format_amount(Decimal(project.total_investment), lang)),
                reason="over_total",
            )  # fmt: skip
        today = now.astimezone(settings.tz).date()
        counted = await _complete_items(session, project_id=project_id, item_ids=procedure_item_ids, week=week,
                                        today=today)  # fmt: skip
        names = [item.name for item in counted]
        stored_blockers = (blockers or "").strip() or None
        week_end = week_sunday(week)
        # Core statements: the stored version is not needed as an ORM object, which costs more to build
        # than the statement costs to run.
        values = {
            "project_id": project_id, "week": week, "year": parse_week(week)[0], "week_end": week_end,
            "reporter_id": reporter_id, "channel": channel, "investment": investment,
            "procedures_completed": len(counted), "stage": stage, "blockers": stored_blockers,
            "procedure_names": json.dumps(names, ensure_ascii=False), "submitted_at": now, "is_current": True,
        }  # fmt: skip
        changes = _project_changes(project, stage=stage, today=today)
        moved = ({"p_id": project_id, "p_stage": project.stage, "p_actual_start": project.actual_start,
                  "p_resumed_on": project.resumed_on} | {f"p_{k}": v for k, v in changes.items()}
                 if changes else None)  # fmt: skip
        if driver is not None or connection.dialect.name == "postgresql":
            write = {"p_project": project_id, "p_week": week, **{f"v_{k}": v for k, v in values.items()}}
            statement = WRITE_REPORT if moved is None else WRITE_REPORT_MOVING
            try:
                [stored] = await statement.rows(connection, write | (moved or {}))
            except asyncpg.UniqueViolationError as exc:
                # Another submission of this project and week was being stored at the same moment
                # (another bot process, the web form): the statement waited for it and found it
                # current, so it wrote nothing. Alone, the same statement now retires that version
                # and stores this one after it. In a transaction the caller sees the error.
                if driver is None or exc.constraint_name != CURRENT_INDEX:
                    raise
                [stored] = await statement.rows(connection, write | (moved or {}))
        else:
            retired = await connection.execute(RETIRE_WEEK, {"p_project": project_id, "p_week": week})
            values["version"] = max(retired.scalars().all(), default=0) + 1
            stored = (await connection.execute(INSERT_REPORT, values)).one()
            if moved is not None:
                await connection.execute(UPDATE_PROJECT, moved)
    report_id, version = int(stored.id), int(stored.version)
    _retire_loaded(session, project_id=project_id, week=week)
    loaded = session.identity_map.get(identity_key(Project, project_id)) if changes else None
    if loaded is not None:  # the UPDATE ran beneath the ORM: keep the loaded project in step
        for name, value in changes.items():
            set_committed_value(loaded, name, value)
    if session.in_transaction():  # alone on the driver, the session has nothing to commit
        await session.commit()
    return StoredReport(id=report_id, project_id=project_id, week=week, version=version, channel=channel,
                        stage=stage, investment=investment, procedures_completed=len(counted),
                        procedure_names=names, blockers=stored_blockers, week_end=week_end,
                        submitted_at=now)  # fmt: skip


def _check(
    settings: Settings, project: _ProjectFigures | None, *, reporter_id: int | None, week: str, channel: Channel,
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
            session.add(item)
    await session.flush()
    return counted


def _retire_loaded(session: AsyncSession, *, project_id: int, week: str) -> None:
    """Versions of the week already loaded in `session` are no longer current (the UPDATE ran below the
    ORM, which therefore cannot tell which loaded rows it touched)."""
    for loaded in list(session.identity_map.values()):
        if isinstance(loaded, ProgressReport) and loaded.project_id == project_id and loaded.week == week:
            set_committed_value(loaded, "is_current", False)


def _project_changes(project: _ProjectFigures, *, stage: Stage, today: date) -> dict[str, object]:
    """What the report changes in its project: the stage, and a reported start (new) or resumption
    (continuing) sets the project's dates once."""
    changes: dict[str, object] = {}
    if stage != project.stage:
        changes["stage"] = stage
    if stage == Stage.NEW and project.actual_start is None:
        changes["actual_start"] = today
    if stage == Stage.CONTINUING and project.stage == Stage.CONTINUING and project.resumed_on is None:
        changes["resumed_on"] = today
    if stage == Stage.CONTINUING and project.actual_start is None and project.stage != Stage.CONTINUING:
        changes["actual_start"] = today
    return changes
