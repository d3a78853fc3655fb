"""DriverStatement and the driver pool: the bot's busiest statements on asyncpg's own connections in
autocommit, through SQLAlchemy elsewhere; the same rows either way, bound values processed as
SQLAlchemy binds them, a refused statement leaving its connection usable, a lost connection replaced,
and the pool closed with its engine."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import asyncpg
import pytest
from sqlalchemy import Float, bindparam, cast, insert, literal_column, text, type_coerce
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import ProgressReport, Unit, UnitKind
from models.base import UTCDateTime
from models.db import DriverStatement, SessionMaker, driver_connection, log_driver_queries
from notifier.reporting.reports import WRITE_REPORT

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


def _postgresql_only(engine: AsyncEngine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("the driver pool is PostgreSQL's (asyncpg)")


async def _server_pids(engine: AsyncEngine) -> set[int]:
    async with engine.connect() as connection:
        return set((await connection.execute(text("SELECT pid FROM pg_stat_activity"))).scalars())


async def test_the_same_rows_on_the_driver_and_through_sqlalchemy(
    engine: AsyncEngine, sessionmaker: SessionMaker
) -> None:
    seen: list[str] = []
    undo = log_driver_queries(engine, lambda record: seen.append(record.query))
    async with sessionmaker() as session:
        async with driver_connection(session) as driver:
            assert (driver is not None) == (engine.dialect.name == "postgresql")
            connection = driver if driver is not None else await session.connection()
            for code, name in (("ALZQ", "阿拉善左旗"), ("EJNQ", "额济纳旗")):
                await ADD_UNIT.rows(connection, {"code": code, "name": name})
            rows = await UNITS.rows(connection, {"kind": UnitKind.BANNER})
            assert await UNITS.first(connection, {"kind": UnitKind.PARK}) is None
        await session.commit()  # SQLite: the session's transaction; on the driver each was autocommitted
        expected = (
            await (await session.connection()).execute(UNITS.statement, {"kind": UnitKind.BANNER})
        ).all()
    assert [tuple(row) for row in rows] == [tuple(row) for row in expected]
    assert [(row.code, row.name) for row in rows] == [("ALZQ", "阿拉善左旗"), ("EJNQ", "额济纳旗")]
    await asyncio.sleep(0)  # asyncpg hands its log on once the event loop runs
    undo()
    if engine.dialect.name == "postgresql":  # asyncpg ran them itself, and its log shows them
        assert seen.count(ADD_UNIT.sql) == 2 and UNITS.sql in seen


async def test_a_session_in_a_transaction_gets_no_driver_connection(session: AsyncSession) -> None:
    """Its statements go through it: they see what the transaction wrote and vanish with its rollback."""
    session.add(Unit(code="U1", name="阿拉善盟", kind=UnitKind.BANNER))
    await session.flush()
    async with driver_connection(session) as driver:
        assert driver is None
        assert [
            row.code for row in await UNITS.rows(await session.connection(), {"kind": UnitKind.BANNER})
        ] == ["U1"]
    await session.rollback()
    assert await UNITS.rows(await session.connection(), {"kind": UnitKind.BANNER}) == []


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


def test_columns_the_driver_cannot_return_as_sqlalchemy_would_are_refused() -> None:
    with pytest.raises(TypeError, match="share"):
        DriverStatement(select(ProgressReport.id, cast(ProgressReport.investment, Float).label("share")))


async def test_a_utc_column_comes_back_as_sqlalchemy_returns_it(
    engine: AsyncEngine, session: AsyncSession
) -> None:
    """UTCDateTime's own conversion on the driver's values: a timestamp without a zone comes back aware,
    in UTC, as SQLAlchemy returns it."""
    _postgresql_only(engine)
    naive = type_coerce(literal_column("'2026-11-26 03:00'::timestamp"), UTCDateTime()).label("at")
    stamps = DriverStatement(select(naive))
    expected: datetime = (await (await session.connection()).execute(stamps.statement)).scalar_one()
    await session.rollback()
    async with driver_connection(session) as driver:
        [row] = await stamps.rows(driver, {})
    assert row.at == expected == datetime(2026, 11, 26, 3, 0, tzinfo=UTC) and row.at.tzinfo is not None


async def test_a_refused_statement_leaves_the_connection_usable(
    engine: AsyncEngine, session: AsyncSession
) -> None:
    _postgresql_only(engine)
    async with driver_connection(session) as driver:
        await ADD_UNIT.rows(driver, {"code": "ALZQ", "name": "阿拉善左旗"})
        with pytest.raises(asyncpg.UniqueViolationError):
            await ADD_UNIT.rows(driver, {"code": "ALZQ", "name": "又一个"})
        assert [row.name for row in await UNITS.rows(driver, {"kind": UnitKind.BANNER})] == ["阿拉善左旗"]


async def test_a_lost_connection_is_replaced(engine: AsyncEngine, sessionmaker: SessionMaker) -> None:
    _postgresql_only(engine)
    async with sessionmaker() as session:
        async with driver_connection(session) as driver:
            pid = driver.get_server_pid()
            async with engine.connect() as other:
                await other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            with pytest.raises(
                (asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.InternalClientError, OSError)
            ):
                await UNITS.rows(driver, {"kind": UnitKind.BANNER})
        async with driver_connection(session) as driver:  # the pool opened a new connection in its place
            assert driver.get_server_pid() != pid
            assert await UNITS.rows(driver, {"kind": UnitKind.BANNER}) == []


async def test_the_driver_pool_closes_with_its_engine(db_url: str) -> None:
    from models.db import create_engine, create_sessionmaker

    engine = create_engine(db_url)
    _postgresql_only(engine)
    async with create_sessionmaker(engine)() as session, driver_connection(session) as driver:
        pid = driver.get_server_pid()
    watcher = create_engine(db_url)
    try:
        assert pid in await _server_pids(watcher)
        await engine.dispose()
        for _ in range(100):  # the server notices the closed connection within moments
            if pid not in await _server_pids(watcher):
                break
            await asyncio.sleep(0.05)
        assert pid not in await _server_pids(watcher)
    finally:
        await watcher.dispose()
