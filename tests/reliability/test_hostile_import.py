"""Hostile spreadsheets: arbitrary cell values and arbitrary bytes never raise an unhandled exception.

Every row either becomes a clean record or is reported with its line number and a reason.
"""

from __future__ import annotations

import asyncio
import csv
import os
import tempfile
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import SQLModel

from models import Person, Project, Role, Stage, Unit, UnitKind
from models.db import create_engine, create_sessionmaker
from notifier.core.settings import load_settings
from notifier.importing.cells import (
    CellError,
    cell_text,
    parse_amount_cell,
    parse_count,
    parse_date,
    parse_kind,
    parse_language,
    parse_phone_cell,
    parse_positive_id,
    parse_role,
    parse_stage,
    parse_week_cell,
)
from notifier.importing.importer import COLUMNS, ImportKind, Lookups, import_file, validate_rows
from notifier.importing.sheets import Row, SheetError, read_rows

cells: st.SearchStrategy[Any] = st.one_of(
    st.none(),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=30),
    st.sampled_from(["3000万", "1.2亿", "新开工", "续建", "ALZQ", "13904830001", "2026-03-01", "2026-W10", "-1",
                     "1e309", "NaN", "０", "一千二百万", "旗", "lead", "zh", "12,000,000", "2026/2/30", " "]),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.datetimes(min_value=datetime(1, 1, 2)),
    st.dates(),
)  # fmt: skip
PARSERS = [parse_count, parse_date, parse_kind, parse_language, parse_phone_cell, parse_positive_id, parse_role,
           parse_stage, parse_amount_cell, parse_week_cell]  # fmt: skip
LOOKUPS = Lookups(units={"ALZQ": 1, "阿拉善左旗": 1}, unit_codes={"ALZQ"}, phones={"+8613904830001": 7},
                  projects={"P001": 3})  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(PARSERS), cells)
def test_cell_parsers_refuse_cleanly(parse: Any, value: Any) -> None:
    try:
        parsed = parse(value)
    except CellError as exc:
        assert str(exc)
        return
    assert isinstance(cell_text(value), str)
    if parse is parse_amount_cell and parsed is not None:
        assert parsed.is_finite() and parsed >= 0 and parsed == parsed.quantize(Decimal("0.01"))
    if parse is parse_date and parsed is not None:
        assert isinstance(parsed, date)
    if parse is parse_stage:
        assert isinstance(parsed, Stage)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(list(ImportKind)), st.lists(st.lists(cells, max_size=18), max_size=8))
def test_any_cells_give_records_or_line_numbered_errors(kind: ImportKind, body: list[list[Any]]) -> None:
    header = Row(line=1, cells=tuple(c.key for c in COLUMNS[kind]))
    rows = [header] + [Row(line=i + 2, cells=tuple(r)) for i, r in enumerate(body)]
    records, errors = validate_rows(kind, rows, lookups=LOOKUPS, year=2026)
    bad_lines = {e.line for e in errors}
    good_lines = {r.line for r in records}
    assert not bad_lines & good_lines
    assert bad_lines | good_lines == {r.line for r in rows[1:]}
    assert all(e.reason for e in errors)
    for record in records:
        for key, value in record.values.items():
            if (
                key in ("total_investment", "annual_plan", "ytd_investment", "investment")
                and value is not None
            ):
                assert isinstance(value, Decimal) and value >= 0


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=2000), st.sampled_from(["csv", "xlsx", "txt"]))
def test_arbitrary_bytes_are_read_or_refused(data: bytes, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"upload.{suffix}"
        path.write_bytes(data)
        try:
            rows = read_rows(path, max_bytes=1500, max_rows=100)
        except SheetError as exc:
            assert str(exc)
            return
    assert all(row.line >= 1 for row in rows)
    assert [row.line for row in rows] == sorted({row.line for row in rows})


def _workbook_bytes() -> bytes:
    from io import BytesIO

    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for i in range(30):
        sheet.append([f"P{i:03d}", i * 1000, "新开工", datetime(2026, 3, 1)])
    buffer = BytesIO()
    book.save(buffer)
    return buffer.getvalue()


WORKBOOK = _workbook_bytes()


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, len(WORKBOOK) - 1), st.integers(0, 255)), min_size=1, max_size=8),
    st.integers(1, len(WORKBOOK)),
)
def test_damaged_workbooks_are_refused_not_crashed(flips: list[tuple[int, int]], keep: int) -> None:
    data = bytearray(WORKBOOK)
    for position, value in flips:
        data[position] = value
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "damaged.xlsx"
        path.write_bytes(bytes(data[:keep]))
        try:
            rows = read_rows(path, max_bytes=10**6, max_rows=1000)
        except SheetError as exc:
            assert str(exc)
            return
    assert all(row.line >= 1 for row in rows)


