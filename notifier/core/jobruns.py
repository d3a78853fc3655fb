"""Run a scheduled job once per period, however many workers or restarts fire it."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from models import JobRun, utcnow


async def run_once(session: AsyncSession, *, key: str) -> bool:
    """True for the first caller with `key` ("weekly-bulletin:2026-W47"); False for every later one."""
    session.add(JobRun(key=key))
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        return False
    return True


async def finish(session: AsyncSession, *, key: str, result: str) -> None:
    row = await session.get(JobRun, key)
    if row is not None:
        row.finished_at = utcnow()
        row.result = result
        session.add(row)
        await session.commit()
