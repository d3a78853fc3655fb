"""What a report conversation costs the database on PostgreSQL: its reads in autocommit (no BEGIN or
COMMIT around them), the report stored in two round trips, a read and one statement that writes."""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.middlewares import reads, release_connection
from models import ProgressReport, Stage, Unit, UnitKind, db
from models.db import SessionMaker
from notifier.core.settings import Settings
from tests.bot.harness import WEEK, harness
from tests.notifier.bot_world import make_world
from tests.sql_log import StatementLog, statement_log

LEAD = 111


@pytest.fixture
def round_trips(sessionmaker: SessionMaker, monkeypatch: pytest.MonkeyPatch) -> Iterator[StatementLog]:
    """Every statement the bot's engine sends PostgreSQL (tests/sql_log.py), with the BEGIN, COMMIT
    and ROLLBACK around a transaction: a statement in autocommit has none of those around it. Each
    is a round trip of its own."""
    engine = sessionmaker.kw["bind"].sync_engine
    if engine.dialect.name != "postgresql":
        pytest.skip("round trips are counted on PostgreSQL")
    monkeypatch.setattr(db, "PING_IDLE_AFTER", math.inf)  # an idle connection's ping is not the report's
    with statement_log(sessionmaker.kw["bind"]) as log:
        yield log


async def _words(log: StatementLog, mark: int) -> list[str]:
    """The statements sent since `mark`, by their first word."""
    return [sql.split(None, 1)[0].rstrip(";").upper() for sql in await log.since(mark)]


async def test_a_report_costs_its_statements_and_no_transaction(
    session: AsyncSession, settings: Settings, sessionmaker: SessionMaker, round_trips: StatementLog
) -> None:
    world = await make_world(session)
    world.lead.telegram_id = LEAD
    session.add(world.lead)
    await session.commit()
    project = world.projects[1]  # continuing, not yet resumed this year
    assert project.stage == Stage.CONTINUING and project.resumed_on is None
    h = harness(settings, sessionmaker)
    mark = await round_trips.mark()
    await h.tap(LEAD, f"rep:{project.id}:{WEEK}")
    # The sender (cached from now on), the project with its open items: two round trips.
    assert await _words(round_trips, mark) == ["SELECT", "SELECT"]
    mark = await round_trips.mark()
    await h.tap(LEAD, "stg:continuing")
    await h.text(LEAD, "300万")  # the project has no open procedure items: blockers next
    await h.text(LEAD, "无")
    assert await _words(round_trips, mark) == []
    mark = await round_trips.mark()
    assert h.texts(await h.tap(LEAD, "cfm:1"))[0].startswith("已保存2026-W48周进展")
    # The project, then one statement: retire, insert and the project's resumption date (set once).
    assert await _words(round_trips, mark) == ["SELECT", "WITH"]
    await session.refresh(project)
    assert project.resumed_on is not None

    # The same report again: nothing changes in the project (the statement leaves it alone).
    for step in (f"rep:{project.id}:{WEEK}", "stg:continuing"):
        await h.tap(LEAD, step)
    await h.text(LEAD, "500万")
    await h.text(LEAD, "无")
    mark = await round_trips.mark()
    await h.tap(LEAD, "cfm:1")
    assert await _words(round_trips, mark) == ["SELECT", "WITH"]
    versions = (await session.exec(select(ProgressReport.version, ProgressReport.is_current))).all()
    assert sorted(versions) == [(1, False), (2, True)]


async def _autocommit(connection: AsyncConnection) -> bool:
    return bool(getattr((await connection.get_raw_connection()).dbapi_connection, "autocommit", False))


async def test_reads_with_changes_pending_stay_in_a_transaction(
    session: AsyncSession, sessionmaker: SessionMaker, round_trips: StatementLog
) -> None:
    session.add(Unit(code="U1", name="阿拉善左旗", kind=UnitKind.BANNER))
    await session.commit()
    async with sessionmaker() as fresh:
        connection = await reads(fresh)
        assert await _autocommit(connection)
        [unit] = (await connection.execute(select(Unit.id))).all()
        loaded = await fresh.get(Unit, unit.id)
        await release_connection(fresh)
        assert loaded is not None and not fresh.in_transaction()
        loaded.name = "改名"  # a change the next query would flush: it must not go out in autocommit
        assert not await _autocommit(await reads(fresh))
        await fresh.rollback()
    assert [u.name for u in (await session.exec(select(Unit))).all()] == ["阿拉善左旗"]  # nothing committed


async def test_a_session_bound_to_a_connection_joins_its_transaction(
    sessionmaker: SessionMaker, round_trips: StatementLog
) -> None:
    """A session on a connection in a transaction (the importer's, one savepoint per row) reads and
    stores in that transaction, never in autocommit."""
    engine = sessionmaker.kw["bind"]
    async with engine.connect() as connection:
        await connection.execute(insert(Unit).values(code="U9", name="额济纳旗", kind=UnitKind.BANNER))
        inner = AsyncSession(bind=connection, join_transaction_mode="create_savepoint")
        assert not await _autocommit(await reads(inner))
        assert [u.code for u in (await inner.exec(select(Unit))).all()] == ["U9"]  # the outer insert
        await inner.close()
        await connection.rollback()
    async with sessionmaker() as fresh:
        assert (await fresh.exec(select(Unit))).all() == []
