"""Importing the office's lists: units, people, projects and weekly progress from .xlsx or .csv.

Every row is validated before anything is written: a file with any bad row imports nothing and
the result names every bad row by its line in the file. Re-importing a row with the same key
(unit code, person phone, project code) updates it. Headings may be English or Chinese,
simplified or traditional, with spaces or a unit in brackets ("总投资(万元)").
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import LeaderLevel, Person, Project, Role, Unit, UnitKind
from notifier.core.audit import record_audit
from notifier.core.settings import Settings
from notifier.core.texts import t
from notifier.importing.cells import (
    CellError,
    cell_text,
    label_key,
    parse_amount_cell,
    parse_count,
    parse_date,
    parse_kind,
    parse_language,
    parse_level,
    parse_names,
    parse_phone_cell,
    parse_positive_id,
    parse_role,
    parse_stage,
    parse_week_cell,
)
from notifier.importing.sheets import Row, SheetError, read_sheet
from notifier.importing.writes import PHONES, WRITERS, Record

HEADER_SCAN_ROWS = 20  # offices put a title row or two above the headings
_UNIT_SUFFIX = re.compile(r"[(\[【]([^)\]】]*)[)\]】]$")
SCALES = {"元": Decimal(1), "万元": Decimal(10_000), "亿元": Decimal(100_000_000)}


class ImportKind(StrEnum):
    UNITS = "units"
    PEOPLE = "people"
    PROJECTS = "projects"
    PROGRESS = "progress"


@dataclass(frozen=True)
class Column:
    key: str
    names: tuple[str, ...]  # the English key is always accepted too
    required: bool = False


COLUMNS: dict[ImportKind, tuple[Column, ...]] = {
    ImportKind.UNITS: (
        Column("code", ("单位编码", "单位代码", "编码", "代码"), True),
        Column("name", ("单位名称", "名称", "单位"), True),
        Column("kind", ("单位类型", "类型", "类别"), True),
        Column("short_name", ("简称", "单位简称")),
    ),
    ImportKind.PEOPLE: (
        Column("name", ("姓名", "名字"), True),
        Column("phone", ("手机号", "手机号码", "手机", "电话", "联系电话"), True),
        Column("role", ("角色", "身份"), True),
        Column("unit_code", ("单位编码", "所属单位", "所属旗区", "单位")),
        Column("telegram_id", ("telegram", "telegramid", "电报id")),
        Column("language", ("语言",)),
        Column("level", ("级别", "层级")),
        Column("title", ("职务", "职位")),
    ),
    ImportKind.PROJECTS: (
        Column("code", ("项目编号", "项目编码", "项目代码", "编号"), True),
        Column("name", ("项目名称", "名称"), True),
        Column("unit_code", ("所属旗区", "所属单位", "责任单位", "单位编码", "旗区"), True),
        Column("stage", ("建设性质", "项目阶段", "阶段"), True),
        Column("total_investment", ("总投资", "计划总投资")),
        Column("annual_plan", ("年度计划投资", "年度计划", "本年计划投资")),
        Column("ytd_investment", ("本年已完成投资", "已完成投资", "年初至今完成投资")),
        Column("planned_start", ("计划开工时间", "计划开工日期")),
        Column("actual_start", ("实际开工时间", "实际开工日期", "开工时间")),
        # A continuing (续建) project's resume date this year: it counts as resumed from that day.
        Column("resumed_on", ("复工时间", "复工日期", "实际复工时间", "实际复工日期")),
        Column("procedures_required", ("应办手续数", "应办手续")),
        Column("procedures_completed", ("已办手续数", "已办手续")),
        Column("procedures", ("应办手续清单", "手续清单", "手续名称")),
        Column("lead_phone", ("项目负责人电话", "负责人电话")),
        Column("league_leader_phone", ("包联盟领导电话", "盟领导电话", "包联领导电话")),
        Column("unit_leader_phone", ("旗区领导电话", "单位领导电话")),
        Column("department_contact_phone", ("部门联系人电话", "联系人电话")),
        Column("year", ("年度", "年份")),
    ),
    ImportKind.PROGRESS: (
        Column("project_code", ("项目编号", "项目编码", "编号"), True),
        Column("week", ("周次", "周", "填报周"), True),
        Column("investment", ("本周完成投资", "本周投资", "完成投资", "投资"), True),
        Column("procedures_completed", ("本周办结手续数", "已办手续数", "办结手续")),
        Column("stage", ("建设性质", "项目阶段", "阶段"), True),
        Column("blockers", ("存在问题", "问题", "困难问题")),
    ),
}
# Values that identify a row: a second row with the same ones in one file is an error.
UNIQUE: dict[ImportKind, tuple[tuple[str, ...], ...]] = {
    ImportKind.UNITS: (("code",),),
    ImportKind.PEOPLE: (("phone",), ("telegram_id",)),
    ImportKind.PROJECTS: (("code",),),
    ImportKind.PROGRESS: (("project_code", "week"),),
}
# Column widths of the tables (models/): longer text is refused with a reason, not cut or crashed on.
LIMITS: dict[ImportKind, dict[str, int]] = {
    ImportKind.UNITS: {"code": 32, "name": 128, "short_name": 16},
    ImportKind.PEOPLE: {"name": 64, "title": 64, "unit_code": 128},
    ImportKind.PROJECTS: {"code": 32, "name": 200, "unit_code": 128},
    ImportKind.PROGRESS: {"project_code": 32, "blockers": 2000},
}
AMOUNTS = {"total_investment", "annual_plan", "ytd_investment", "investment"}


@dataclass(frozen=True)
class RowError:
    """One problem: the line in the file, the column heading (if any) and a readable reason."""

    line: int
    column: str | None
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {"line": self.line, "column": self.column, "reason": self.reason}


@dataclass
class ImportResult:
    kind: ImportKind
    file: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    dry_run: bool = False
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_json(self) -> dict[str, Any]:
        return {"kind": str(self.kind), "file": self.file, "ok": self.ok, "dry_run": self.dry_run,
                "rows": self.rows, "created": self.created, "updated": self.updated,
                "errors": [e.to_json() for e in self.errors]}  # fmt: skip


@dataclass
class Lookups:
    """What rows refer to, loaded once: unit codes and names, people's phones, project codes."""

    units: dict[str, int] = field(default_factory=dict)  # code and label_key(name/short name) -> id
    unit_kinds: dict[int, UnitKind] = field(default_factory=dict)
    unit_codes: set[str] = field(default_factory=set)
    phones: dict[str, int] = field(default_factory=dict)  # E.164 -> person id
    telegram: dict[int, str | None] = field(default_factory=dict)  # telegram id -> that person's phone
    projects: dict[str, int] = field(default_factory=dict)  # code -> project id


