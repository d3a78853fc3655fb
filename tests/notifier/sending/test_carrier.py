"""Carrier rules: the 24-hour same-text limit and the per-number daily cap hold across campaigns."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from models import Campaign, CampaignKind, Delivery, DeliveryState
from notifier.sending.carrier import carrier_holds, next_day_start

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 24, 6, 0, tzinfo=UTC)  # 14:00 in Alxa
PHONE = "+8613904830001"


async def _sent(session: AsyncSession, *, body: str, at: datetime, phone: str = PHONE,
                state: DeliveryState = DeliveryState.SENT) -> None:  # fmt: skip
    campaign = Campaign(kind=CampaignKind.BROADCAST, text=body, audience=f"phones:{phone}")
    session.add(campaign)
    await session.flush()
    session.add(Delivery(campaign_id=campaign.id or 0, phone=phone, body=body, state=state,
                         claimed_at=at, sent_at=at if state != DeliveryState.SENDING else None))  # fmt: skip
    await session.commit()


async def test_third_identical_text_in_24h_is_held(session: AsyncSession) -> None:
    await _sent(session, body="周通报", at=NOW - timedelta(hours=20))
    await _sent(session, body="周通报", at=NOW - timedelta(hours=2))
    holds = await carrier_holds(session, messages={PHONE: "周通报"}, now=NOW, tz=TZ, daily_cap=4)
    assert holds[PHONE].reason == "same_text_24h"
    assert holds[PHONE].until == NOW + timedelta(hours=4)  # when the older one leaves the window


async def test_different_text_is_not_a_duplicate(session: AsyncSession) -> None:
    await _sent(session, body="周通报", at=NOW - timedelta(hours=3))
    await _sent(session, body="周通报", at=NOW - timedelta(hours=2))
    assert await carrier_holds(session, messages={PHONE: "催报提醒"}, now=NOW, tz=TZ, daily_cap=4) == {}


async def test_identical_text_older_than_24h_does_not_count(session: AsyncSession) -> None:
    await _sent(session, body="周通报", at=NOW - timedelta(hours=30))
    await _sent(session, body="周通报", at=NOW - timedelta(hours=1))
    assert await carrier_holds(session, messages={PHONE: "周通报"}, now=NOW, tz=TZ, daily_cap=4) == {}


async def test_daily_cap_across_campaigns_holds_to_next_morning(session: AsyncSession) -> None:
    for n in range(4):
        await _sent(session, body=f"消息{n}", at=NOW - timedelta(hours=n + 1))
    holds = await carrier_holds(
        session, messages={PHONE: "第五条", "+8613904830002": "第五条"}, now=NOW, tz=TZ, daily_cap=4
    )
    assert set(holds) == {PHONE}
    assert holds[PHONE].reason == "daily_cap"
    assert holds[PHONE].until == datetime(2026, 11, 25, 8, 0, tzinfo=TZ)


async def test_daily_cap_counts_the_office_day_not_24_hours(session: AsyncSession) -> None:
    yesterday_evening = datetime(2026, 11, 23, 22, 0, tzinfo=TZ)
    for n in range(4):
        await _sent(session, body=f"消息{n}", at=yesterday_evening + timedelta(minutes=n))
    assert await carrier_holds(session, messages={PHONE: "今天第一条"}, now=NOW, tz=TZ, daily_cap=4) == {}


async def test_in_flight_and_failed_deliveries(session: AsyncSession) -> None:
    await _sent(session, body="周通报", at=NOW - timedelta(minutes=5), state=DeliveryState.SENDING)
    await _sent(session, body="周通报", at=NOW - timedelta(minutes=4), state=DeliveryState.FAILED)
    await _sent(session, body="周通报", at=NOW - timedelta(minutes=3))
    holds = await carrier_holds(session, messages={PHONE: "周通报"}, now=NOW, tz=TZ, daily_cap=4)
    assert holds[PHONE].reason == "same_text_24h"  # the claimed one counts, the failed one does not


def test_next_day_start_is_local() -> None:
    late = datetime(2026, 11, 24, 17, 30, tzinfo=UTC)  # 01:30 on the 25th in Alxa
    assert next_day_start(late, TZ) == datetime(2026, 11, 26, 8, 0, tzinfo=TZ)