codes = st.sampled_from(["P1", "P2", "P3", "ALZQ", "X" * 33])
known = st.sampled_from(["13904830001", ""])
phones = st.one_of(st.just("13904830001"), st.integers(13_904_830_000, 13_904_830_009).map(str))
amounts = st.one_of(
    st.sampled_from(["3000万", "1.2亿", "0", "12,000,000", "999999999999"]), st.integers(0, 10**9)
)
# Values close to valid ones, so rows reach the database often (long text there tests the column widths).
PLAUSIBLE: dict[str, st.SearchStrategy[Any]] = {
    "code": codes, "project_code": codes, "name": st.text(min_size=1, max_size=210),
    "short_name": st.text(max_size=20), "title": st.text(max_size=70), "blockers": st.text(max_size=50),
    "kind": st.sampled_from(["旗", "园区", "park"]), "role": st.sampled_from(["lead", "领导", "工作人员"]),
    "unit_code": st.sampled_from(["ALZQ", "阿拉善左旗", "ALZQ", ""]), "phone": phones, "lead_phone": known, "league_leader_phone": known, "unit_leader_phone": known,
    "department_contact_phone": known, "level": st.sampled_from(["盟级", "unit", ""]),
    "telegram_id": st.one_of(st.just(""), st.integers(1, 2**63 - 1)), "language": st.sampled_from(["zh", "en", ""]),
    "stage": st.sampled_from(["新开工", "续建", "completed"]), "total_investment": amounts, "annual_plan": amounts,
    "ytd_investment": amounts, "investment": amounts, "planned_start": st.dates(), "actual_start": st.dates(),
    "procedures_required": st.integers(0, 12), "procedures_completed": st.integers(0, 3),
    "procedures": st.just(""), "week": st.sampled_from(["2026-W10", "2026年第11周"]),
    "year": st.sampled_from(["2026", ""]),
}  # fmt: skip


def _database_url(folder: str) -> str:
    return os.environ.get("TEST_DATABASE_URL") or f"sqlite+aiosqlite:///{folder}/hostile.db"


async def _fresh_database(url: str) -> None:
    engine = create_engine(url)
    async with engine.begin() as connection:
        await connection.run_sync(SQLModel.metadata.drop_all)
        await connection.run_sync(SQLModel.metadata.create_all)
    async with create_sessionmaker(engine)() as session:
        session.add(Unit(code="ALZQ", name="阿拉善左旗", kind=UnitKind.BANNER))
        session.add(Person(name="王伟", phone="+8613904830001", role=Role.LEAD))
        await session.flush()
        for code in ("P1", "P2"):
            session.add(Project(code=code, name=code, unit_id=1, year=2026, stage=Stage.NEW,
                                total_investment=Decimal(10**10)))  # fmt: skip
        await session.commit()
    await engine.dispose()


async def _import(url: str, kind: ImportKind, path: Path) -> None:
    engine = create_engine(url)
    try:
        async with create_sessionmaker(engine)() as session:
            settings = load_settings(database_url=url, _env_file=None)
            result = await import_file(session, settings=settings, kind=kind, path=path, year=2026)
            assert result.ok or all(e.line > 1 and e.reason for e in result.errors)
    finally:
        await engine.dispose()


def test_any_cells_reach_the_database_or_are_refused(tmp_path: Path) -> None:
    """Through the real database (PostgreSQL when configured: it enforces column widths SQLite ignores)."""
    url = _database_url(str(tmp_path))
    asyncio.run(_fresh_database(url))

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.sampled_from(list(ImportKind)), st.data())
    def run(kind: ImportKind, data: st.DataObject) -> None:
        keys = [c.key for c in COLUMNS[kind]]
        plausible = st.tuples(*(PLAUSIBLE.get(key, cells) for key in keys)).map(list)
        body = data.draw(st.lists(plausible, min_size=1, max_size=4, unique_by=lambda row: str(row[0])))
        for row in body:  # about half the rows get one arbitrary cell
            if data.draw(st.booleans()):
                row[data.draw(st.integers(0, len(keys) - 1))] = data.draw(cells)
        path = tmp_path / "hostile.csv"
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(keys)
            writer.writerows([[cell_text(cell) for cell in row] for row in body])
        try:
            asyncio.run(_import(url, kind, path))
        except SheetError:
            pass  # e.g. a cell holding a NUL byte: the file is not a readable spreadsheet

    run()