@dataclass(frozen=True)
class Header:
    line: int
    columns: dict[int, str]  # cell index -> key
    headings: dict[str, str]  # key -> the heading as written
    scales: dict[str, Decimal]


def heading_row(kind: ImportKind, *, lang: str = "zh") -> list[str]:
    """The headings of an import template: the office's Chinese names, or the English keys."""
    if lang == "en":
        return [column.key for column in COLUMNS[kind]]
    # Offices keep amounts in 万元; the unit in the heading makes a bare 3000 mean 3000万.
    return [column.names[0] + ("(万元)" if column.key in AMOUNTS else "") for column in COLUMNS[kind]]


def _heading_key(text: str, aliases: dict[str, str]) -> tuple[str | None, Decimal]:
    key = label_key(text)
    scale = Decimal(1)
    match = _UNIT_SUFFIX.search(key)
    if match:
        scale = SCALES.get(match.group(1), scale)
        key = key[: match.start()]
    if key not in aliases:
        for unit, unit_scale in SCALES.items():
            if key.endswith(unit) and key[: -len(unit)] in aliases:
                return aliases[key[: -len(unit)]], unit_scale
    return aliases.get(key), scale


def find_header(kind: ImportKind, rows: Sequence[Row], lang: str = "zh") -> Header:
    """The first row (of the first few) holding every required heading; SheetError otherwise."""
    columns = COLUMNS[kind]
    aliases = {label_key(name): c.key for c in columns for name in (c.key, *c.names)}
    required = {c.key for c in columns if c.required}
    for row in rows[:HEADER_SCAN_ROWS]:
        found: dict[int, str] = {}
        headings: dict[str, str] = {}
        scales: dict[str, Decimal] = {}
        for index, cell in enumerate(row.cells):
            text = cell_text(cell)
            key, scale = _heading_key(text, aliases) if text else (None, Decimal(1))
            if key is None:
                continue
            if key in headings:
                raise SheetError(t("importer.duplicate_heading", lang, heading=text, line=row.line))
            found[index], headings[key], scales[key] = key, text, scale
        if required <= headings.keys():
            return Header(line=row.line, columns=found, headings=headings, scales=scales)
    names = "、".join(c.names[0] if lang != "en" else c.key for c in columns if c.required)
    raise SheetError(t("importer.no_header", lang, rows=HEADER_SCAN_ROWS, columns=names))


