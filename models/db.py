"""The async engine and sessions (SQLite via aiosqlite by default, PostgreSQL via asyncpg)."""

from __future__ import annotations

import asyncio
import time
import weakref
from collections import namedtuple
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Boolean, Date, DateTime, Float, Integer, Numeric, String, TypeDecorator, event
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.sql import Executable
from sqlalchemy.util.concurrency import await_only, in_greenlet
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
    """A Core statement for the bot's busiest paths, compiled once for asyncpg: run on a connection of
    the engine's driver pool (`driver_connection`), or through SQLAlchemy on any other connection
    (SQLite, a transaction). The same SQL and bound values either way, with the types' bind processors
    applied; SQLAlchemy's execution and its session's connection handling around a statement cost
    more CPU time than the statement costs asyncpg. Rows are named tuples of the statement's columns
    (`row.name`, `row[0]`): integers, text, booleans, dates and decimals as the driver returns them,
    and columns of a TypeDecorator over those (UTCDateTime) through its own result conversion;
    other types are refused when the statement is built."""

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
        converters = {key: _converter(column.type, dialect) for key, column in columns.items()}
        refused = [key for key, converter in converters.items() if converter is False]
        if refused:
            raise TypeError(f"DriverStatement cannot return these columns as SQLAlchemy would: {refused}")
        self._row = namedtuple("Row", list(columns.keys()), rename=True)  # type: ignore[misc]
        self._converters = [c if callable(c) else None for c in converters.values()]
        if not any(self._converters):
            self._converters = []

    def values(self, params: Mapping[str, Any]) -> list[Any]:
        """The positional values for `self.sql`, processed as SQLAlchemy would bind them."""
        values = []
        for name, process in self._order:
            value = params[name] if name in params else self._fixed[name]
            values.append(process(value) if process is not None else value)
        return values

    async def rows(self, connection: Any, params: Mapping[str, Any]) -> list[Any]:
        """Run on `connection`: one of the driver pool's (asyncpg) or SQLAlchemy's AsyncConnection."""
        if isinstance(connection, AsyncConnection):
            return list((await connection.execute(self.statement, params)).tuples())
        row, converters = self._row, self._converters
        records = await connection.fetch(self.sql, *self.values(params))
        if not converters:
            return [row(*record) for record in records]
        return [
            row(*(v if c is None or v is None else c(v) for v, c in zip(record, converters, strict=True)))
            for record in records
        ]

    async def first(self, connection: Any, params: Mapping[str, Any]) -> Any:
        rows = await self.rows(connection, params)
        return rows[0] if rows else None


def _converter(type_: Any, dialect: Any) -> Callable[[Any], Any] | bool:
    """How a column's value from asyncpg becomes SQLAlchemy's: True when it already is (integers, text,
    booleans, dates, decimals), a function for a TypeDecorator that converts its values (UTCDateTime),
    False when DriverStatement cannot tell."""
    if isinstance(type_, TypeDecorator):  # SQLModel's AutoString passes values through
        inner = _converter(type_.impl_instance, dialect)
        if type(type_).process_result_value is TypeDecorator.process_result_value or inner is not True:
            return inner
        return lambda value: type_.process_result_value(value, dialect)
    if isinstance(type_, Float):
        return False
    if isinstance(type_, Numeric):
        return bool(type_.asdecimal)
    return isinstance(type_, Integer | String | Boolean | Date | DateTime)


# Connections of an engine's driver pool (asyncpg's own, beside SQLAlchemy's: `driver_connection`).
DRIVER_POOL_SIZE = 10


@dataclass
class _DriverPool:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    pool: Any = None
    loggers: set[Callable[[Any], None]] = field(default_factory=set)


_driver_pools: weakref.WeakKeyDictionary[Engine, _DriverPool] = weakref.WeakKeyDictionary()


def _driver_entry(engine: AsyncEngine) -> _DriverPool:
    entry = _driver_pools.get(engine.sync_engine)
    if entry is None:
        entry = _driver_pools[engine.sync_engine] = _DriverPool()
        if not event.contains(engine.sync_engine, "engine_disposed", _close_driver_pool):
            event.listen(engine.sync_engine, "engine_disposed", _close_driver_pool)  # closed with the engine
    return entry


async def _nothing_to_reset(_connection: Any) -> None:
    """A driver connection runs single statements in autocommit: no session state to reset when it goes
    back to the pool (asyncpg's default reset costs a round trip; a transaction left open, after a
    cancellation, is still rolled back by the pool)."""


async def _opened(engine: AsyncEngine) -> _DriverPool:
    """The engine's driver pool, opened on first use."""
    import asyncpg

    entry = _driver_entry(engine)
    if entry.pool is None:
        async with entry.lock:
            if entry.pool is None:
                _, options = engine.dialect.create_connect_args(engine.url)
                entry.pool = await asyncpg.create_pool(
                    min_size=0, max_size=DRIVER_POOL_SIZE, reset=_nothing_to_reset, **options
                )
    return entry


# How long `engine.dispose()` lets the driver pool's connections finish their statements.
DRIVER_POOL_CLOSE_SECONDS = 5.0


def _close_driver_pool(sync_engine: Engine) -> None:
    """With the engine: closed gracefully within AsyncEngine.dispose() (each connection says goodbye to
    the server), else, or when a connection stays busy, its connections are closed at once."""
    entry = _driver_pools.pop(sync_engine, None)
    if entry is None or entry.pool is None:
        return
    pool = entry.pool
    if not in_greenlet():  # a synchronous dispose, outside SQLAlchemy's async bridge
        pool.terminate()
        return
    try:
        await_only(asyncio.wait_for(pool.close(), DRIVER_POOL_CLOSE_SECONDS))
    except Exception:  # a connection still in use
        pool.terminate()


def log_driver_queries(engine: AsyncEngine, callback: Callable[[Any], None]) -> Callable[[], None]:
    """Have `callback` receive asyncpg's record (query, arguments, duration) of every statement the
    engine's driver pool runs, as SQLAlchemy's cursor events show its own; returns the undo."""
    entry = _driver_entry(engine)
    entry.loggers.add(callback)
    return lambda: entry.loggers.discard(callback)


@asynccontextmanager
async def driver_connection(session: AsyncSession) -> AsyncIterator[Any]:
    """An asyncpg connection of the engine's driver pool, in autocommit, when `session` may run its next
    statements in autocommit on asyncpg (`may_autocommit`); else None (run through the session). A
    connection that failed is replaced by the pool; the session itself takes no connection."""
    bind = session.bind
    if not (may_autocommit(session) and isinstance(bind, AsyncEngine) and bind.dialect.driver == "asyncpg"):
        yield None
        return
    entry = await _opened(bind)
    loggers = entry.loggers
    async with entry.pool.acquire() as connection:
        for logger in loggers:
            connection.add_query_logger(logger)
        try:
            yield connection
        finally:
            for logger in loggers:
                connection.remove_query_logger(logger)


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
