"""Importing the office's lists: units, people, projects and weekly progress from .xlsx or .csv.

Every row is validated before anything is written: a file with any bad row imports nothing and
the result names every bad row by its line in the file. Re-importing a row with the same key
(unit code, person phone, project code) updates it. Headings may be English or Chinese,
simplified or traditional, with spaces or a unit in brackets ("总投资(万元)"), in one row or two.

Nothing is dropped silently: the result holds the column mapping (heading -> field), a warning for
each headed column left out, and a note for each row skipped (titles, 合计, sections, footnotes)
or read in a way worth saying (a month without a day).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import LeaderLevel, Person, Project, Role, Unit, UnitKind
from notifier.core.audit import record_audit
from notifier.core.settings import Settings
from notifier.core.texts import t
from notifier.importing.cells import (
    cell_text,
    label_key,
    parse_amount_cell,
    parse_count,
    parse_kind,
    parse_language,
    parse_level,
    parse_phone_cell,
    parse_positive_id,
    parse_role,
    parse_stage,
    parse_week_cell,
    role_level,
)
from notifier.importing.headings import (
    AMOUNTS,
    COLUMNS,
    HEADER_SCAN_ROWS,
    Header,
    ImportKind,
    MappedColumn,
    find_header,
    heading_row,
)
from notifier.importing.layout import RowKind, Section, row_kind, section_of
from notifier.importing.projects import SectionContext, check_project, file_problems, section_context
from notifier.importing.rows import Lookups, RowCheck, RowError
from notifier.importing.sheets import Row, SheetError, read_sheet
from notifier.importing.writes import WRITERS, Record

__all__ = ["AMOUNTS", "COLUMNS", "HEADER_SCAN_ROWS", "Header", "ImportKind", "ImportResult", "Lookups",
           "RowError", "find_header", "heading_row", "import_file", "validate_rows"]  # fmt: skip

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
    ImportKind.PROJECTS: {"code": 32, "name": 200, "unit_code": 128, **dict.fromkeys(
        ("lead_name", "league_leader_name", "unit_leader_name", "department_contact_name"), 64)},
    ImportKind.PROGRESS: {"project_code": 32, "blockers": 2000},
}  # fmt: skip


@dataclass
class ImportResult:
    kind: ImportKind
    file: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    dry_run: bool = False
    errors: list[RowError] = field(default_factory=list)
    header_line: int = 0
    header_first: int = 0  # the first heading row of a two-row heading (else header_line)
    mapping: list[MappedColumn] = field(default_factory=list)
    warnings: list[RowError] = field(default_factory=list)  # headed columns left out, counts that differ
    notes: list[RowError] = field(default_factory=list)  # rows skipped, and values read with a remark

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def unknown(self) -> list[MappedColumn]:
        return [m for m in self.mapping if m.key is None and not m.chosen]

    def to_json(self) -> dict[str, Any]:
        return {"kind": str(self.kind), "file": self.file, "ok": self.ok, "dry_run": self.dry_run,
                "rows": self.rows, "created": self.created, "updated": self.updated,
                "header_lines": [self.header_first or self.header_line, self.header_line], "mapping": [m.to_json() for m in self.mapping],
                "warnings": [w.to_json() for w in self.warnings], "notes": [n.to_json() for n in self.notes],
                "errors": [e.to_json() for e in self.errors]}  # fmt: skip


@dataclass
class Checked:
    """Every row of a file checked: the records to write, the problems, and what was said along the way."""

    header: Header
    records: list[Record] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    warnings: list[RowError] = field(default_factory=list)
    notes: list[RowError] = field(default_factory=list)


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
    checked = check_rows(kind, rows, lookups=lookups, lang=lang, year=year, on_rows=on_rows, on_row=on_row)
    return checked.records, checked.errors


def check_rows(
    kind: ImportKind,
    rows: Sequence[Row],
    *,
    lookups: Lookups,
    lang: str = "zh",
    year: int,
    overrides: Mapping[str, str] | None = None,
    on_rows: Callable[[int], None] | None = None,
    on_row: Callable[[], None] | None = None,
) -> Checked:
    """Find the headings, sort the rows below them into data and the rest, and check each data row."""
    header = find_header(kind, rows, lang, overrides)
    checked = Checked(header=header)
    checked.notes.extend(RowError(line=row.line, column=None, reason=t("importer.note_title", lang))
                         for row in rows if row.line < header.first_line)  # fmt: skip
    checked.warnings.extend(RowError(line=header.line, column=m.heading,
                                     reason=t("importer.unknown_heading", lang, letter=m.letter))
                            for m in header.unknown)  # fmt: skip
    body = [row for row in rows if row.line > header.line]
    if on_rows is not None:
        on_rows(len(body))
    data = _sort_rows(kind, body, header, lookups, checked, lang)
    checked.warnings.extend(_headless_data(header, [row for row, _ in data], lang))
    if kind == ImportKind.PROJECTS:
        contexts = [context for _, context in data]
        problems = file_problems(header, sections=list({id(c): c for c in contexts}.values()), lang=lang)
        if problems:
            checked.errors.extend(RowError(line=header.line, column=None, reason=p) for p in problems)
            return checked
        if "code" not in header.headings:
            checked.notes.append(RowError(line=header.line, column=None,
                                          reason=t("importer.codes_generated", lang, year=year)))  # fmt: skip
    _check_data(kind, data, header, lookups, checked, lang=lang, year=year, on_row=on_row)
    checked.notes.sort(key=lambda note: note.line)
    return checked


def _sort_rows(
    kind: ImportKind, body: Sequence[Row], header: Header, lookups: Lookups, checked: Checked, lang: str
) -> list[tuple[Row, SectionContext]]:
    """The data rows with the section each is under; a note for every row that is not data."""
    top = context = SectionContext()
    sections: list[Section] = []
    counts: dict[int, int] = {}  # section line -> data rows under it
    open_lines: list[int] = []
    data: list[tuple[Row, SectionContext]] = []
    for row in body:
        what = row_kind(row, header)
        if what == RowKind.DATA:
            data.append((row, context))
            for line in open_lines:
                counts[line] += 1
            continue
        if what == RowKind.SECTION:
            section = section_of(row)
            sections.append(section)
            counts[section.line] = 0
            parent = top if section.level > 1 else None
            context = (section_context(section, lookups, parent) if kind == ImportKind.PROJECTS
                       else SectionContext(section))  # fmt: skip
            if section.level == 1:
                top, open_lines = context, [section.line]
            else:
                open_lines = [*open_lines[:1], section.line] if top.section else [section.line]
            reason = _section_note(context, lang)
        else:
            reason = t(f"importer.note_{what}", lang)
        checked.notes.append(RowError(line=row.line, column=None, reason=reason))
    for section in sections:
        if section.count is not None and section.count != counts[section.line]:
            checked.warnings.append(RowError(line=section.line, column=None, reason=t(
                "importer.section_count", lang, title=section.title, count=section.count,
                rows=counts[section.line])))  # fmt: skip
    return data


def _section_note(context: SectionContext, lang: str) -> str:
    assert context.section is not None
    said = []
    if context.unit_id is not None:
        said.append(t("importer.section_unit", lang, value=context.unit_title))
    if context.stage is not None:
        said.append(t("importer.section_stage", lang, value=context.stage_title))
    return t("importer.note_section", lang, text=context.section.text) + "".join(said)


def _headless_data(header: Header, data: Sequence[Row], lang: str) -> list[RowError]:
    """A warning for each column that holds data under no heading at all."""
    headed = {m.index for m in header.mapping}
    found: dict[int, int] = {}
    for row in data:
        for index, value in enumerate(row.cells):
            if index not in headed and index not in found and cell_text(value):
                found[index] = row.line
    letters = {index: MappedColumn(index=index, heading="", key=None).letter for index in found}
    return [RowError(line=line, column=None, reason=t("importer.headless_column", lang, letter=letters[index]))
            for index, line in sorted(found.items())]  # fmt: skip


def _check_data(
    kind: ImportKind,
    data: Sequence[tuple[Row, SectionContext]],
    header: Header,
    lookups: Lookups,
    checked: Checked,
    *,
    lang: str,
    year: int,
    on_row: Callable[[], None] | None,
) -> None:
    required = [c.key for c in COLUMNS[kind] if c.required]
    checks: dict[ImportKind, Callable[[RowCheck, Lookups, int], None]] = {
        ImportKind.UNITS: _check_unit,
        ImportKind.PEOPLE: _check_person,
        ImportKind.PROGRESS: _check_progress,
    }
    seen: dict[tuple[Any, ...], int] = {}
    merges: set[str] = set()
    for row, context in data:
        cells = {key: row.cells[i] if i < len(row.cells) else None for i, key in header.columns.items()}
        check = RowCheck(row.line, header, cells, lang, LIMITS[kind])
        _check_merged(check, row, merges)
        check.require(*required)
        if kind == ImportKind.PROJECTS:
            check_project(check, lookups, year, context)
        else:
            checks[kind](check, lookups, year)
        _check_unique(check, UNIQUE[kind], seen)
        checked.errors.extend(check.errors)
        checked.notes.extend(check.notes)
        if not check.errors:
            checked.records.append(Record(line=row.line, values=check.values))
        if on_row is not None:
            on_row()


def _check_merged(check: RowCheck, row: Row, said: set[str]) -> None:
    """A text merged down several rows belongs to each (said once per range); an amount cannot be split."""
    for index, ref in row.merged:
        key = check.header.columns.get(index)
        if key is None:
            continue
        if key in AMOUNTS:
            check.fail(key, t("importer.merged_amount", check.lang, ref=ref))
        elif ref not in said:
            said.add(ref)
            check.note(
                key, t("importer.merged_value", check.lang, ref=ref, value=cell_text(row.cells[index]))
            )


def _check_unique(
    check: RowCheck, keys: tuple[tuple[str, ...], ...], seen: dict[tuple[Any, ...], int]
) -> None:
    for names in keys:
        values = tuple(check.values.get(name) for name in names)
        if any(value is None or value == "" for value in values):
            continue
        first = seen.setdefault((names, *values), check.line)
        if first != check.line:
            shown = " ".join(str(value) for value in values)
            check.fail(names[-1], t("importer.duplicate", check.lang, line=first, value=shown))


def _unit_id(check: RowCheck, lookups: Lookups, key: str) -> int | None:
    text = check.text(key)
    if not text:
        return None
    unit_id = lookups.units.get(text) or lookups.units.get(label_key(text))
    if unit_id is None:
        check.fail(key, t("importer.unknown_unit", check.lang, value=text))
    check.values[key + "_id"] = unit_id
    return unit_id


def _check_unit(check: RowCheck, lookups: Lookups, year: int) -> None:
    check.text("code")
    check.text("name")
    check.text("short_name")
    if cell_text(check.cells.get("kind")):
        check.take("kind", lambda v: parse_kind(v, check.lang))


def _check_person(check: RowCheck, lookups: Lookups, year: int) -> None:
    lang = check.lang
    check.text("name")
    check.text("title")
    phone = check.take("phone", lambda v: parse_phone_cell(v, lang))
    if cell_text(check.cells.get("role")):
        check.take("role", lambda v: parse_role(v, lang))
    unit_id = _unit_id(check, lookups, "unit_code")
    if cell_text(check.cells.get("level")):
        check.take("level", lambda v: parse_level(v, lang))
    elif (level := role_level(check.cells.get("role"))) is not None:
        check.values["level"] = level  # 盟领导, 旗区领导: the role name says the level
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


def _check_progress(check: RowCheck, lookups: Lookups, year: int) -> None:
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
            lookups.unit_code_of[unit_id] = code
    if kind in (ImportKind.PEOPLE, ImportKind.PROJECTS):
        people = await session.exec(select(Person.id, Person.phone, Person.telegram_id, Person.name))  # type: ignore[call-overload]
        for person_id, phone, telegram_id, name in people.all():
            assert person_id is not None
            lookups.add_person(person_id, name, phone)
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
    overrides: Mapping[str, str] | None = None,
    on_rows: Callable[[int], None] | None = None,
    on_row: Callable[[], None] | None = None,
) -> ImportResult:
    """Validate every row of `path`, then (unless a row is bad or `dry_run`) write them all and commit.

    Raises SheetError for a file that cannot be read (too large, not a spreadsheet, no headings).
    `overrides` picks the field of a column by its letter ("E") or heading ("" leaves it out).
    `on_rows(total)` then `on_row()` per row report progress to a progress bar.
    """
    lang = settings.language
    the_year = year or datetime.now(settings.tz).year
    try:
        rows = await read_sheet(path, settings=settings, lang=lang)
        lookups = await load_lookups(session, kind)
        checked = check_rows(kind, rows, lookups=lookups, lang=lang, year=the_year, overrides=overrides,
                             on_rows=on_rows, on_row=on_row)  # fmt: skip
    except SheetError as exc:
        detail = {"file": path.name, "dry_run": dry_run, "refused": str(exc)}
        await record_audit(
            session, action=f"import.{kind}", channel=channel, actor_id=actor_id, detail=detail
        )
        await session.commit()
        raise
    records, errors = checked.records, checked.errors
    data_errors = {e.line for e in errors if e.line > checked.header.line}
    result = ImportResult(kind=kind, file=path.name, rows=len(records) + len(data_errors), dry_run=dry_run,
                          errors=errors, header_line=checked.header.line,
                          header_first=checked.header.first_line, mapping=list(checked.header.mapping),
                          warnings=checked.warnings, notes=checked.notes)  # fmt: skip
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
              "dry_run": result.dry_run, "errors": len(result.errors), "warnings": len(result.warnings),
              "notes": len(result.notes)}  # fmt: skip
    await record_audit(
        session, action=f"import.{result.kind}", channel=channel, actor_id=actor_id, detail=detail
    )
