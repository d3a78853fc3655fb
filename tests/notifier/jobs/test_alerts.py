"""The daily alert cron: run twice on the same day (two workers, a restart), it alerts once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from arq.connections import RedisSettings, create_pool
from sqlmodel import func, select

from models import (
    AlertRecord,
    Campaign,
    CampaignKind,
    Milestone,
    Person,
    Project,
    Role,
    Stage,
    Unit,
    UnitKind,
)
from models.db import SessionMaker
from notifier.core.settings import Settings
from notifier.jobs.alerts import daily_alerts, raise_alerts_job


@pytest.fixture
async def ctx(
    redis: Any, redis_url: str, sessionmaker: SessionMaker, settings: Settings
) -> AsyncIterator[dict[str, Any]]:
    pool = await create_pool(RedisSettings.from_dsn(redis_url))
    yield {"settings": settings, "sessionmaker": sessionmaker, "redis": pool}
    await pool.aclose()


async def _overdue_milestone(sessionmaker: SessionMaker) -> None:
    async with sessionmaker() as session:
        unit = Unit(code="EJNQ", name="额济纳旗", kind=UnitKind.BANNER)
        lead = Person(name="负责人", phone="+8613904830011", role=Role.LEAD)
        session.add_all([unit, lead])
        await session.flush()
        project = Project(code="P9", name="光伏项目", unit_id=unit.id or 0, year=2026, stage=Stage.CONTINUING,
                          annual_plan=Decimal("100"), ytd_base=Decimal("100"), actual_start=date(2025, 5, 1),
                          lead_id=lead.id)  # fmt: skip
        session.add(project)
        await session.flush()
        session.add(Milestone(project_id=project.id or 0, title="并网", due_date=date(2026, 11, 1)))
        await session.commit()


async def _alert_campaigns(sessionmaker: SessionMaker) -> int:
    async with sessionmaker() as session:
        query = select(func.count()).select_from(Campaign).where(Campaign.kind == CampaignKind.ALERT)
        return int((await session.exec(query)).one())


async def test_daily_alerts_twice_sends_once(ctx: dict[str, Any], sessionmaker: SessionMaker) -> None:
    await _overdue_milestone(sessionmaker)
    first = await daily_alerts(ctx, today=date(2026, 11, 24))
    second = await daily_alerts(ctx, today=date(2026, 11, 24))
    assert first.startswith("raised 1,") and second == "already checked today"
    assert await _alert_campaigns(sessionmaker) == 1
    queued = await ctx["redis"].queued_jobs()
    assert len(queued) == ctx["settings"].sms_fanout  # the campaign's send jobs, enqueued once


async def test_alert_job_for_the_same_fact_twice_sends_once(
    ctx: dict[str, Any], sessionmaker: SessionMaker
) -> None:
    """Even past the daily claim (a manual run), the fact key stops a second alert."""
    await _overdue_milestone(sessionmaker)
    await raise_alerts_job(ctx, "2026-11-24")
    again = await raise_alerts_job(ctx, "2026-11-25")
    assert again.startswith("raised 0, already sent 1")
    assert await _alert_campaigns(sessionmaker) == 1
    async with sessionmaker() as session:
        assert len((await session.exec(select(AlertRecord))).all()) == 1