class _RowCheck:
    """Collects a row's problems while its cells are converted."""

    def __init__(
        self, line: int, header: Header, cells: dict[str, Any], lang: str, limits: dict[str, int]
    ) -> None:
        self.line, self.header, self.cells, self.lang, self.limits = line, header, cells, lang, limits
        self.errors: list[RowError] = []
        self.values: dict[str, Any] = {}

    def fail(self, key: str | None, reason: str) -> None:
        column = self.header.headings.get(key) if key else None
        self.errors.append(RowError(line=self.line, column=column, reason=reason))

    def take(self, key: str, convert: Callable[[Any], Any]) -> Any:
        if key not in self.cells:
            return None
        try:
            value = convert(self.cells[key])
        except CellError as exc:
            self.fail(key, str(exc))
            return None
        self.values[key] = value
        return value

    def text(self, key: str) -> str | None:
        value = self.take(key, cell_text)
        limit = self.limits.get(key)
        if value and limit and len(value) > limit:
            self.fail(key, t("importer.too_long", self.lang, limit=limit))
        return value  # type: ignore[no-any-return]

    def require(self, *keys: str) -> None:
        for key in keys:
            if key in self.cells and not cell_text(self.cells[key]):
                self.fail(key, t("importer.required", self.lang))


def validate_rows(
    kind: ImportKind,
    rows: Sequence[Row],
    *,
    lookups: Lookups,
    lang: str = "zh",
    year: int,
    on_rows: Callable[[int], None] | None = None,
    on_row: Callable[[], None] | None = None,
) -> tuple[list[Record], list[RowError]]:
    """Convert every row after the heading row; records and every problem found (pure, no I/O)."""
    header = find_header(kind, rows, lang)
    if on_rows is not None:
        on_rows(sum(1 for row in rows if row.line > header.line))
    required = [c.key for c in COLUMNS[kind] if c.required]
    checks = {
        ImportKind.UNITS: _check_unit,
        ImportKind.PEOPLE: _check_person,
        ImportKind.PROJECTS: _check_project,
        ImportKind.PROGRESS: _check_progress,
    }[kind]
    records: list[Record] = []
    errors: list[RowError] = []
    seen: dict[tuple[Any, ...], int] = {}
    for row in rows:
        if row.line <= header.line:
            continue
        cells = {key: row.cells[i] if i < len(row.cells) else None for i, key in header.columns.items()}
        check = _RowCheck(row.line, header, cells, lang, LIMITS[kind])
        check.require(*required)
        checks(check, lookups, year)
        _check_unique(check, UNIQUE[kind], seen)
        errors.extend(check.errors)
        if not check.errors:
            records.append(Record(line=row.line, values=check.values))
        if on_row is not None:
            on_row()
    return records, errors


def _check_unique(
    check: _RowCheck, keys: tuple[tuple[str, ...], ...], seen: dict[tuple[Any, ...], int]
) -> None:
    for names in keys:
        values = tuple(check.values.get(name) for name in names)
        if any(value is None or value == "" for value in values):
            continue
        first = seen.setdefault((names, *values), check.line)
        if first != check.line:
            shown = " ".join(str(value) for value in values)
            check.fail(names[-1], t("importer.duplicate", check.lang, line=first, value=shown))


def _unit_id(check: _RowCheck, lookups: Lookups, key: str) -> int | None:
    text = check.text(key)
    if not text:
        return None
    unit_id = lookups.units.get(text) or lookups.units.get(label_key(text))
    if unit_id is None:
        check.fail(key, t("importer.unknown_unit", check.lang, value=text))
    check.values[key + "_id"] = unit_id
    return unit_id


