"""The circuit breaker moves sending to the secondary during an outage and back after the cool-down."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
import redis.asyncio as aioredis

from notifier.sending.providers.aliyun import AliyunProvider
from notifier.sending.providers.base import ProviderError, TemplateUse
from notifier.sending.providers.fallback import CircuitBreaker, FallbackProvider
from tests.notifier.sending.providers.conftest import aliyun_settings
from web.fakes.aliyun import FakeAliyun

WEEKLY = TemplateUse("SMS_900001", {"summary": "开复工率94.0%", "name": "王局长"})


class Named(AliyunProvider):
    def __init__(self, fake: FakeAliyun, name: str) -> None:
        super().__init__(aliyun_settings(fake))
        self.name = name


@pytest.fixture
async def second_fake() -> AsyncIterator[FakeAliyun]:
    fake = await FakeAliyun().start()
    yield fake
    await fake.stop()


def _fallback(
    redis: aioredis.Redis, primary: FakeAliyun, secondary: FakeAliyun, cooldown: float = 60
) -> FallbackProvider:
    breaker = CircuitBreaker(redis, name="test", threshold=3, cooldown=cooldown)
    return FallbackProvider(Named(primary, "primary"), Named(secondary, "secondary"), breaker=breaker)


async def test_outage_trips_breaker_then_secondary_takes_over(
    redis: aioredis.Redis, fake_aliyun: FakeAliyun, second_fake: FakeAliyun
) -> None:
    provider = _fallback(redis, fake_aliyun, second_fake)
    ok = await provider.send(to="+8613904830001", body="一", template=WEEKLY)
    assert ok.provider == "primary"
    fake_aliyun.outage = True
    for _ in range(3):
        with pytest.raises(ProviderError):
            await provider.send(to="+8613904830002", body="二", template=WEEKLY)
    assert await provider.breaker.is_open()
    moved = await provider.send(to="+8613904830002", body="二", template=WEEKLY)
    assert moved.provider == "secondary"
    # Nothing went out twice: one accepted message per number across both providers.
    total = fake_aliyun.stats()["by_to"] | second_fake.stats()["by_to"]
    assert total == {"+8613904830001": 1, "+8613904830002": 1}


async def test_breaker_state_is_shared_between_instances(
    redis: aioredis.Redis, fake_aliyun: FakeAliyun, second_fake: FakeAliyun
) -> None:
    worker_a = _fallback(redis, fake_aliyun, second_fake)
    worker_b = _fallback(redis, fake_aliyun, second_fake)
    fake_aliyun.outage = True
    for _ in range(3):
        with pytest.raises(ProviderError):
            await worker_a.send(to="+8613904830001", body="一", template=WEEKLY)
    assert (await worker_b.send(to="+8613904830001", body="一", template=WEEKLY)).provider == "secondary"


async def test_half_open_trial_returns_to_primary(
    redis: aioredis.Redis, fake_aliyun: FakeAliyun, second_fake: FakeAliyun
) -> None:
    provider = _fallback(redis, fake_aliyun, second_fake, cooldown=0.2)
    fake_aliyun.outage = True
    for _ in range(3):
        with pytest.raises(ProviderError):
            await provider.send(to="+8613904830001", body="一", template=WEEKLY)
    fake_aliyun.outage = False
    assert await provider.breaker.is_open()
    assert not await provider.breaker.is_open(now=time.time() + 1)
    time.sleep(0.25)
    assert (await provider.send(to="+8613904830001", body="一", template=WEEKLY)).provider == "primary"
    assert await provider.breaker.trips() == 1


async def test_permanent_errors_do_not_trip_the_breaker(
    redis: aioredis.Redis, fake_aliyun: FakeAliyun, second_fake: FakeAliyun
) -> None:
    provider = _fallback(redis, fake_aliyun, second_fake)
    for _ in range(5):
        with pytest.raises(ProviderError):
            await provider.send(to="+86123", body="坏号码", template=WEEKLY)
    assert not await provider.breaker.is_open()


async def test_find_sent_asks_both_providers(
    redis: aioredis.Redis, fake_aliyun: FakeAliyun, second_fake: FakeAliyun
) -> None:
    provider = _fallback(redis, fake_aliyun, second_fake)
    since = datetime.now(UTC) - timedelta(seconds=5)
    await provider.send(to="+8613904830001", body="一", template=WEEKLY, reference="guatu-1")
    fake_aliyun.outage = True
    for _ in range(3):
        with pytest.raises(ProviderError):
            await provider.send(to="+8613904830001", body="二", template=WEEKLY, reference="guatu-2")
    await provider.send(to="+8613904830001", body="二", template=WEEKLY, reference="guatu-2")
    fake_aliyun.outage = False
    found = await provider.find_sent(to="+8613904830001", since=since)
    assert sorted((m.provider or "", m.reference) for m in found) == [("primary", "guatu-1"),
                                                                       ("secondary", "guatu-2")]  # fmt: skip
