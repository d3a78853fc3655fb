"""The whole loop on loopback: the send path through TwilioProvider to the fake, and the fake's
signed status callbacks into the running web app, ending in delivered / undelivered rows."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import uvicorn
from arq import create_pool
from arq.connections import RedisSettings
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import CampaignKind, CampaignState, Delivery, DeliveryState
from models.db import SessionMaker
from notifier.core.settings import Settings
from notifier.sending.campaigns import create_campaign, queue_campaign
from notifier.sending.loop import Sender, run_campaign
from notifier.sending.providers.twilio import TwilioProvider
from web.app import create_app
from web.fakes.twilio import FakeTwilio

REACHED, UNREACHABLE = "+8613904830001", "+8613904830002"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def web_settings(fake_twilio: FakeTwilio, db_url: str, redis_url: str, tmp_path: Path) -> Settings:
    return fake_twilio.settings(database_url=db_url, redis_url=redis_url, quiet_hours="",
                                public_base_url=f"http://127.0.0.1:{_free_port()}",
                                secret_key="test-secret-key-not-for-production",
                                sms_file_path=tmp_path / "sms.jsonl")  # fmt: skip


@pytest.fixture
async def web_server(web_settings: Settings, engine: object) -> AsyncIterator[None]:
    assert web_settings.public_base_url
    port = int(web_settings.public_base_url.rsplit(":", 1)[1])
    server = uvicorn.Server(uvicorn.Config(create_app(web_settings), host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="on"))  # fmt: skip
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    yield
    server.should_exit = True
    await task


async def test_sent_then_callbacks_reach_final_states(
    fake_twilio: FakeTwilio, web_settings: Settings, web_server: None, session: AsyncSession,
    sessionmaker: SessionMaker, redis_url: str,
) -> None:  # fmt: skip
    fake_twilio.undeliverable.add(UNREACHABLE)
    fake_twilio.callback_delay_ms = 100
    campaign = await create_campaign(session, settings=web_settings, kind=CampaignKind.BROADCAST, text="测试通知",
                                     audience=f"phones:{REACHED},{UNREACHABLE}", urgent=True)  # fmt: skip
    await session.commit()
    pool = await create_pool(RedisSettings.from_dsn(redis_url))
    provider = TwilioProvider(web_settings)
    try:
        await queue_campaign(session, pool, settings=web_settings, campaign_id=campaign.id or 0)
        sender = Sender(sessionmaker=sessionmaker, provider=provider, limiter=None, settings=web_settings)
        await run_campaign(sender, campaign_id=campaign.id or 0)
        await fake_twilio.drain_callbacks()
    finally:
        await provider.aclose()
        await pool.aclose()
    async with sessionmaker() as s:
        rows = (await s.exec(select(Delivery).where(Delivery.campaign_id == campaign.id)
                             .order_by(col(Delivery.phone)))).all()  # fmt: skip
    assert [(r.phone, r.state, r.error_code) for r in rows] == [
        (REACHED, DeliveryState.DELIVERED, None), (UNREACHABLE, DeliveryState.UNDELIVERED, 30003)]  # fmt: skip
    assert all(r.provider_sid and r.provider == "twilio" for r in rows)
    assert fake_twilio.stats()["callbacks"] == {"http_200": 4}
    assert fake_twilio.stats()["by_to"] == {REACHED: 1, UNREACHABLE: 1}


async def test_callbacks_before_the_create_answer_at_20_per_second_all_land(
    fake_twilio: FakeTwilio, web_settings: Settings, web_server: None, session: AsyncSession,
    sessionmaker: SessionMaker, redis: object,
) -> None:  # fmt: skip
    """200-row batches at 20 msg/s, every status callback delivered before Twilio's create call answers:
    each delivery ends in the state of its last callback (none stuck at `sent`)."""
    from collections import Counter

    from sqlalchemy import func

    from models import ProviderStatus
    from notifier.sending.ratelimit import RateLimiter

    phones = [f"+86139048{i:05d}" for i in range(220)]
    fake_twilio.undeliverable.update(phones[::7])
    fake_twilio.callbacks_first = True
    settings = web_settings.model_copy(update={"sms_batch_size": 200, "sms_rate_per_sec": 20.0})
    campaign = await create_campaign(session, settings=settings, kind=CampaignKind.BROADCAST, text="测试通知",
                                     audience="phones:" + ",".join(phones), urgent=True)  # fmt: skip
    campaign.state = CampaignState.QUEUED
    await session.commit()
    provider = TwilioProvider(settings)
    limiter = RateLimiter(redis, rate_per_sec=20, name="roundtrip")
    try:
        sender = Sender(sessionmaker=sessionmaker, provider=provider, limiter=limiter, settings=settings)
        await run_campaign(sender, campaign_id=campaign.id or 0)
    finally:
        await provider.aclose()
    async with sessionmaker() as s:
        rows = (await s.exec(select(Delivery).where(Delivery.campaign_id == campaign.id))).all()
        parked = (await s.exec(select(func.count()).select_from(ProviderStatus))).one()
    expected = {p: DeliveryState.UNDELIVERED if p in fake_twilio.undeliverable else DeliveryState.DELIVERED
                for p in phones}  # fmt: skip
    stuck = [
        (r.phone, r.skip_reason, r.error_message, r.provider_code, r.attempts)
        for r in rows
        if r.state == "pending"
    ]
    assert {r.phone: r.state for r in rows} == expected, stuck[:5]
    assert Counter(r.state for r in rows)[DeliveryState.SENT] == 0 and parked == 0
    assert fake_twilio.stats()["callbacks"] == {"http_200": 2 * len(phones)}
    # Paced by the shared limiter: 220 messages at 20 a second take at least ~11 s at the fake.
    assert fake_twilio.stats()["span_seconds"] >= (len(phones) - 1) / 20 * 0.95
