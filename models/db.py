"""The async engine and sessions (SQLite via aiosqlite by default, PostgreSQL via asyncpg)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
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
