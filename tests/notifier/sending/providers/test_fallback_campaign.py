"""A Twilio outage in the middle of a campaign: the breaker moves sending to Alibaba Cloud, tries
Twilio again after the cool-down, and every recipient is accepted exactly once across the two."""

from __future__ import annotations

import asyncio
from collections import Counter

import redis.asyncio as aioredis
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import CampaignKind, CampaignState, Delivery, DeliveryState, Person, Role, SmsTemplate
from models.db import SessionMaker
from notifier.core.settings import Settings
from notifier.sending.campaigns import create_campaign
from notifier.sending.loop import Sender, run_campaign
from notifier.sending.providers import build_provider
from notifier.sending.providers.fallback import FallbackProvider
from tests.notifier.sending.providers.conftest import aliyun_settings
from web.fakes.aliyun import FakeAliyun
from web.fakes.twilio import FakeTwilio

RECIPIENTS = 300


async def _campaign(session: AsyncSession, settings: Settings) -> int:
    session.add_all(
        Person(name=f"领导{i}", phone=f"+86139048{i:05d}", role=Role.LEADER) for i in range(RECIPIENTS)
    )
    # Alibaba Cloud sends only registered templates: the text is one, registered here and there.
    session.add(SmsTemplate(code="SMS_900002", body="重点项目周通报:开复工率{rate}。"))
    await session.commit()
    campaign = await create_campaign(session, settings=settings, kind=CampaignKind.BROADCAST,
                                     text="重点项目周通报:开复工率94.0%。", audience="all-leaders")  # fmt: skip
    campaign.state = CampaignState.QUEUED
    session.add(campaign)
    await session.commit()
    return campaign.id or 0


async def test_twilio_outage_mid_campaign_finishes_on_aliyun_exactly_once(
    session: AsyncSession,
    sessionmaker: SessionMaker,
    settings: Settings,
    redis: aioredis.Redis,
    fake_twilio: FakeTwilio,
    fake_aliyun: FakeAliyun,
) -> None:
    base = aliyun_settings(fake_aliyun)
    both = fake_twilio.settings(
        **{k: getattr(base, k) for k in ("aliyun_access_key_id", "aliyun_access_key_secret",
                                         "aliyun_endpoint", "aliyun_protocol", "sms_signature")},
        database_url=settings.database_url, sms_fallback_backend="aliyun", sms_breaker_failures=3,
        sms_breaker_cooldown_seconds=1, sms_retry_base_ms=20, sms_max_attempts=20, sms_batch_size=20,
        sms_concurrency=8, quiet_hours="",
    )  # fmt: skip
    fake_aliyun.templates["SMS_900002"] = "重点项目周通报:开复工率${rate}。"
    fake_twilio.latency_ms = 5
    fake_aliyun.latency_ms = 60  # the secondary is slower: the campaign outlasts the cool-down
    campaign_id = await _campaign(session, both)
    provider = build_provider(both, redis=redis)
    assert isinstance(provider, FallbackProvider)
    sender = Sender(sessionmaker=sessionmaker, provider=provider, limiter=None, settings=both)
    run = asyncio.create_task(run_campaign(sender, campaign_id=campaign_id, idle_wait=0.05))

    async def twilio_count() -> int:
        return int(fake_twilio.stats()["messages"])

    while await twilio_count() < 60:  # Twilio takes the first part of the campaign
        await asyncio.sleep(0.01)
    fake_twilio.fail_rate = 1.0  # then answers 500 to everything: an outage
    while len(fake_aliyun.messages) < 60:
        await asyncio.sleep(0.01)
    assert await provider.breaker.is_open() or await provider.breaker.trips() >= 1
    fake_twilio.fail_rate = 0.0  # Twilio recovers; after the cool-down it takes over again
    before_recovery = await twilio_count()
    await asyncio.wait_for(run, timeout=60)
    await provider.aclose()

    twilio_by_to = Counter(fake_twilio.stats()["by_to"])
    aliyun_by_to = Counter(fake_aliyun.stats()["by_to"])
    everyone = twilio_by_to + aliyun_by_to
    assert len(everyone) == RECIPIENTS and set(everyone.values()) == {1}, "someone got two or none"
    assert sum(aliyun_by_to.values()) >= 60 and sum(twilio_by_to.values()) >= 60

    rows = (await session.exec(select(Delivery).where(Delivery.campaign_id == campaign_id))).all()
    assert {d.state for d in rows} == {DeliveryState.SENT}
    by_provider = Counter(d.provider for d in rows)
    assert by_provider == {"twilio": sum(twilio_by_to.values()), "aliyun": sum(aliyun_by_to.values())}
    assert all((d.provider == "twilio") == (d.phone in twilio_by_to) for d in rows)
    # The outage cost retries on some deliveries, bounded by the limit.
    assert max(d.attempts for d in rows) > 1 and max(d.attempts for d in rows) <= both.sms_max_attempts
    # After the cool-down the primary was tried again and took the rest of the campaign.
    assert await twilio_count() > before_recovery
