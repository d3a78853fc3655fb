"""Writing validated import rows: upserts by code or phone, and weekly reports through the report service."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Channel, Person, ProcedureItem, Project, Role, Unit
from models.base import utcnow
from notifier.core.settings import Settings
from notifier.core.texts import t
from notifier.numbers.weeks import week_monday, week_sunday
from notifier.reporting.reports import ReportError, submit_report


@dataclass(frozen=True)
class Record:
    line: int
    values: dict[str, Any]  # only the columns present in the file


def _chunks(items: Sequence[str], size: int = 500) -> list[Sequence[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


async def write_units(session: AsyncSession, records: Sequence[Record], **_: Any) -> list[tuple[int, str]]:
    codes = [r.values["code"] for r in records]
    existing: dict[str, Unit] = {}
    for chunk in _chunks(codes):
        existing.update(
            {u.code: u for u in (await session.exec(select(Unit).where(col(Unit.code).in_(chunk))))}
        )
    for order, record in enumerate(records):
        values = record.values
        unit = existing.get(values["code"]) or Unit(code=values["code"], name=values["name"], kind=values["kind"],
                                                    sort_order=order)  # fmt: skip
        unit.name, unit.kind = values["name"], values["kind"]
        if "short_name" in values:
            unit.short_name = values["short_name"] or None
        session.add(unit)
    await session.flush()
    return []


async def _admin_name_clashes(
    session: AsyncSession, records: Sequence[Record], lang: str
) -> list[tuple[int, str]]:
    """Rows that would give a second admin a name already taken: admins sign in by name."""
    admins = [r for r in records if r.values["role"] == Role.ADMIN]
    if not admins:
        return []
    non_admin_phones = {r.values["phone"] for r in records if r.values["role"] != Role.ADMIN}
    taken: dict[str, str] = {}
    for chunk in _chunks(sorted({r.values["name"] for r in admins})):
        found = await session.exec(
            select(Person).where(col(Person.name).in_(chunk), Person.role == Role.ADMIN)
        )
        # An admin this file turns into someone else frees the name.
        taken.update({p.name: p.phone or "" for p in found if p.phone not in non_admin_phones})
    refused = []
    for record in admins:
        name, phone = record.values["name"], record.values["phone"]
        if taken.setdefault(name, phone) != phone:
            refused.append((record.line, t("importer.admin_name_taken", lang, name=name)))
    return refused


async def write_people(
    session: AsyncSession, records: Sequence[Record], *, lang: str = "zh", **_: Any
) -> list[tuple[int, str]]:
    refused = await _admin_name_clashes(session, records, lang)
    if refused:
        return refused
    phones = [r.values["phone"] for r in records]
    existing: dict[str, Person] = {}
    for chunk in _chunks(phones):
        found = await session.exec(select(Person).where(col(Person.phone).in_(chunk)))
        existing.update({p.phone: p for p in found if p.phone})
    for record in records:
        values = record.values
        person = existing.get(values["phone"]) or Person(name=values["name"], phone=values["phone"],
                                                         role=values["role"])  # fmt: skip
        person.name, person.role = values["name"], values["role"]
        if "unit_code" in values:
            person.unit_id = values.get("unit_code_id")
        if "level" in values:
            person.level = values["level"]
        if values.get("language"):
            person.language = values["language"]
        if values.get("title"):
            person.title = values["title"]
        if values.get("telegram_id") is not None:
            person.telegram_id = values["telegram_id"]
        session.add(person)
    await session.flush()
    return []


PROJECT_FIELDS = {
    "name": "name", "stage": "stage", "total_investment": "total_investment", "annual_plan": "annual_plan",
    "ytd_investment": "ytd_base", "planned_start": "planned_start", "actual_start": "actual_start",
    "resumed_on": "resumed_on",
    "procedures_required": "procedures_required", "procedures_completed": "procedures_base", "year": "year",
}  # fmt: skip
PROJECT_PEOPLE = ("lead_id", "league_leader_id", "unit_leader_id", "department_contact_id")


async def write_projects(
    session: AsyncSession, records: Sequence[Record], *, settings: Settings, year: int, lang: str, **_: Any
) -> list[tuple[int, str]]:
    """Upsert projects by code, then give each its procedure items (named, or 手续1..N) with the done ones marked."""
    codes = [r.values["code"] for r in records]
    existing: dict[str, Project] = {}
    for chunk in _chunks(codes):
        existing.update(
            {p.code: p for p in (await session.exec(select(Project).where(col(Project.code).in_(chunk))))}
        )
    now = utcnow()
    written: list[tuple[Project, Record]] = []
    for record in records:
        values = record.values
        project = existing.get(values["code"]) or Project(code=values["code"], name=values["name"],
                                                          unit_id=values["unit_code_id"], year=year,
                                                          stage=values["stage"])  # fmt: skip
        project.unit_id = values["unit_code_id"]
        for key, attr in PROJECT_FIELDS.items():
            # An empty optional cell keeps what is stored (amounts and dates read None when empty).
            if key in values and values[key] is not None:
                setattr(project, attr, values[key])
        for attr in PROJECT_PEOPLE:
            # The row named the person by phone or by a unique name; checking found the id.
            if values.get(attr) is not None:
                setattr(project, attr, values[attr])
        project.updated_at = now
        session.add(project)
        written.append((project, record))
    await session.flush()
    await _sync_procedure_items(session, written, lang=lang)
    return []


async def _sync_procedure_items(
    session: AsyncSession, written: list[tuple[Project, Record]], *, lang: str
) -> None:
    """Add the items a project lacks and mark items done up to its base count; never remove or reopen one."""
    items: dict[int, list[ProcedureItem]] = defaultdict(list)
    ids = [project.id for project, _ in written if project.id is not None]
    for chunk in [ids[i : i + 500] for i in range(0, len(ids), 500)]:
        found = await session.exec(
            select(ProcedureItem)
            .where(col(ProcedureItem.project_id).in_(chunk))
            .order_by(col(ProcedureItem.id))
        )
        for item in found:
            items[item.project_id].append(item)
    for project, record in written:
        assert project.id is not None
        own = items[project.id]
        names = {item.name for item in own}
        wanted = list(record.values.get("procedures") or [])
        number = 0
        while len(own) < project.procedures_required or wanted:
            if wanted:
                name = wanted.pop(0)
            else:
                number += 1
                name = t("importer.procedure_n", lang, n=number)
            if name in names:
                continue
            item = ProcedureItem(project_id=project.id, name=name)
            session.add(item)
            own.append(item)
            names.add(name)
        # Procedures done before reporting began are dated before the year's first ISO week, so the
        # report service never counts them again as completed in a reported week.
        before = week_monday(f"{project.year}-W01") - timedelta(days=1)
        done = sum(1 for item in own if item.done_on is not None)
        for item in own:
            if done >= project.procedures_base:
                break
            if item.done_on is None:
                item.done_on = before
                session.add(item)
                done += 1
    await session.flush()


async def write_progress(
    session: AsyncSession, records: Sequence[Record], *, settings: Settings, lang: str, **_: Any
) -> list[tuple[int, str]]:
    """Each row through the report service (the one place reports are stored), all in one transaction.

    submit_report commits per report; bound to a connection with join_transaction_mode="create_savepoint"
    its commits only release savepoints, so a row it refuses rolls the whole file back.
    """
    await session.commit()  # end the lookup transaction: on SQLite it would hold the file against our writer
    engine = session.bind
    assert isinstance(engine, AsyncEngine)
    codes = sorted({r.values["project_code"] for r in records})
    now = utcnow()
    refused: list[tuple[int, str]] = []
    async with engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            # pysqlite opens a transaction only before DML, so the first SAVEPOINT would be outermost and
            # its RELEASE would commit; an explicit BEGIN makes every report a true nested savepoint.
            await connection.exec_driver_sql("BEGIN")
        else:
            await connection.begin()
        inner = AsyncSession(
            bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
        )
        projects: dict[str, tuple[int, int | None]] = {}
        for chunk in _chunks(codes):
            found = await inner.exec(
                select(Project.code, Project.id, Project.lead_id).where(col(Project.code).in_(chunk))
            )
            projects.update({code: (pid, lead) for code, pid, lead in found.all() if pid is not None})
        for record in records:
            values = record.values
            project_id, lead_id = projects[values["project_code"]]
            # A report is dated within the week it reports on (its Sunday, or now for the current week),
            # so the start and procedure dates it sets fall in that week, not on the day of the import.
            sunday_end = datetime.combine(week_sunday(values["week"]), time(23, 59), settings.tz)
            when = min(now, sunday_end)
            try:
                items = await _procedure_items(inner, project_id=project_id, week=values["week"],
                                               count=values.get("procedures_completed") or 0, lang=lang)  # fmt: skip
                await submit_report(inner, settings=settings, project_id=project_id, reporter_id=lead_id,
                                    week=values["week"], stage=values["stage"], investment=values["investment"],
                                    procedure_item_ids=items, blockers=values.get("blockers"),
                                    channel=Channel.IMPORT, now=when, lang=lang)  # fmt: skip
            except ReportError as exc:
                await inner.rollback()
                refused.append((record.line, t("importer.report_refused", lang, reason=str(exc))))
        await inner.close()
        if refused:
            await connection.rollback()
        else:
            await connection.commit()
    return refused


async def _procedure_items(
    session: AsyncSession, *, project_id: int, week: str, count: int, lang: str
) -> list[int]:
    """The project's first `count` procedure items still open (or already marked in this week)."""
    if count == 0:
        return []
    monday = week_monday(week)
    rows = await session.exec(
        select(col(ProcedureItem.id), col(ProcedureItem.done_on))
        .where(ProcedureItem.project_id == project_id)
        .order_by(col(ProcedureItem.id))
    )
    # Items this week already counted come first, so importing the same week again picks the same ones.
    open_items = sorted(
        ((done is None, item_id) for item_id, done in rows.all() if done is None or done >= monday)
    )
    if len(open_items) < count:
        raise ReportError(t("importer.procedures_open", lang, count=count, open=len(open_items)))
    return [item_id for _, item_id in open_items[:count] if item_id is not None]


Writer = Callable[..., Awaitable[list[tuple[int, str]]]]
# By import kind: each returns the rows it refused as (line, reason); any refusal keeps nothing.
WRITERS: dict[str, Writer] = {
    "units": write_units,
    "people": write_people,
    "projects": write_projects,
    "progress": write_progress,
}
