"""The send loop: retries, permanent errors, opt-outs, crash reconciliation, carrier holds, the worker."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest
import redis.asyncio as aioredis
from arq.connections import RedisSettings, create_pool
from arq.worker import Worker
from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

import worker as worker_module
from models import (
    Campaign,
    CampaignKind,
    CampaignState,
    Delivery,
    DeliveryState,
    OptOut,
    Person,
    Role,
    utcnow,
)
from models.db import SessionMaker
from notifier.core.settings import Settings
from notifier.sending.campaigns import campaign_status, create_campaign, queue_campaign
from notifier.sending.loop import Sender, backoff, claim_batch, run_campaign, send_one, write_outcomes
from notifier.sending.providers.base import ProviderError, SendResult, SentMessage
from notifier.sending.providers.local import FileProvider
from notifier.sending.ratelimit import RateLimiter


class ScriptedProvider:
    """A provider that fails on cue: transient errors at a rate, permanent codes for chosen numbers."""

    name = "scripted"

    def __init__(self, *, transient_rate: float = 0.0, permanent: dict[str, int] | None = None) -> None:
        self.rng = random.Random(1)
        self.transient_rate = transient_rate
        self.permanent = permanent or {}
        self.accepted: list[SentMessage] = []
        self.calls = 0

    async def send(
        self, *, to: str, body: str, status_callback: str | None = None, **_: object
    ) -> SendResult:
        self.calls += 1
        await asyncio.sleep(0)
        if to in self.permanent:
            raise ProviderError("permanent", code=self.permanent[to], status=400, transient=False)
        if self.rng.random() < self.transient_rate:
            raise ProviderError("Too Many Requests", code=20429, status=429, transient=True)
        sid = f"SM{len(self.accepted):06d}"
        self.accepted.append(SentMessage(sid=sid, to=to, body=body, status="queued", date_created=utcnow()))
        return SendResult(sid=sid)

    async def find_sent(self, *, to: str, since: datetime) -> list[SentMessage]:
        return [m for m in self.accepted if m.to == to and (m.date_created or since) >= since]

    async def aclose(self) -> None:
        return None


def _settings(settings: Settings, **overrides: Any) -> Settings:
    return settings.model_copy(update={"sms_retry_base_ms": 1, "sms_batch_size": 50, **overrides})


async def _leaders(session: AsyncSession, n: int) -> None:
    session.add_all(Person(name=f"领导{i}", phone=f"+86139048{i:05d}", role=Role.LEADER) for i in range(n))
    await session.commit()


async def _campaign(session: AsyncSession, settings: Settings, text: str = "周通报") -> int:
    campaign = await create_campaign(session, settings=settings, kind=CampaignKind.BROADCAST, text=text,
                                     audience="all-leaders")  # fmt: skip
    campaign.state = CampaignState.QUEUED
    session.add(campaign)
    await session.commit()
    return campaign.id or 0


async def _states(session: AsyncSession, campaign_id: int) -> Counter[str]:
    rows = (await session.exec(select(Delivery.state).where(Delivery.campaign_id == campaign_id))).all()
    return Counter(str(s) for s in rows)


def test_backoff_grows_with_jitter_and_a_cap() -> None:
    rng = random.Random(3)
    delays = [backoff(n, 500, rng=rng).total_seconds() for n in range(1, 6)]
    assert all(
        0.5 * 0.5 * 2 ** (n - 1) <= d <= 0.5 * 2 ** (n - 1) for n, d in zip(range(1, 6), delays, strict=True)
    )
    assert backoff(30, 500).total_seconds() <= 300


async def test_transient_errors_retry_until_everyone_is_sent_once(
    session: AsyncSession, sessionmaker: SessionMaker, settings: Settings
) -> None:
    await _leaders(session, 120)
    campaign_id = await _campaign(session, settings)
    provider = ScriptedProvider(transient_rate=0.3)
    sender = Sender(sessionmaker=sessionmaker, provider=provider, limiter=None,
                    settings=_settings(settings, sms_max_attempts=12))  # fmt: skip
    await run_campaign(sender, campaign_id=campaign_id, idle_wait=0.05)
    assert Counter(m.to for m in provider.accepted) == Counter({f"+86139048{i:05d}": 1 for i in range(120)})
    status = await campaign_status(session, campaign_id=campaign_id)
    assert status.state == "done" and status.counts["sent"] == 120
    attempts = (
        await session.exec(select(Delivery.attempts).where(Delivery.campaign_id == campaign_id))
    ).all()
    assert max(attempts) > 1 and max(attempts) <= 12


async def test_permanent_errors_are_recorded_and_not_retried(
    session: AsyncSession, sessionmaker: SessionMaker, settings: Settings
) -> None:
    await _leaders(session, 5)
    campaign_id = await _campaign(session, settings)
    provider = ScriptedProvider(permanent={"+8613904800001": 21211, "+8613904800002": 21610})
    sender = Sender(sessionmaker=sessionmaker, provider=provider, limiter=None, settings=_settings(settings))
    await run_campaign(sender, campaign_id=campaign_id)
    rows = {d.phone: d for d in (await session.exec(select(Delivery))).all()}
    assert (rows["+8613904800001"].state, rows["+8613904800001"].error_code, rows["+8613904800001"].attempts) == (
        DeliveryState.FAILED, 21211, 1)  # fmt: skip
    assert rows["+8613904800002"].error_code == 21610
    assert await session.get(OptOut, "+8613904800002") is not None  # unsubscribed at the carrier
    assert provider.calls == 5
    assert (await _states(session, campaign_id)) == Counter({"sent": 3, "failed": 2})


async def test_transient_errors_give_up_after_max_attempts(
    session: AsyncSession, sessionmaker: SessionMaker, settings: Settings
) -> None:
    await _leaders(session, 3)
    campaign_id = await _campaign(session, settings)
    provider = ScriptedProvider(transient_rate=1.0)
    sender = Sender(sessionmaker=sessionmaker, provider=provider, limiter=None,
                    settings=_settings(settings, sms_max_attempts=3))  # fmt: skip
    await run_campaign(sender, campaign_id=campaign_id, idle_wait=0.05)
    assert provider.calls == 9
    failed = (await session.exec(select(Delivery).where(Delivery.campaign_id == campaign_id))).all()
    assert {(d.state, d.error_code, d.attempts) for d in failed} == {(DeliveryState.FAILED, 20429, 3)}


async def test_numbers_opted_out_after_creation_are_never_sent(
    session: AsyncSession, sessionmaker: SessionMaker, settings: Settings
) -> None:
    await _leaders(session, 3)
    campaign_id = await _campaign(session, settings)
    session.add(OptOut(phone="+8613904800001", source="telegram"))
    await session.commit()
    provider = ScriptedProvider()
    await run_campaign(Sender(sessionmaker=sessionmaker, provider=provider, limiter=None, settings=_settings(settings)),
                       campaign_id=campaign_id)  # fmt: skip
    assert sorted(m.to for m in provider.accepted) == ["+8613904800000", "+8613904800002"]


async def _crash_mid_send(
    session: AsyncSession, campaign_id: int, provider: ScriptedProvider, phone: str
) -> None:
    """What a worker killed between the provider call and the write leaves behind."""
    past = utcnow() - timedelta(minutes=5)
    await session.execute(
        update(Delivery)
        .where(col(Delivery.campaign_id) == campaign_id, col(Delivery.phone) == phone)
        .values(
            state=DeliveryState.SENDING, claimed_at=past, lease_until=past + timedelta(seconds=60), attempts=1
        )
    )
    await session.commit()


@pytest.mark.parametrize("provider_got_it", [True, False])
async def test_expired_lease_is_reconciled_before_any_resend(
    session: AsyncSession, sessionmaker: SessionMaker, settings: Settings, provider_got_it: bool
) -> None:
    await _leaders(session, 3)
    campaign_id = await _campaign(session, settings)
    provider = ScriptedProvider()
    body = (await session.exec(select(Delivery.body).where(Delivery.phone == "+8613904800001"))).one()
    if provider_got_it:
        provider.accepted.append(SentMessage(sid="SMEARLIER", to="+8613904800001", body=body, status="sent",
                                             date_created=utcnow() - timedelta(minutes=5)))  # fmt: skip
    await _crash_mid_send(session, campaign_id, provider, "+8613904800001")
    await run_campaign(Sender(sessionmaker=sessionmaker, provider=provider, limiter=None, settings=_settings(settings)),
                       campaign_id=campaign_id)  # fmt: skip
    assert Counter(m.to for m in provider.accepted)["+8613904800001"] == 1
    sid = (await session.exec(select(Delivery.provider_sid).where(Delivery.phone == "+8613904800001"))).one()
    assert (sid == "SMEARLIER") is provider_got_it


async def test_a_claim_that_outwaited_its_lease_is_not_sent_after_a_takeover(
    session: AsyncSession, sessionmaker: SessionMaker, settings: Settings
) -> None:
    """A claim kept waiting (the shared rate) past its lease, while another worker took the row over,
    must not send; a late result of an old claim never overwrites a newer one."""
    await _leaders(session, 2)
    campaign_id = await _campaign(session, settings)
    fast = _settings(settings, sms_lease_seconds=5)
    async with sessionmaker() as s:
        first, second = await claim_batch(s, campaign_id=campaign_id, size=2, lease_seconds=5)
        # The first row's lease ran out and a reconciler took it over with a fresh lease.
        await s.execute(update(Delivery).where(col(Delivery.id) == first.id)
                        .values(lease_until=utcnow() + timedelta(seconds=30)))  # fmt: skip
        await s.commit()
    provider = ScriptedProvider()
    sender = Sender(sessionmaker=sessionmaker, provider=provider, limiter=None, settings=fast)
    stale = replace(first, lease_until=utcnow() + timedelta(seconds=1))
    assert (await send_one(sender, stale)).state == DeliveryState.SENDING
    assert provider.calls == 0
    async with sessionmaker() as s:  # bring the lease close to its end, as a long wait would
        await s.execute(update(Delivery).where(col(Delivery.id) == second.id)
                        .values(lease_until=utcnow() + timedelta(seconds=1)))  # fmt: skip
        await s.commit()
        row = await s.get(Delivery, second.id)
        assert row is not None and row.lease_until is not None
        near = replace(second, lease_until=row.lease_until)
    outcome = await send_one(sender, near)
    assert outcome.state == DeliveryState.SENT and provider.calls == 1
    # An outcome of an older claim (fewer attempts) changes nothing.
    async with sessionmaker() as s:
        await write_outcomes(s, [replace(outcome, attempts=outcome.attempts - 1, sid="SMSTALE")])
        assert (await s.get(Delivery, second.id)).state == DeliveryState.SENDING  # type: ignore[union-attr]
        await write_outcomes(s, [outcome])
        row = await s.get(Delivery, second.id)
        assert row is not None and (row.state, row.provider_sid) == (DeliveryState.SENT, outcome.sid)


async def test_same_text_and_daily_cap_hold_across_two_campaigns(
    session: AsyncSession, sessionmaker: SessionMaker, settings: Settings
) -> None:
    await _leaders(session, 2)
    provider = ScriptedProvider()
    sender = Sender(sessionmaker=sessionmaker, provider=provider, limiter=None,
                    settings=_settings(settings, sms_daily_cap_per_number=3))  # fmt: skip
    for _ in range(2):
        await run_campaign(sender, campaign_id=await _campaign(session, settings, "同一条通知"))
    third = await _campaign(session, settings, "同一条通知")
    held = await asyncio.wait_for(_run_until_held(sender, session, third), timeout=10)
    assert held == {"same_text_24h"}
    assert len(provider.accepted) == 4  # two per number; the third identical text waits
    fourth = await _campaign(session, settings, "另一条通知")
    await run_campaign(sender, campaign_id=fourth)
    fifth = await _campaign(session, settings, "第四条通知")
    assert await asyncio.wait_for(_run_until_held(sender, session, fifth), timeout=10) == {"daily_cap"}
    pending = (await session.exec(select(Delivery).where(Delivery.campaign_id == fifth))).all()
    assert all(
        d.state == DeliveryState.PENDING and d.next_attempt_at and d.next_attempt_at > utcnow()
        for d in pending
    )


async def _run_until_held(sender: Sender, session: AsyncSession, campaign_id: int) -> set[str]:
    """Run one pass of the loop (it would wait for the hold to lift) and report the hold reasons."""
    task = asyncio.create_task(run_campaign(sender, campaign_id=campaign_id, idle_wait=0.05))
    while True:
        await asyncio.sleep(0.05)
        reasons = (await session.exec(select(Delivery.skip_reason).where(Delivery.campaign_id == campaign_id,
                                                                          Delivery.state == DeliveryState.PENDING))).all()  # fmt: skip
        if reasons and all(reasons):
            task.cancel()
            return {r for r in reasons if r}


async def test_shared_rate_limiter_spaces_slots_across_instances(redis: aioredis.Redis) -> None:
    # At 2/s every slot is 0.525 s after the previous one, so ten quick reservations all queue up.
    a = RateLimiter(redis, rate_per_sec=2, name="test")
    b = RateLimiter(redis, rate_per_sec=2, name="test")
    slots = [(await (a if i % 2 else b).reserve())[0] for i in range(10)]
    # Two limiters (two processes) share one timeline: one slot per interval, whoever asks.
    assert [later - earlier for earlier, later in zip(slots, slots[1:], strict=False)] == [525_000] * 9
    # Any rate + 1 consecutive slots span more than a second: no one-second window holds more than rate.
    assert slots[2] - slots[0] > 1_000_000
    other = RateLimiter(redis, rate_per_sec=2, name="other")
    first_other, now = await other.reserve()
    assert first_other == now  # another name is another timeline


async def test_the_one_second_log_admits_rate_sends_then_holds_the_next(redis: aioredis.Redis) -> None:
    # Late wakers arriving together: the log lets `rate` through and holds the next one for
    # (about) the rest of the second, whichever limiter instance asks.
    a = RateLimiter(redis, rate_per_sec=3, name="log")
    b = RateLimiter(redis, rate_per_sec=3, name="log")
    assert [await (a if i % 2 else b).admit() for i in range(3)] == [0.0, 0.0, 0.0]
    held = await a.admit()
    assert 0 < held <= 1.0
    assert await b.admit() > 0  # holding does not log a send
    assert await redis.zcard(a.log_key) == 3


async def test_acquire_takes_a_due_slot_in_one_round_trip_and_holds_the_rate(
    redis: aioredis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = RateLimiter(redis, rate_per_sec=5, name="acquire")
    b = RateLimiter(redis, rate_per_sec=5, name="acquire")
    asked: list[str] = []
    for limiter, label in ((a, "a"), (b, "b")):
        original = limiter.admit

        async def admit(original: Any = original, label: str = label) -> float:
            asked.append(label)
            return float(await original())

        monkeypatch.setattr(limiter, "admit", admit)
    assert await a.acquire() == 0.0 and asked == []  # an idle limiter: reserved and admitted at once
    loop = asyncio.get_running_loop()
    let_go: list[float] = [loop.time()]

    async def one(limiter: RateLimiter) -> None:
        await limiter.acquire()
        let_go.append(loop.time())

    await asyncio.gather(*(one(a if i % 2 else b) for i in range(11)))
    let_go.sort()
    assert asked  # slots still to come are checked against the one-second log when they arrive
    # Twelve sends at 5/s through two instances: no five sends after the first ones fit in < 1 s.
    assert all(later - earlier >= 0.95 for earlier, later in zip(let_go, let_go[5:], strict=False))


async def test_worker_sends_a_queued_campaign(
    session: AsyncSession, settings: Settings, redis_url: str, redis: aioredis.Redis
) -> None:
    await _leaders(session, 30)
    campaign = await create_campaign(session, settings=settings, kind=CampaignKind.BROADCAST, text="{name}请报送",
                                     audience="all-leaders")  # fmt: skip
    await session.commit()
    pool = await create_pool(RedisSettings.from_dsn(redis_url))
    try:
        await queue_campaign(session, pool, settings=settings, campaign_id=campaign.id or 0)
    finally:
        await pool.aclose()
    options = worker_module.worker_settings(settings, redis_url)
    options["cron_jobs"] = []
    burst = Worker(**options, burst=True, poll_delay=0.05, handle_signals=False)
    try:
        await burst.main()
    finally:
        await burst.close()
    status = await campaign_status(session, campaign_id=campaign.id or 0)
    assert status.state == "done" and status.counts["sent"] == 30
    sent = FileProvider(settings.sms_file_path).messages()
    assert Counter(m["to"] for m in sent) == Counter({f"+86139048{i:05d}": 1 for i in range(30)})
    assert sent[0]["body"].startswith("【阿拉善盟发改委】领导")
    row = (await session.exec(select(Campaign).where(Campaign.id == campaign.id))).one()
    assert row.started_at is not None and row.finished_at is not None