def _check_unit(check: _RowCheck, lookups: Lookups, year: int) -> None:
    check.text("code")
    check.text("name")
    check.text("short_name")
    if cell_text(check.cells.get("kind")):
        check.take("kind", lambda v: parse_kind(v, check.lang))


def _check_person(check: _RowCheck, lookups: Lookups, year: int) -> None:
    lang = check.lang
    check.text("name")
    check.text("title")
    phone = check.take("phone", lambda v: parse_phone_cell(v, lang))
    if cell_text(check.cells.get("role")):
        check.take("role", lambda v: parse_role(v, lang))
    unit_id = _unit_id(check, lookups, "unit_code")
    if cell_text(check.cells.get("level")):
        check.take("level", lambda v: parse_level(v, lang))
    elif check.values.get("role") == Role.LEADER:
        # A leader's level follows from the unit: none is league level, a department is department level.
        kind = lookups.unit_kinds.get(unit_id) if unit_id else None
        check.values["level"] = (LeaderLevel.LEAGUE if unit_id is None
                                 else LeaderLevel.DEPARTMENT if kind == UnitKind.DEPARTMENT else LeaderLevel.UNIT)  # fmt: skip
    if cell_text(check.cells.get("language")):
        check.take("language", lambda v: parse_language(v, lang))
    telegram_id = check.take("telegram_id", lambda v: parse_positive_id(v, lang))
    if telegram_id is not None and telegram_id in lookups.telegram and lookups.telegram[telegram_id] != phone:
        check.fail("telegram_id", t("importer.telegram_taken", lang, value=telegram_id))


def _check_project(check: _RowCheck, lookups: Lookups, year: int) -> None:
    lang = check.lang
    check.text("code")
    check.text("name")
    _unit_id(check, lookups, "unit_code")
    if cell_text(check.cells.get("stage")):
        check.take("stage", lambda v: parse_stage(v, lang))
    for key in AMOUNTS & check.cells.keys():
        scale = check.header.scales.get(key, Decimal(1))
        check.take(key, functools.partial(parse_amount_cell, scale=scale, lang=lang))
    for key in ("planned_start", "actual_start", "resumed_on"):
        check.take(key, lambda v: parse_date(v, lang))
    required = check.take("procedures_required", lambda v: parse_count(v, lang))
    names = check.take("procedures", lambda v: parse_names(v, lang))
    if names and cell_text(check.cells.get("procedures_required")):
        if len(names) != required:
            check.fail(
                "procedures", t("importer.procedures_mismatch", lang, names=len(names), required=required)
            )
    elif names:
        required = check.values["procedures_required"] = len(names)
    done = check.take("procedures_completed", lambda v: parse_count(v, lang))
    if required is not None and done is not None and done > required:
        check.fail("procedures_completed", t("importer.procedures_over", lang, done=done, required=required))
    for key in PHONES:
        phone = check.take(key, lambda v: parse_phone_cell(v, lang))
        if phone is not None and phone not in lookups.phones:
            check.fail(key, t("importer.unknown_phone", lang, value=phone))
    if cell_text(check.cells.get("year")):
        check.take("year", lambda v: _parse_year(v, lang))


def _parse_year(value: Any, lang: str) -> int:
    text = cell_text(value).removesuffix("年")
    if not text.isascii() or not text.isdigit() or not 2000 <= int(text) <= 2100:
        raise CellError(t("importer.bad_year", lang, value=cell_text(value)))
    return int(text)


def _check_progress(check: _RowCheck, lookups: Lookups, year: int) -> None:
    lang = check.lang
    code = check.text("project_code")
    if code and code not in lookups.projects:
        check.fail("project_code", t("importer.unknown_project", lang, value=code))
    if cell_text(check.cells.get("week")):
        check.take("week", lambda v: parse_week_cell(v, lang))
    scale = check.header.scales.get("investment", Decimal(1))
    check.take("investment", lambda v: parse_amount_cell(v, scale=scale, lang=lang))
    check.take("procedures_completed", lambda v: parse_count(v, lang))
    if cell_text(check.cells.get("stage")):
        check.take("stage", lambda v: parse_stage(v, lang))
    check.text("blockers")


