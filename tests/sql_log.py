"""A log of every statement an engine sends its database, whole and in order: SQLAlchemy's own
(its cursor events, recorded once each statement ran) and, on PostgreSQL, what asyncpg runs
itself: the driver pool's statements (DriverStatement, `log_driver_queries`) and the BEGIN,
COMMIT and ROLLBACK SQLAlchemy sends around a transaction, from asyncpg's query log. That log
reaches the list once the event loop runs: read it with `await log.since(mark)` and take marks
with `await log.mark()`."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from models.db import log_driver_queries


class StatementLog:
    def __init__(self) -> None:
        self.seen: list[str] = []

    async def mark(self) -> int:
        """Where the statements sent so far end."""
        await asyncio.sleep(0)
        return len(self.seen)

    async def since(self, mark: int = 0) -> list[str]:
        """The statements sent since `mark`."""
        return self.seen[mark : await self.mark()]


@contextmanager
def statement_log(async_engine: AsyncEngine) -> Iterator[StatementLog]:
    engine = async_engine.sync_engine
    log = StatementLog()
    drivers: set[Any] = set()

    def logged(record: Any) -> None:
        log.seen.append(record.query)

    def checkout(dbapi_connection: Any, *_: Any) -> None:
        driver = getattr(dbapi_connection, "driver_connection", None)
        if driver is not None and hasattr(driver, "add_query_logger") and driver not in drivers:
            drivers.add(driver)
            driver.add_query_logger(logged)

    def statement(_conn: Any, _cursor: Any, sql: str, *_: Any) -> None:
        log.seen.append(sql)

    undo = log_driver_queries(async_engine, logged)  # the driver pool's (DriverStatement)
    event.listen(engine, "checkout", checkout)
    # After the statement: the BEGIN the driver sends before it is in the list by then.
    event.listen(engine, "after_cursor_execute", statement)
    try:
        yield log
    finally:
        undo()
        event.remove(engine, "after_cursor_execute", statement)
        event.remove(engine, "checkout", checkout)
        for driver in drivers:
            driver.remove_query_logger(logged)
