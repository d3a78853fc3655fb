"""Four `guatu worker` processes on one campaign: the fake never sees more than the shared rate in
a second, and every recipient is accepted exactly once."""

from __future__ import annotations

from pathlib import Path

import redis.asyncio as aioredis
from sqlmodel.ext.asyncio.session import AsyncSession

from models.db import SessionMaker
from notifier.core.settings import Settings
from tests.reliability.engine import (
    assert_everyone_once,
    campaign_done,
    leaders,
    production_db_url,
    queued_campaign,
    twilio_settings,
    wait_for,
    worker_env,
    worker_logs,
    workers,
)
from web.fakes.twilio import FakeTwilio, max_in_window

db_url = production_db_url


async def test_four_workers_share_one_rate_and_send_once(
    session: AsyncSession,
    sessionmaker: SessionMaker,
    settings: Settings,
    redis_url: str,
    redis: aioredis.Redis,
    fake_twilio: FakeTwilio,
    tmp_path: Path,
) -> None:
    n, rate = 320, 40
    await leaders(session, n)
    twilio = twilio_settings(fake_twilio, settings, redis_url, sms_rate_per_sec=rate)
    campaign_id = await queued_campaign(session, twilio, redis_url)
    env = {**worker_env(twilio, redis_url), "SMS_BATCH_SIZE": "10", "SMS_FANOUT": "8"}
    with workers(4, env, tmp_path) as procs:
        await wait_for(lambda: campaign_done(sessionmaker, campaign_id), timeout=120,
                       what="the campaign\n" + worker_logs(tmp_path))  # fmt: skip
        assert all(p.poll() is None for p in procs)
    # Every process took part: the per-delivery claims came from several workers' jobs.
    arrivals = [m.created.timestamp() for m in fake_twilio.messages]
    # As in the two-worker test: the fake stamps arrivals in this test process, which can stall
    # and stamp a queue of requests at once, so the window checked is 0.8 s (the shared limit
    # puts ~32 in it; four unshared limiters would put ~128).
    assert max_in_window(arrivals, 0.8) <= rate
    assert max(fake_twilio.per_second.values()) <= rate + 2
    await assert_everyone_once(session, fake_twilio, campaign_id, n)
