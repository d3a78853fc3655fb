"""The mass-SMS engine end to end: campaign → arq worker → TwilioProvider → the Twilio fake → rows.

Everything here goes through twilio-python's own client against the local fake (fixture
`fake_twilio`), with real arq workers on the test Redis database: in-process for the fault
injection and the sweeper, `guatu worker` subprocesses for SIGKILL and for two workers sharing
one rate.
"""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import redis.asyncio as aioredis
from arq.connections import RedisSettings, create_pool
from sqlmodel import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Delivery, DeliveryState
from models.db import SessionMaker
from notifier.core.settings import Settings
from notifier.jobs.sms import sweep_campaigns
from notifier.sending.loop import Sender
from tests.reliability.engine import (
    assert_everyone_once,
    burst,
    campaign_done,
    leaders,
    queued_campaign,
    twilio_settings,
    wait_for,
    worker_env,
    workers,
)
from web.fakes.twilio import FakeTwilio, max_in_window


async def test_2000_recipients_through_429s_and_500s_are_each_accepted_once(
    session: AsyncSession, settings: Settings, redis_url: str, redis: aioredis.Redis, fake_twilio: FakeTwilio
) -> None:
    n = 2000
    await leaders(session, n)
    fake_twilio.throttle_rate, fake_twilio.fail_rate = 0.10, 0.10
    twilio = twilio_settings(fake_twilio, settings, redis_url, sms_max_attempts=25)
    campaign_id = await queued_campaign(session, twilio, redis_url)
    await burst(twilio, redis_url)
    await assert_everyone_once(session, fake_twilio, campaign_id, n)
    rejected = fake_twilio.stats()["rejected"]
    assert rejected["20429"] > 100 and rejected["20500"] > 100  # the faults really happened
    retried = (
        await session.exec(
            select(func.count()).where(Delivery.campaign_id == campaign_id, Delivery.attempts > 1)
        )
    ).one()
    assert retried > 200


async def test_sweeper_requeues_a_campaign_after_redis_lost_its_keys(
    session: AsyncSession,
    sessionmaker: SessionMaker,
    settings: Settings,
    redis_url: str,
    redis: aioredis.Redis,
    fake_twilio: FakeTwilio,
) -> None:
    await leaders(session, 40)
    twilio = twilio_settings(fake_twilio, settings, redis_url)
    campaign_id = await queued_campaign(session, twilio, redis_url)
    await redis.flushdb()  # the queued jobs are gone; the rows are not
    await burst(twilio, redis_url)
    assert fake_twilio.stats()["messages"] == 0  # nothing left in the queue to run
    pool = await create_pool(RedisSettings.from_dsn(redis_url))
    try:
        ctx = {"redis": pool, "sender": Sender(sessionmaker=sessionmaker, provider=None,  # type: ignore[arg-type]
                                               limiter=None, settings=twilio)}  # fmt: skip
        assert await sweep_campaigns(ctx) == 1
    finally:
        await pool.aclose()
    await burst(twilio, redis_url)
    await assert_everyone_once(session, fake_twilio, campaign_id, 40)


async def test_a_sigkilled_worker_restarted_sends_everyone_exactly_once(
    session: AsyncSession,
    sessionmaker: SessionMaker,
    settings: Settings,
    redis_url: str,
    redis: aioredis.Redis,
    fake_twilio: FakeTwilio,
    tmp_path: Path,
) -> None:
    n = 300
    await leaders(session, n)
    fake_twilio.latency_ms = 20
    twilio = twilio_settings(fake_twilio, settings, redis_url, sms_rate_per_sec=100)
    campaign_id = await queued_campaign(session, twilio, redis_url)
    env = worker_env(twilio, redis_url)

    async def some_sent() -> bool:
        return bool(fake_twilio.stats()["messages"] >= 60)

    with workers(1, env, tmp_path) as (first,):
        await wait_for(some_sent, timeout=60, what="the first sends")
        first.send_signal(signal.SIGKILL)
        first.wait()
    accepted = set(fake_twilio.stats()["by_to"])
    in_flight = (
        await session.exec(
            select(Delivery.phone).where(
                Delivery.campaign_id == campaign_id, Delivery.state == DeliveryState.SENDING
            )
        )
    ).all()
    # The kill left rows claimed but unrecorded, some of them already accepted by Twilio.
    assert in_flight and accepted & set(in_flight)
    assert fake_twilio.stats()["messages"] < n
    await asyncio.sleep(11)  # the dead job's heartbeat (lease + 5 s) runs out
    with workers(1, env, tmp_path):
        await wait_for(lambda: campaign_done(sessionmaker, campaign_id), timeout=90, what="the campaign")
    session.expire_all()
    await assert_everyone_once(session, fake_twilio, campaign_id, n)


async def test_two_worker_processes_never_exceed_the_shared_rate(
    session: AsyncSession,
    sessionmaker: SessionMaker,
    settings: Settings,
    redis_url: str,
    redis: aioredis.Redis,
    fake_twilio: FakeTwilio,
    tmp_path: Path,
) -> None:
    n, rate = 160, 40
    await leaders(session, n)
    twilio = twilio_settings(fake_twilio, settings, redis_url, sms_rate_per_sec=rate)
    campaign_id = await queued_campaign(session, twilio, redis_url)
    env = {**worker_env(twilio, redis_url), "SMS_BATCH_SIZE": "10"}  # small claims, so both take part
    with workers(2, env, tmp_path) as procs:
        await wait_for(lambda: campaign_done(sessionmaker, campaign_id), timeout=90, what="the campaign")
        assert all(p.poll() is None for p in procs)
    arrivals = [m.created.timestamp() for m in fake_twilio.messages]
    # The limiter lets at most `rate` sends go in any second of Redis's clock (its own tests prove
    # that exactly). Here the fake stamps arrivals in this busy test process, which can stall and
    # then stamp a queue of requests at once (seen: 42 in one second, 40 in 0.9 s), so the window
    # checked is 0.8 s: the shared limit puts ~31 in it, two unshared limiters ~61.
    assert max_in_window(arrivals, 0.8) <= rate
    await assert_everyone_once(session, fake_twilio, campaign_id, n)
