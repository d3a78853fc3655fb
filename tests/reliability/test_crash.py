"""Crash: a 5,000-recipient campaign through the Twilio fake survives three SIGKILLs of its worker
process at random moments, and a database connection cut mid-batch; the fake's /__stats then
shows every recipient accepted exactly once.

These run on PostgreSQL, the production database, when TEST_DATABASE_URL is set (on SQLite
otherwise); the connection cut needs PostgreSQL's pg_terminate_backend.
"""

from __future__ import annotations

import random
import signal
from pathlib import Path

import httpx
import pytest
import redis.asyncio as aioredis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Delivery
from models.db import SessionMaker
from notifier.core.settings import Settings
from tests.reliability.engine import (
    PG_URL,
    assert_everyone_once,
    campaign_done,
    leaders,
    production_db_url,
    queued_campaign,
    twilio_settings,
    wait_for,
    worker_env,
    workers,
)
from web.fakes.twilio import FakeTwilio

N = 5000


db_url = production_db_url


async def _stats(fake: FakeTwilio) -> dict[str, object]:
    # Over HTTP, as an operator would ask the fake.
    async with httpx.AsyncClient() as client:
        response = await client.get(f"{fake.base_url}/__stats")
        return dict(response.json())


async def test_three_sigkills_at_random_moments_lose_and_double_nothing(
    session: AsyncSession,
    sessionmaker: SessionMaker,
    settings: Settings,
    redis_url: str,
    redis: aioredis.Redis,
    fake_twilio: FakeTwilio,
    tmp_path: Path,
) -> None:
    await leaders(session, N)
    fake_twilio.latency_ms = 20
    twilio = twilio_settings(fake_twilio, settings, redis_url, sms_rate_per_sec=1000)
    campaign_id = await queued_campaign(session, twilio, redis_url)
    env = worker_env(twilio, redis_url)
    rng = random.Random()
    seed = rng.randrange(10**6)
    kills = sorted(random.Random(seed).sample(range(N // 10, N * 8 // 10), 3))
    for kill_at in kills:
        with workers(1, env, tmp_path) as (proc,):

            async def reached(target: int = kill_at) -> bool:
                return bool(fake_twilio.stats()["messages"] >= target)

            await wait_for(reached, timeout=180, what=f"{kill_at} sends (seed {seed})")
            proc.send_signal(signal.SIGKILL)
            proc.wait()
    assert fake_twilio.stats()["messages"] < N, "the campaign finished before the last kill"
    with workers(1, env, tmp_path):
        await wait_for(
            lambda: campaign_done(sessionmaker, campaign_id), timeout=240, what=f"the campaign (seed {seed})"
        )
    session.expire_all()
    stats = await _stats(fake_twilio)
    assert stats["messages"] == N and set(dict(stats["by_to"]).values()) == {1}, f"seed {seed}"  # type: ignore[call-overload]
    await assert_everyone_once(session, fake_twilio, campaign_id, N)


@pytest.mark.skipif(not PG_URL, reason="cutting a live connection needs PostgreSQL's pg_terminate_backend")
async def test_database_connections_cut_mid_batch(
    session: AsyncSession,
    sessionmaker: SessionMaker,
    engine: AsyncEngine,
    settings: Settings,
    redis_url: str,
    redis: aioredis.Redis,
    fake_twilio: FakeTwilio,
    tmp_path: Path,
) -> None:
    await leaders(session, N)
    fake_twilio.latency_ms = 20
    twilio = twilio_settings(fake_twilio, settings, redis_url, sms_rate_per_sec=1000)
    campaign_id = await queued_campaign(session, twilio, redis_url)
    await session.close()
    with workers(1, worker_env(twilio, redis_url), tmp_path) as (proc,):
        for target in (N // 5, N // 2):

            async def reached(at: int = target) -> bool:
                return bool(fake_twilio.stats()["messages"] >= at)

            await wait_for(reached, timeout=180, what=f"{target} sends")
            async with engine.connect() as conn:  # every other connection to the database: the worker's
                cut: int = (await conn.execute(text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"))).scalar_one()  # fmt: skip
            assert cut >= 1
            await engine.dispose()
        await wait_for(lambda: campaign_done(sessionmaker, campaign_id), timeout=240, what="the campaign")
        assert proc.poll() is None, "the worker process died with its database connections"
    async with sessionmaker() as s:
        await assert_everyone_once(s, fake_twilio, campaign_id, N)
        stuck = (await s.exec(select(func.count()).where(Delivery.state == "sending"))).one()
        assert stuck == 0