async def load_lookups(session: AsyncSession, kind: ImportKind) -> Lookups:
    """Only the references a kind of import needs (codes, phones), never whole rows."""
    lookups = Lookups()
    if kind in (ImportKind.PEOPLE, ImportKind.PROJECTS, ImportKind.UNITS):
        units = await session.exec(select(Unit.id, Unit.code, Unit.name, Unit.short_name, Unit.kind))  # type: ignore[call-overload]
        for unit_id, code, name, short, unit_kind in units.all():
            assert unit_id is not None
            lookups.unit_codes.add(code)
            lookups.unit_kinds[unit_id] = UnitKind(unit_kind)
            for label in (short, name):
                if label:
                    lookups.units.setdefault(label_key(label), unit_id)
            lookups.units[code] = unit_id
    if kind in (ImportKind.PEOPLE, ImportKind.PROJECTS):
        people = await session.exec(select(Person.id, Person.phone, Person.telegram_id))
        for person_id, phone, telegram_id in people.all():
            assert person_id is not None
            if phone:
                lookups.phones[phone] = person_id
            if telegram_id is not None:
                lookups.telegram[telegram_id] = phone
    if kind in (ImportKind.PROJECTS, ImportKind.PROGRESS):
        projects = await session.exec(select(Project.code, Project.id))
        lookups.projects = {code: project_id for code, project_id in projects.all() if project_id is not None}
    return lookups


def _exists(kind: ImportKind, record: Record, lookups: Lookups) -> bool:
    values = record.values
    if kind == ImportKind.UNITS:
        return values["code"] in lookups.unit_codes
    if kind == ImportKind.PEOPLE:
        return values["phone"] in lookups.phones
    if kind == ImportKind.PROJECTS:
        return values["code"] in lookups.projects
    return False


async def import_file(
    session: AsyncSession,
    *,
    settings: Settings,
    kind: ImportKind,
    path: Path,
    dry_run: bool = False,
    year: int | None = None,
    actor_id: int | None = None,
    channel: str = "cli",
    on_rows: Callable[[int], None] | None = None,
    on_row: Callable[[], None] | None = None,
) -> ImportResult:
    """Validate every row of `path`, then (unless a row is bad or `dry_run`) write them all and commit.

    Raises SheetError for a file that cannot be read (too large, not a spreadsheet, no headings).
    `on_rows(total)` then `on_row()` per row report progress to a progress bar.
    """
    lang = settings.language
    the_year = year or datetime.now(settings.tz).year
    try:
        rows = await read_sheet(path, settings=settings, lang=lang)
        lookups = await load_lookups(session, kind)
        records, errors = validate_rows(kind, rows, lookups=lookups, lang=lang, year=the_year, on_rows=on_rows,
                                        on_row=on_row)  # fmt: skip
    except SheetError as exc:
        detail = {"file": path.name, "dry_run": dry_run, "refused": str(exc)}
        await record_audit(
            session, action=f"import.{kind}", channel=channel, actor_id=actor_id, detail=detail
        )
        await session.commit()
        raise
    result = ImportResult(kind=kind, file=path.name, rows=len(records) + len({e.line for e in errors}),
                          dry_run=dry_run, errors=errors)  # fmt: skip
    if not errors:
        result.updated = sum(_exists(kind, r, lookups) for r in records)
        result.created = len(records) - result.updated
    if errors or dry_run:
        await _audit(session, result, actor_id=actor_id, channel=channel)
        await session.commit()
        return result
    try:
        refused = await WRITERS[kind](session, records, settings=settings, year=the_year, lang=lang)
    except BaseException:
        await session.rollback()
        raise
    result.errors.extend(RowError(line=line, column=None, reason=reason) for line, reason in refused)
    if result.errors:  # a row the report service refused: nothing from this file is kept
        await session.rollback()
        result.created = result.updated = 0
    await _audit(session, result, actor_id=actor_id, channel=channel)
    await session.commit()
    return result


async def _audit(session: AsyncSession, result: ImportResult, *, actor_id: int | None, channel: str) -> None:
    detail = {"file": result.file, "rows": result.rows, "created": result.created, "updated": result.updated,
              "dry_run": result.dry_run, "errors": len(result.errors)}  # fmt: skip
    await record_audit(
        session, action=f"import.{result.kind}", channel=channel, actor_id=actor_id, detail=detail
    )
