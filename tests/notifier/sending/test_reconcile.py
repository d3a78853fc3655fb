"""A send that times out after the provider accepted it is sent exactly once, on both providers: the
loop does not retry it blind but looks it up (Twilio's list without date_sent, Alibaba Cloud's
QuerySendDetails by OutId) and records what the provider has."""

from __future__ import annotations

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Delivery, DeliveryState, SmsTemplate
from models.db import SessionMaker
from notifier.core.settings import Settings
from notifier.sending.loop import Sender, run_campaign
from notifier.sending.providers.aliyun import AliyunProvider
from notifier.sending.providers.twilio import TwilioProvider
from tests.notifier.sending.providers.conftest import aliyun_settings
from tests.notifier.sending.test_loop import _campaign, _leaders, _settings
from web.fakes.aliyun import FakeAliyun
from web.fakes.twilio import FakeTwilio

PEOPLE = 4


async def _run(sessionmaker: SessionMaker, provider: object, settings: Settings, campaign_id: int) -> None:
    sender = Sender(sessionmaker=sessionmaker, provider=provider, limiter=None,  # type: ignore[arg-type]
                    settings=_settings(settings, sms_reconcile_after_seconds=1))  # fmt: skip
    await run_campaign(sender, campaign_id=campaign_id, idle_wait=0.1)


async def test_twilio_timeout_after_accepting_is_sent_once(
    session: AsyncSession, sessionmaker: SessionMaker, settings: Settings, fake_twilio: FakeTwilio
) -> None:
    await _leaders(session, PEOPLE)
    campaign_id = await _campaign(session, settings)
    fake_twilio.send_callbacks = False  # nothing is ever sent: date_sent stays null at the fake
    fake_twilio.hang_after_accept_ms = 1500
    twilio = fake_twilio.settings(database_url=settings.database_url)
    provider = TwilioProvider(twilio, timeout_seconds=0.3)
    try:
        await _run(sessionmaker, provider, twilio, campaign_id)
    finally:
        await provider.aclose()
    assert fake_twilio.stats()["by_to"] == {f"+86139048{i:05d}": 1 for i in range(PEOPLE)}
    rows = (await session.exec(select(Delivery).where(Delivery.campaign_id == campaign_id))).all()
    assert {r.state for r in rows} == {DeliveryState.SENT}
    assert {r.provider_sid for r in rows} == {m.sid for m in fake_twilio.messages}
    assert all(r.error_message == "reconciled: found at provider" for r in rows)


async def test_aliyun_timeout_after_accepting_is_sent_once(
    session: AsyncSession, sessionmaker: SessionMaker, settings: Settings, fake_aliyun: FakeAliyun
) -> None:
    session.add(SmsTemplate(code="SMS_900003", body="周通报:{summary}"))
    await session.commit()
    fake_aliyun.templates["SMS_900003"] = "周通报:${summary}"
    aliyun = aliyun_settings(
        fake_aliyun, sms_backend="aliyun", database_url=settings.database_url, quiet_hours=""
    )
    await _leaders(session, PEOPLE)
    campaign_id = await _campaign(session, aliyun, text="周通报:开复工率94.0%")
    fake_aliyun.hang_after_accept_ms = 1500
    provider = AliyunProvider(aliyun, timeout_ms=300)
    await _run(sessionmaker, provider, aliyun, campaign_id)
    assert fake_aliyun.stats()["by_to"] == {f"+86139048{i:05d}": 1 for i in range(PEOPLE)}
    rows = (await session.exec(select(Delivery).where(Delivery.campaign_id == campaign_id))).all()
    assert {r.state for r in rows} == {DeliveryState.DELIVERED}  # QuerySendDetails already had the receipt
    assert sorted(r.provider_sid or "" for r in rows) == sorted(f"aliyun:guatu-{r.id}" for r in rows)
    assert sorted(m.out_id or "" for m in fake_aliyun.messages) == sorted(f"guatu-{r.id}" for r in rows)
