"""Provider storm: 30% of requests answered 429, 20% answered 500, latency spikes of up to 5 s,
and some numbers that always fail permanently. The campaign completes: every other recipient is
accepted exactly once, retries are bounded and visible per delivery, and the permanent failures
are recorded with their code, never retried."""

from __future__ import annotations

from collections import Counter

import redis.asyncio as aioredis
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Delivery, DeliveryState, OptOut
from notifier.core.settings import Settings
from notifier.sending.campaigns import campaign_status
from tests.reliability.engine import burst, leaders, phone, queued_campaign, twilio_settings
from web.fakes.twilio import FakeTwilio

N = 1500
MAX_ATTEMPTS = 30


async def test_storm_of_429s_500s_and_spikes_completes_exactly_once(
    session: AsyncSession, settings: Settings, redis_url: str, redis: aioredis.Redis, fake_twilio: FakeTwilio
) -> None:
    await leaders(session, N)
    permanent = {phone(i): (21211 if i % 2 else 21610) for i in range(0, N, 150)}  # 10 numbers
    fake_twilio.throttle_rate, fake_twilio.fail_rate = 0.30, 0.20
    fake_twilio.spike_rate, fake_twilio.spike_ms = 0.01, 5000
    fake_twilio.permanent = permanent
    twilio = twilio_settings(fake_twilio, settings, redis_url, sms_max_attempts=MAX_ATTEMPTS)
    campaign_id = await queued_campaign(session, twilio, redis_url)
    await burst(twilio, redis_url)

    stats = fake_twilio.stats()
    assert stats["by_to"] == {phone(i): 1 for i in range(N) if phone(i) not in permanent}
    assert stats["rejected"]["20429"] > N // 5 and stats["rejected"]["20500"] > N // 8  # the storm was real
    rows = (await session.exec(select(Delivery).where(Delivery.campaign_id == campaign_id))).all()
    states = Counter(d.state for d in rows)
    assert states == {DeliveryState.SENT: N - len(permanent), DeliveryState.FAILED: len(permanent)}
    for d in rows:
        assert 1 <= d.attempts <= MAX_ATTEMPTS
        if d.phone in permanent:
            assert d.error_code == permanent[d.phone]
    attempts = Counter(d.attempts for d in rows if d.state == DeliveryState.SENT)
    assert sum(n for a, n in attempts.items() if a > 1) > N // 3  # retries visible per delivery
    # 21610 (the number unsubscribed at the carrier) also records an opt-out.
    opted = set((await session.exec(select(OptOut.phone))).all())
    assert opted == {p for p, code in permanent.items() if code == 21610}
    assert (await campaign_status(session, campaign_id=campaign_id)).state == "done"
