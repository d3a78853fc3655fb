"""The async engine and sessions (SQLite via aiosqlite by default, PostgreSQL via asyncpg)."""

from __future__ import annotations

import time
from collections import namedtuple
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Any

from sqlalchemy import Boolean, Date, Float, Integer, Numeric, String, TypeDecorator, event
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.sql import Executable
from sqlmodel.ext.asyncio.session import AsyncSession

SessionMaker = async_sessionmaker[AsyncSession]

# Execution options for statements that need no transaction around them (PostgreSQL): a read of what
# is committed, or a write that is one statement. Each saves the BEGIN and COMMIT round trips.
AUTOCOMMIT: dict[str, Any] = {"isolation_level": "AUTOCOMMIT"}


def may_autocommit(session: AsyncSession) -> bool:
    """Whether the session's next statements may run in AUTOCOMMIT: on PostgreSQL, in a session bound to
    the engine (one bound to a connection joins that connection's transaction) that holds no
    transaction of its own."""
    bind = session.bind
    return (
        isinstance(bind, AsyncEngine) and bind.dialect.name == "postgresql" and not session.in_transaction()
    )


class DriverStatement:
    """A Core statement for the busiest paths: compiled once for asyncpg and, on a pooled connection in
    autocommit, run on the asyncpg connection beneath it; elsewhere (SQLite, a transaction) it is an
    ordinary `connection.execute`. The same SQL and bound values either way, with the types' bind
    processors applied; SQLAlchemy's execution around a statement costs more CPU time than asyncpg's
    own. Rows are named tuples of the statement's columns (`row.name`, `row[0]`), as the driver
    returns them: only columns of types that need no result processing are allowed (integers, text,
    booleans, dates, decimals), checked when the statement is built. A connection that
    fails beneath SQLAlchemy is invalidated, as SQLAlchemy does, so that the pool does not hand it out
    again; a statement refused by the server (a constraint, say) leaves the connection as it was."""

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        dialect = asyncpg_dialect()
        compiled = statement.compile(dialect=dialect)  # type: ignore[attr-defined]
        self.sql: str = compiled.string
        binds = compiled.binds
        order: list[tuple[str, Callable[[Any], Any] | None]] = []
        for name in compiled.positiontup or ():
            order.append((name, binds[name].type.dialect_impl(dialect).bind_processor(dialect)))
        self._order = order
        # Values the statement itself carries (`.values(is_current=False)`, literals in expressions).
        self._fixed = {name: bind.effective_value for name, bind in binds.items() if not bind.required}
        columns = statement.exported_columns  # type: ignore[attr-defined]
        unplain = [key for key, column in columns.items() if not _plain(column.type)]
        if unplain:
            raise TypeError(f"DriverStatement returns columns as asyncpg gives them; not these: {unplain}")
        self._row = namedtuple("Row", list(columns.keys()), rename=True)  # type: ignore[misc]

    def values(self, params: Mapping[str, Any]) -> list[Any]:
        """The positional values for `self.sql`, processed as SQLAlchemy would bind them."""
        values = []
        for name, process in self._order:
            value = params[name] if name in params else self._fixed[name]
            values.append(process(value) if process is not None else value)
        return values

    async def rows(self, connection: AsyncConnection, params: Mapping[str, Any]) -> list[Any]:
        driver = await _asyncpg_in_autocommit(connection)
        if driver is None:
            return list((await connection.execute(self.statement, params)).tuples())
        values = self.values(params)
        try:
            records = await driver.fetch(self.sql, *values)
        except BaseException as exc:
            if not _server_refused(exc):
                with suppress(Exception):
                    await connection.invalidate(exc if isinstance(exc, Exception) else None)
            raise
        row = self._row
        return [row(*record) for record in records]

    async def first(self, connection: AsyncConnection, params: Mapping[str, Any]) -> Any:
        rows = await self.rows(connection, params)
        return rows[0] if rows else None


def _plain(type_: Any) -> bool:
    """A column type whose values asyncpg returns as SQLAlchemy would (no result processor)."""
    if isinstance(type_, TypeDecorator):  # SQLModel's AutoString, say; UTCDateTime converts its values
        converts = type(type_).process_result_value is not TypeDecorator.process_result_value
        return not converts and _plain(type_.impl_instance)
    if isinstance(type_, Float):
        return False
    if isinstance(type_, Numeric):
        return bool(type_.asdecimal)
    return isinstance(type_, Integer | String | Boolean | Date)


async def _asyncpg_in_autocommit(connection: AsyncConnection) -> Any:
    """The asyncpg connection beneath `connection` when it is one in autocommit, else None (a connection
    in a transaction must have its statements go through SQLAlchemy, which begins the transaction)."""
    if connection.dialect.driver != "asyncpg":
        return None
    raw = await connection.get_raw_connection()
    return raw.driver_connection if getattr(raw.dbapi_connection, "autocommit", False) else None


def _server_refused(exc: BaseException) -> bool:
    """Whether PostgreSQL answered the statement with an error (the connection is still good): not a
    lost connection (class 08) or a server going away (57P)."""
    import asyncpg

    if not isinstance(exc, asyncpg.PostgresError):
        return False
    state = getattr(exc, "sqlstate", "") or ""
    return not (state.startswith("08") or state.startswith("57P"))


# A pooled connection idle for longer than this is pinged before use (a database restart leaves idle
# connections dead, and the ping swaps a dead one for a fresh one); a connection in steady use is not,
# which saves one round trip per checkout under load. A connection that dies while in use fails its
# statement, and SQLAlchemy then renews the whole pool.
PING_IDLE_AFTER = 1.0


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def create_engine(database_url: str, **kwargs: Any) -> AsyncEngine:
    """Create the async engine; SQLite gets WAL, foreign keys and a busy timeout."""
    url = make_url(database_url)
    if url.drivername.startswith("sqlite"):
        kwargs.pop("max_overflow", None)  # one file and one writer: the pool's defaults suit it
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": 30}, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    engine = create_async_engine(url, **kwargs)
    if not kwargs.get("pool_pre_ping"):
        _ping_when_idle(engine)
    return engine


def _ping_when_idle(engine: AsyncEngine) -> None:
    """Pool events: note when a connection goes back to the pool; ping it on checkout when it sat idle."""
    dialect = engine.dialect

    def checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    def checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("idle_since")
        if since is None or time.monotonic() - since < PING_IDLE_AFTER:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except Exception as exc:  # the pool replaces this connection and tries again
            raise DisconnectionError(f"idle connection failed its ping: {exc}") from exc

    event.listen(engine.sync_engine, "checkin", checkin)
    event.listen(engine.sync_engine, "checkout", checkout)


def create_sessionmaker(engine: AsyncEngine) -> SessionMaker:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


@asynccontextmanager
async def session_scope(sessionmaker: SessionMaker) -> AsyncIterator[AsyncSession]:
    """A session that commits on success and rolls back on error."""
    async with sessionmaker() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise
