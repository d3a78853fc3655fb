"""The sweeper: it re-queues campaigns with work and no live send job, and holds quiet-hours ones once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import redis.asyncio as aioredis
from arq.connections import RedisSettings, create_pool
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Campaign, CampaignKind, CampaignState, Person, Role, utcnow
from models.db import SessionMaker
from notifier.core.settings import Settings
from notifier.jobs.sms import alive_key, sweep_campaigns
from notifier.sending.campaigns import create_campaign
from notifier.sending.loop import Sender
from notifier.sending.providers.local import ConsoleProvider


async def _campaign(session: AsyncSession, settings: Settings, *, held: bool = False) -> int:
    session.add(Person(name="王盟长", phone="+8613904830001", role=Role.LEADER))
    await session.commit()
    campaign = await create_campaign(session, settings=settings, kind=CampaignKind.BROADCAST, text="通知",
                                     audience="all-leaders")  # fmt: skip
    campaign.state = CampaignState.SENDING
    campaign.not_before = utcnow() + timedelta(hours=8) if held else None
    session.add(campaign)
    await session.commit()
    return campaign.id or 0


async def _jobs(redis: aioredis.Redis) -> int:
    return int(await redis.zcard("arq:queue"))


async def _sweep(sessionmaker: SessionMaker, settings: Settings, redis_url: str) -> int:
    pool = await create_pool(RedisSettings.from_dsn(redis_url))
    ctx: dict[str, Any] = {"redis": pool, "sender": Sender(sessionmaker=sessionmaker, provider=ConsoleProvider(),
                                                           limiter=None, settings=settings)}  # fmt: skip
    try:
        return await sweep_campaigns(ctx)
    finally:
        await pool.aclose()


async def test_a_live_send_job_is_left_alone_a_dead_one_is_replaced(
    session: AsyncSession,
    sessionmaker: SessionMaker,
    settings: Settings,
    redis_url: str,
    redis: aioredis.Redis,
) -> None:
    campaign_id = await _campaign(session, settings)
    await redis.set(alive_key(campaign_id), b"1", ex=30)
    assert await _sweep(sessionmaker, settings, redis_url) == 0
    assert await _jobs(redis) == 0
    await redis.delete(alive_key(campaign_id))  # the job died (or Redis forgot everything)
    assert await _sweep(sessionmaker, settings, redis_url) == 1
    assert await _jobs(redis) == settings.sms_fanout


async def test_a_held_campaign_gets_one_deferred_set_of_jobs(
    session: AsyncSession,
    sessionmaker: SessionMaker,
    settings: Settings,
    redis_url: str,
    redis: aioredis.Redis,
) -> None:
    await _campaign(session, settings, held=True)
    for _ in range(3):
        await _sweep(sessionmaker, settings, redis_url)
    assert await _jobs(redis) == settings.sms_fanout
    scores = await redis.zrange("arq:queue", 0, -1, withscores=True)
    assert all(score > utcnow().timestamp() * 1000 for _, score in scores)  # deferred to the morning


async def test_finished_campaigns_are_not_swept(
    session: AsyncSession,
    sessionmaker: SessionMaker,
    settings: Settings,
    redis_url: str,
    redis: aioredis.Redis,
) -> None:
    campaign_id = await _campaign(session, settings)
    campaign = await session.get(Campaign, campaign_id)
    assert campaign is not None
    campaign.state = CampaignState.DONE
    session.add(campaign)
    await session.commit()
    assert await _sweep(sessionmaker, settings, redis_url) == 0
    assert await _jobs(redis) == 0
