"""Redis loss in the middle of a campaign — FLUSHALL, and the Redis server restarted with nothing
kept — while a `guatu worker` process sends: the campaign completes, nothing lost or doubled.
The deliveries live in the database; the sweeper re-queues what Redis forgot."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from sqlmodel.ext.asyncio.session import AsyncSession

from models.db import SessionMaker
from notifier.core.redis_server import redis_executable
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
from web.fakes.twilio import FakeTwilio

N = 2000


db_url = production_db_url


class PrivateRedis:
    """A redis-server of this test's own on a free TCP port, keeping nothing on disk."""

    def __init__(self, folder: Path) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        self.folder = folder
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen([redis_executable(), "--port", str(self.port), "--bind", "127.0.0.1",
                                      "--save", "", "--appendonly", "no", "--dir", str(self.folder)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    server.stop()


async def _sent(fake: FakeTwilio, at_least: int) -> bool:
    return bool(fake.stats()["messages"] >= at_least)


async def test_redis_emptied_mid_campaign(
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
    twilio = twilio_settings(fake_twilio, settings, redis_url, sms_rate_per_sec=400)
    campaign_id = await queued_campaign(session, twilio, redis_url)
    with workers(1, worker_env(twilio, redis_url), tmp_path) as (proc,):
        await wait_for(lambda: _sent(fake_twilio, N // 4), timeout=120, what="the first sends")
        await redis.flushdb()  # queue, job results, heartbeats, the rate limiter's keys: all gone
        await wait_for(lambda: campaign_done(sessionmaker, campaign_id), timeout=180, what="the campaign")
        assert proc.poll() is None
    session.expire_all()
    await assert_everyone_once(session, fake_twilio, campaign_id, N)


async def test_redis_restarted_empty_mid_campaign(
    session: AsyncSession,
    sessionmaker: SessionMaker,
    settings: Settings,
    private_redis: PrivateRedis,
    fake_twilio: FakeTwilio,
    tmp_path: Path,
) -> None:
    await leaders(session, N)
    fake_twilio.latency_ms = 20
    twilio = twilio_settings(fake_twilio, settings, private_redis.url, sms_rate_per_sec=400)
    campaign_id = await queued_campaign(session, twilio, private_redis.url)
    with workers(1, worker_env(twilio, private_redis.url), tmp_path) as (proc,):
        await wait_for(lambda: _sent(fake_twilio, N // 4), timeout=120, what="the first sends")
        private_redis.stop()
        time.sleep(2)  # the worker meets a dead Redis for a while
        private_redis.start()  # same port, nothing kept
        await wait_for(lambda: campaign_done(sessionmaker, campaign_id), timeout=120,
                       what="the campaign\n" + worker_logs(tmp_path))  # fmt: skip
        assert proc.poll() is None, "the worker process exited when Redis went away"
    session.expire_all()
    await assert_everyone_once(session, fake_twilio, campaign_id, N)
