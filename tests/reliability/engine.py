"""Shared pieces of the mass-SMS engine suites: leaders, campaigns through the Twilio fake,
in-process burst workers and `guatu worker` subprocesses, and the exactly-once check."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from arq.connections import RedisSettings, create_pool
from arq.worker import Worker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

import worker as worker_module
from models import Campaign, CampaignKind, CampaignState, Delivery, Person, Role
from models.db import SessionMaker
from notifier.core.settings import Settings
from notifier.sending.campaigns import campaign_status, create_campaign, queue_campaign
from web.fakes.twilio import FakeTwilio

GUATU = Path(sys.executable).with_name("guatu")
PG_URL = os.environ.get("TEST_DATABASE_URL")


@pytest.fixture(params=["postgresql" if PG_URL else "sqlite"])
def production_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """For the heavy multi-process suites: PostgreSQL, the production database, when configured (else
    SQLite) — not both. A module uses it with `db_url = production_db_url`."""
    return (
        PG_URL if request.param == "postgresql" and PG_URL else f"sqlite+aiosqlite:///{tmp_path / 'guatu.db'}"
    )


def phone(i: int) -> str:
    return f"+86139050{i:05d}"


async def leaders(session: AsyncSession, n: int) -> None:
    session.add_all(Person(name=f"领导{i}", phone=phone(i), role=Role.LEADER) for i in range(n))
    await session.commit()


def twilio_settings(fake: FakeTwilio, settings: Settings, redis_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": settings.database_url,
        "redis_url": redis_url,
        "quiet_hours": "",
        "sms_rate_per_sec": 10_000,
        "sms_retry_base_ms": 1,
        "secret_key": "test-secret-key-not-for-production",
    }
    values.update(overrides)
    return fake.settings(**values)


async def queued_campaign(session: AsyncSession, settings: Settings, redis_url: str) -> int:
    campaign = await create_campaign(session, settings=settings, kind=CampaignKind.BROADCAST,
                                     text="{name}:本周进展请于周五前报送。", audience="all-leaders")  # fmt: skip
    await session.commit()
    pool = await create_pool(RedisSettings.from_dsn(redis_url))
    try:
        await queue_campaign(session, pool, settings=settings, campaign_id=campaign.id or 0)
    finally:
        await pool.aclose()
    return campaign.id or 0


async def burst(settings: Settings, redis_url: str) -> None:
    options = worker_module.worker_settings(settings, redis_url)
    options["cron_jobs"] = []
    burst = Worker(**options, burst=True, poll_delay=0.05, handle_signals=False)
    try:
        await burst.main()
    finally:
        await burst.close()


async def assert_everyone_once(session: AsyncSession, fake: FakeTwilio, campaign_id: int, n: int) -> None:
    stats = fake.stats()
    assert stats["messages"] == n
    assert stats["by_to"] == {phone(i): 1 for i in range(n)}
    status = await campaign_status(session, campaign_id=campaign_id)
    assert status.state == "done" and status.counts["sent"] == n
    sids = set(
        (await session.exec(select(Delivery.provider_sid).where(Delivery.campaign_id == campaign_id))).all()
    )
    assert sids == {m.sid for m in fake.messages}  # every row carries the SID Twilio gave it


def worker_env(twilio: Settings, redis_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SMS_", "TWILIO_", "QUIET_"))}
    env.update({
        "DATABASE_URL": twilio.database_url, "REDIS_URL": redis_url, "SMS_BACKEND": "twilio",
        "TWILIO_ACCOUNT_SID": twilio.twilio_account_sid or "", "TWILIO_FROM": twilio.twilio_from or "",
        "TWILIO_AUTH_TOKEN": twilio.twilio_auth_token.get_secret_value() if twilio.twilio_auth_token else "",
        "TWILIO_BASE_URL": twilio.twilio_base_url or "", "QUIET_HOURS": "", "SMS_LEASE_SECONDS": "5",
        "SMS_RATE_PER_SEC": str(twilio.sms_rate_per_sec), "SMS_RETRY_BASE_MS": "1",
        "SECRET_KEY": "test-secret-key-not-for-production",
    })  # fmt: skip
    return env


@contextmanager
def workers(count: int, env: dict[str, str], cwd: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    """`guatu worker` processes; their output goes to worker-<n>.log files in `cwd`."""
    procs = []
    for _ in range(count):
        log = (cwd / f"worker-{len(list(cwd.glob('worker-*.log')))}.log").open("wb")
        procs.append(
            subprocess.Popen([str(GUATU), "worker"], env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT)
        )
        log.close()
    try:
        yield procs
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def worker_logs(cwd: Path) -> str:
    """The tail of every worker's output, for a failure message."""
    return "\n".join(
        f"--- {p.name}\n" + p.read_text(errors="replace")[-3000:] for p in sorted(cwd.glob("worker-*.log"))
    )


async def wait_for(check: Any, *, timeout: float, what: str) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.1)


async def campaign_done(sessionmaker: SessionMaker, campaign_id: int) -> bool:
    async with sessionmaker() as s:
        state = (await s.exec(select(Campaign.state).where(Campaign.id == campaign_id))).one()
    return state == CampaignState.DONE
