"""Quiet hours: a table of local times, and a campaign queued at night waits for the morning."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import redis.asyncio as aioredis
from arq.connections import RedisSettings, create_pool
from arq.jobs import Job, JobStatus
from sqlmodel.ext.asyncio.session import AsyncSession

from models import CampaignKind, Person, Role
from notifier.core.errors import SettingsError
from notifier.core.settings import Settings, load_settings
from notifier.sending.campaigns import create_campaign, queue_campaign
from notifier.sending.quiet import quiet_until

TZ = ZoneInfo("Asia/Shanghai")


def _at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=TZ)


@pytest.mark.parametrize(
    ("window", "now", "until"),
    [
        ("22:00-08:00", _at(24, 21, 59), None),
        ("22:00-08:00", _at(24, 22, 0), _at(25, 8)),
        ("22:00-08:00", _at(24, 23, 30), _at(25, 8)),
        ("22:00-08:00", _at(25, 3, 0), _at(25, 8)),
        ("22:00-08:00", _at(25, 7, 59), _at(25, 8)),
        ("22:00-08:00", _at(25, 8, 0), None),
        ("12:00-13:30", _at(24, 12, 45), _at(24, 13, 30)),
        ("12:00-13:30", _at(24, 13, 30), None),
        ("", _at(24, 23, 0), None),
    ],
)
def test_quiet_until(window: str, now: datetime, until: datetime | None) -> None:
    settings = load_settings(quiet_hours=window, timezone="Asia/Shanghai", _env_file=None)
    assert quiet_until(now, settings) == until
    # The same instant seen in UTC gives the same answer.
    assert quiet_until(now.astimezone(ZoneInfo("UTC")), settings) == until


@pytest.mark.parametrize("window", ["22:00", "25:00-08:00", "night"])
def test_bad_quiet_hours_are_refused(window: str) -> None:
    with pytest.raises(SettingsError, match="QUIET_HOURS"):
        load_settings(quiet_hours=window, _env_file=None)


@pytest.mark.parametrize("urgent", [False, True])
async def test_a_campaign_queued_in_quiet_hours_waits_unless_urgent(
    session: AsyncSession, settings: Settings, redis_url: str, redis: aioredis.Redis, urgent: bool
) -> None:
    # A quiet window around the present moment: from an hour ago to an hour from now.
    now = datetime.now(TZ)
    window = f"{now - timedelta(hours=1):%H:%M}-{now + timedelta(hours=1):%H:%M}"
    quiet = settings.model_copy(update={"quiet_hours": window, "timezone": "Asia/Shanghai"})
    session.add(Person(name="王盟长", phone="+8613904830001", role=Role.LEADER))
    await session.commit()
    campaign = await create_campaign(session, settings=quiet, kind=CampaignKind.BROADCAST, text="通知",
                                     audience="all-leaders", urgent=urgent)  # fmt: skip
    await session.commit()
    pool = await create_pool(RedisSettings.from_dsn(redis_url))
    try:
        queued = await queue_campaign(session, pool, settings=quiet, campaign_id=campaign.id or 0)
        job = Job(f"campaign:{campaign.id}:q:0", pool)
        if urgent:
            assert queued.not_before is None
            assert await job.status() == JobStatus.queued
        else:
            assert queued.not_before is not None and queued.not_before > now
            assert await job.status() == JobStatus.deferred
            info = await job.info()
            assert info is not None and info.score is not None
            assert info.score >= int(queued.not_before.timestamp() * 1000) - 1
    finally:
        await pool.aclose()
