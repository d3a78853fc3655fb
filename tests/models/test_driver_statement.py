"""DriverStatement: the busiest statements on asyncpg itself in autocommit, through SQLAlchemy
elsewhere; the same rows either way, bound values processed as SQLAlchemy binds them, a refused
statement leaving its connection usable and a lost connection never handed out again."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import asyncpg
import pytest
from sqlalchemy import bindparam, insert, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlmodel import col, select

from models import ProgressReport, Unit, UnitKind
from models.db import AUTOCOMMIT, DriverStatement
from notifier.reports import WRITE_REPORT

UNITS = DriverStatement(
    select(Unit.id, Unit.code, Unit.name, Unit.sort_order)
    .where(col(Unit.kind) == bindparam("kind"))
    .order_by(col(Unit.id))
)
ADD_UNIT = DriverStatement(
    insert(Unit)
    .values(code=bindparam("code"), name=bindparam("name"), kind=UnitKind.BANNER, sort_order=0)
    .returning(col(Unit.id))
)


@pytest.fixture
def driver_log() -> Iterator[tuple[list[str], Any]]:
    """What asyncpg itself was asked to run (SQLAlchemy's prepared statements never show here)."""
    seen: list[str] = []

    def logged(record: Any) -> None:
        seen.append(record.query)

    yield seen, logged


async def _driver(connection: AsyncConnection) -> Any:
    driver = (await connection.get_raw_connection()).driver_connection
    assert driver is not None
    return driver


async def _autocommit(engine: AsyncEngine, connection: AsyncConnection) -> AsyncConnection:
    return (
        await connection.execution_options(**AUTOCOMMIT)
        if engine.dialect.name == "postgresql"
        else connection
    )


async def test_the_same_rows_on_the_driver_and_through_sqlalchemy(
    engine: AsyncEngine, driver_log: tuple[list[str], Any]
) -> None:
    seen, logged = driver_log
    async with engine.connect() as plain:
        connection = await _autocommit(engine, plain)
        for code, name in (("ALZQ", "阿拉善左旗"), ("EJNQ", "额济纳旗")):
            await ADD_UNIT.rows(connection, {"code": code, "name": name})
        await connection.commit()
        if engine.dialect.name == "postgresql":
            (await _driver(connection)).add_query_logger(logged)
        rows = await UNITS.rows(connection, {"kind": UnitKind.BANNER})
        expected = (await connection.execute(UNITS.statement, {"kind": UnitKind.BANNER})).all()
        assert [tuple(row) for row in rows] == [tuple(row) for row in expected]
        assert [(row.code, row.name) for row in rows] == [("ALZQ", "阿拉善左旗"), ("EJNQ", "额济纳旗")]
        assert await UNITS.first(connection, {"kind": UnitKind.PARK}) is None
    if engine.dialect.name == "postgresql":  # asyncpg ran it (its log), not SQLAlchemy's cursor
        assert any(query == UNITS.sql for query in seen)


async def test_in_a_transaction_the_statement_goes_through_sqlalchemy(engine: AsyncEngine) -> None:
    """A connection in a transaction: the statement sees that transaction's own uncommitted rows."""
    async with engine.connect() as connection:
        await connection.execute(insert(Unit).values(code="U1", name="阿拉善盟", kind=UnitKind.BANNER))
        assert [row.code for row in await UNITS.rows(connection, {"kind": UnitKind.BANNER})] == ["U1"]
        await connection.rollback()
        assert await UNITS.rows(connection, {"kind": UnitKind.BANNER}) == []


def test_bound_values_are_processed_as_sqlalchemy_binds_them() -> None:
    at = datetime(2026, 11, 26, 11, 0, tzinfo=timezone(timedelta(hours=8)))
    params = {f"v_{name}": value for name, value in {
        "project_id": 1, "week": "2026-W48", "year": 2026, "week_end": date(2026, 11, 29), "reporter_id": 2,
        "channel": "telegram", "investment": Decimal("850.00"), "procedures_completed": 0, "stage": "continuing",
        "blockers": None, "procedure_names": "[]", "submitted_at": at, "is_current": True}.items()}  # fmt: skip
    values = WRITE_REPORT.values(params | {"p_project": 1, "p_week": "2026-W48"})
    assert datetime(2026, 11, 26, 3, 0, tzinfo=UTC) in values  # the UTC column's own conversion
    assert all(value is not at for value in values)
    with pytest.raises(ValueError, match="naive"):
        WRITE_REPORT.values(
            params | {"v_submitted_at": at.replace(tzinfo=None), "p_project": 1, "p_week": "W"}
        )
    with pytest.raises(KeyError):
        WRITE_REPORT.values({"v_week": "2026-W48"})


def test_columns_the_driver_would_return_unconverted_are_refused() -> None:
    with pytest.raises(TypeError, match="submitted_at"):
        DriverStatement(select(ProgressReport.id, ProgressReport.submitted_at))


def _postgresql_only(engine: AsyncEngine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("the driver runs statements on PostgreSQL only")


async def test_a_refused_statement_leaves_the_connection_usable(engine: AsyncEngine) -> None:
    _postgresql_only(engine)
    async with engine.connect() as plain:
        connection = await plain.execution_options(**AUTOCOMMIT)
        await ADD_UNIT.rows(connection, {"code": "ALZQ", "name": "阿拉善左旗"})
        with pytest.raises(asyncpg.UniqueViolationError):
            await ADD_UNIT.rows(connection, {"code": "ALZQ", "name": "又一个"})
        assert not connection.invalidated
        assert [row.name for row in await UNITS.rows(connection, {"kind": UnitKind.BANNER})] == ["阿拉善左旗"]


async def test_a_lost_connection_is_invalidated_and_never_handed_out_again(engine: AsyncEngine) -> None:
    _postgresql_only(engine)
    async with engine.connect() as plain:
        connection = await plain.execution_options(**AUTOCOMMIT)
        pid = (await _driver(connection)).get_server_pid()
        async with engine.connect() as other:
            await other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        with pytest.raises(
            (asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.InternalClientError, OSError)
        ):
            await UNITS.rows(connection, {"kind": UnitKind.BANNER})
        assert connection.invalidated
    async with engine.connect() as fresh:  # the pool opened a new connection in its place
        connection = await fresh.execution_options(**AUTOCOMMIT)
        assert (await _driver(connection)).get_server_pid() != pid
        assert await UNITS.rows(connection, {"kind": UnitKind.BANNER}) == []
