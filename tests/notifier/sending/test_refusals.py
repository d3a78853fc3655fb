"""What the send loop does with each kind of provider refusal, end to end on the database: a wrong
Twilio token pauses the campaign and resume sends only what was unsent; a daily quota holds until
tomorrow; a refused text stops for everyone without opting anyone out; an unknown code is held and
kept verbatim; a full queue (21611) is retried; and every code of Twilio's table is classified."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import func, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Campaign, CampaignState, Delivery, DeliveryState, OptOut, utcnow
from models.db import SessionMaker
from notifier.core.settings import Settings
from notifier.sending.campaigns import campaign_status, resume_campaign
from notifier.sending.codes import TWILIO, Action
from notifier.sending.loop import Sender, run_campaign
from notifier.sending.providers.base import ProviderError, SendResult, SentMessage
from notifier.sending.providers.twilio import TwilioProvider
from tests.notifier.sending.test_loop import _campaign, _leaders, _settings
from web.fakes.twilio import FakeTwilio

# Twilio's error dictionary (https://www.twilio.com/docs/api/errors), written here independently of
# notifier.sending.codes: the module's table must say the same, code for code.
DOCUMENTED_TWILIO = {
    20003: Action.ACCOUNT, 20005: Action.ACCOUNT, 20008: Action.ACCOUNT, 20404: Action.ACCOUNT,
    20429: Action.RETRY, 20500: Action.RETRY, 20503: Action.RETRY, 21211: Action.PERMANENT,
    21212: Action.ACCOUNT, 21408: Action.PERMANENT, 21601: Action.ACCOUNT, 21602: Action.CONTENT,
    21603: Action.ACCOUNT, 21604: Action.PERMANENT, 21606: Action.ACCOUNT, 21608: Action.PERMANENT,
    21609: Action.ACCOUNT, 21610: Action.PERMANENT, 21611: Action.RETRY, 21612: Action.PERMANENT,
    21614: Action.PERMANENT, 21617: Action.CONTENT, 21701: Action.ACCOUNT, 21703: Action.ACCOUNT,
    21704: Action.ACCOUNT, 30001: Action.RETRY, 30002: Action.ACCOUNT, 30003: Action.PERMANENT,
    30004: Action.PERMANENT, 30005: Action.PERMANENT, 30006: Action.PERMANENT, 30007: Action.CONTENT,
    30008: Action.RETRY, 30009: Action.RETRY, 30010: Action.ACCOUNT, 30022: Action.RETRY,
    30023: Action.HOLD_DAY, 30034: Action.ACCOUNT,
}  # fmt: skip
TO = "+8613904830001"


class Refusing:
    """A provider that refuses chosen numbers with a given error (each call counted)."""

    name = "aliyun"

    def __init__(self, refusals: dict[str, ProviderError]) -> None:
        self.refusals = refusals
        self.calls: Counter[str] = Counter()
        self.accepted: list[str] = []

    async def send(self, *, to: str, body: str, **_: object) -> SendResult:
        self.calls[to] += 1
        if to in self.refusals:
            raise self.refusals[to]
        self.accepted.append(to)
        return SendResult(sid=f"SM{len(self.accepted):032d}")

    async def find_sent(self, *, to: str, since: datetime) -> list[SentMessage]:
        return []

    async def aclose(self) -> None:
        return None


class NoQueue:
    async def enqueue_job(self, *args: Any, **kwargs: Any) -> None:
        return None


def test_the_twilio_table_is_the_documented_one() -> None:
    assert TWILIO == DOCUMENTED_TWILIO


@pytest.mark.parametrize("code", sorted(DOCUMENTED_TWILIO))
async def test_each_twilio_code_is_classified_through_the_real_client(
    fake_twilio: FakeTwilio, code: int
) -> None:
    fake_twilio.permanent[TO] = code  # the fake answers this code for this number
    provider = TwilioProvider(fake_twilio.settings())
    try:
        with pytest.raises(ProviderError) as info:
            await provider.send(to=TO, body="x")
    finally:
        await provider.aclose()
    assert (info.value.action, info.value.provider_code) == (DOCUMENTED_TWILIO[code], str(code))
    assert info.value.opt_out == (code == 21610)


async def _rows(session: AsyncSession, campaign_id: int) -> dict[str, Delivery]:
    session.expire_all()
    return {
        d.phone: d for d in (await session.exec(select(Delivery).where(Delivery.campaign_id == campaign_id)))
    }


async def test_a_wrong_token_pauses_with_the_reason_and_resume_sends_only_the_unsent(
    session: AsyncSession, sessionmaker: SessionMaker, settings: Settings, fake_twilio: FakeTwilio
) -> None:
    await _leaders(session, 5)
    campaign_id = await _campaign(session, settings)
    # Two went out before the token was rotated.
    await session.execute(update(Delivery).where(col(Delivery.phone).in_(["+8613904800000", "+8613904800001"]))
                          .values(state=DeliveryState.SENT, provider_sid="SMEARLIER", attempts=1))  # fmt: skip
    await session.commit()
    wrong = fake_twilio.settings(twilio_auth_token="an-old-token", database_url=settings.database_url)
    provider = TwilioProvider(wrong)
    try:
        await run_campaign(Sender(sessionmaker=sessionmaker, provider=provider, limiter=None,
                                  settings=_settings(wrong)), campaign_id=campaign_id)  # fmt: skip
    finally:
        await provider.aclose()
    status = await campaign_status(session, campaign_id=campaign_id)
    assert status.state == "paused" and status.pause_reason and "20003" in status.pause_reason
    assert status.counts["pending"] == 3 and status.counts["failed"] == 0
    assert {d.attempts for d in (await _rows(session, campaign_id)).values() if d.state == "pending"} == {0}
    assert fake_twilio.messages == []

    await resume_campaign(session, NoQueue(), settings=settings, campaign_id=campaign_id)
    right = fake_twilio.settings(database_url=settings.database_url)
    provider = TwilioProvider(right)
    try:
        await run_campaign(Sender(sessionmaker=sessionmaker, provider=provider, limiter=None,
                                  settings=_settings(right)), campaign_id=campaign_id)  # fmt: skip
    finally:
        await provider.aclose()
    status = await campaign_status(session, campaign_id=campaign_id)
    assert status.state == "done" and status.pause_reason is None and status.counts["sent"] == 5
    assert fake_twilio.stats()["by_to"] == {f"+86139048{i:05d}": 1 for i in (2, 3, 4)}


async def test_a_daily_quota_holds_until_tomorrow_without_spending_an_attempt(
    session: AsyncSession, sessionmaker: SessionMaker, settings: Settings
) -> None:
    await _leaders(session, 2)
    campaign_id = await _campaign(session, settings)
    provider = Refusing({"+8613904800001": ProviderError("quota", action=Action.HOLD_DAY,
                                                         provider_code="isv.DAY_LIMIT_CONTROL")})  # fmt: skip
    sender = Sender(sessionmaker=sessionmaker, provider=provider, limiter=None, settings=_settings(settings))
    await run_campaign(sender, campaign_id=campaign_id)
    held = (await _rows(session, campaign_id))["+8613904800001"]
    assert (held.state, held.attempts, held.skip_reason, held.provider_code) == (
        DeliveryState.PENDING, 0, "provider_daily_limit", "isv.DAY_LIMIT_CONTROL")  # fmt: skip
    assert held.next_attempt_at is not None
    local = held.next_attempt_at.astimezone(settings.tz)
    assert local.date() > utcnow().astimezone(settings.tz).date()
    assert provider.calls["+8613904800001"] == 1


@pytest.mark.parametrize("code", ["isv.BLACK_KEY_CONTROL_LIMIT", "isv.SMS_CONTENT_ILLEGAL", "isv.DAY_LIMIT_CONTROL",
                                  "isv.PARAM_LENGTH_LIMIT"])  # fmt: skip
async def test_no_content_or_quota_code_opts_anyone_out(
    session: AsyncSession, sessionmaker: SessionMaker, settings: Settings, code: str
) -> None:
    from notifier.sending.codes import aliyun_action

    await _leaders(session, 3)
    campaign_id = await _campaign(session, settings)
    error = ProviderError(code, action=aliyun_action(code), provider_code=code)
    provider = Refusing({f"+86139048{i:05d}": error for i in range(3)})
    await run_campaign(Sender(sessionmaker=sessionmaker, provider=provider, limiter=None,
                              settings=_settings(settings, sms_batch_size=1)), campaign_id=campaign_id)  # fmt: skip
    assert (await session.exec(select(func.count()).select_from(OptOut))).one() == 0


async def test_a_refused_text_is_stopped_for_everyone_and_the_admin_told(
    session: AsyncSession, sessionmaker: SessionMaker, settings: Settings
) -> None:
    await _leaders(session, 4)
    campaign_id = await _campaign(session, settings)
    blocked = ProviderError("黑名单管控", action=Action.CONTENT, provider_code="isv.BLACK_KEY_CONTROL_LIMIT")
    provider = Refusing({f"+86139048{i:05d}": blocked for i in range(4)})
    # One send at a time, so that nothing is already in flight when the first refusal comes back.
    one_at_a_time = _settings(settings, sms_batch_size=1, sms_fanout=1, sms_concurrency=1)
    await run_campaign(Sender(sessionmaker=sessionmaker, provider=provider, limiter=None,
                              settings=one_at_a_time), campaign_id=campaign_id)  # fmt: skip
    assert sum(provider.calls.values()) == 1  # the first refusal stopped the text for the other three
    rows = await _rows(session, campaign_id)
    assert Counter(d.state for d in rows.values()) == {DeliveryState.FAILED: 1, DeliveryState.SKIPPED: 3}
    assert {d.provider_code for d in rows.values()} == {"isv.BLACK_KEY_CONTROL_LIMIT"}
    campaign = await session.get(Campaign, campaign_id)
    assert campaign is not None and campaign.notice and "isv.BLACK_KEY_CONTROL_LIMIT" in campaign.notice
    assert (await session.exec(select(func.count()).select_from(OptOut))).one() == 0


async def test_an_unknown_code_is_kept_verbatim_held_and_the_admin_told(
    session: AsyncSession, sessionmaker: SessionMaker, settings: Settings
) -> None:
    await _leaders(session, 2)
    campaign_id = await _campaign(session, settings)
    odd = ProviderError("新错误", action=Action.UNKNOWN, provider_code="isv.SOMETHING_NEW")
    provider = Refusing({"+8613904800001": odd})
    sender = Sender(sessionmaker=sessionmaker, provider=provider, limiter=None, settings=_settings(settings))
    await run_campaign(sender, campaign_id=campaign_id)  # hands back: the hold is beyond its wait
    row = (await _rows(session, campaign_id))["+8613904800001"]
    assert (row.state, row.provider_code, row.skip_reason) == (DeliveryState.PENDING, "isv.SOMETHING_NEW",
                                                               "unknown_code")  # fmt: skip
    assert row.next_attempt_at is not None and (row.next_attempt_at - utcnow()).total_seconds() > 50 * 60
    campaign = await session.get(Campaign, campaign_id)
    assert campaign is not None and campaign.state == CampaignState.SENDING
    assert campaign.notice and "isv.SOMETHING_NEW" in campaign.notice


async def test_a_full_queue_21611_is_retried_not_dropped(
    session: AsyncSession, sessionmaker: SessionMaker, settings: Settings, fake_twilio: FakeTwilio
) -> None:
    await _leaders(session, 1)
    campaign_id = await _campaign(session, settings)
    fake_twilio.permanent["+8613904800000"] = 21611
    twilio = fake_twilio.settings(database_url=settings.database_url)
    provider = TwilioProvider(twilio)
    sender = Sender(sessionmaker=sessionmaker, provider=provider, limiter=None, settings=_settings(twilio))
    try:
        import asyncio

        run = asyncio.create_task(run_campaign(sender, campaign_id=campaign_id, idle_wait=0.05))
        while fake_twilio.rejected[21611] < 2:
            await asyncio.sleep(0.02)
        fake_twilio.permanent.clear()  # the queue drained
        await asyncio.wait_for(run, 20)
    finally:
        await provider.aclose()
    row = (await _rows(session, campaign_id))["+8613904800000"]
    assert row.state == DeliveryState.SENT and row.attempts >= 3
    assert fake_twilio.stats()["by_to"] == {"+8613904800000": 1}
