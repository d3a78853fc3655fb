"""The Alibaba Cloud adapter through the official SDK against the local fake (its HTTP boundary)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from notifier.core.errors import SettingsError
from notifier.sending.providers.aliyun import AliyunProvider, national_number
from notifier.sending.providers.base import ProviderError
from tests.notifier.sending.providers.conftest import aliyun_settings
from web.fakes.aliyun import FakeAliyun


@pytest.mark.parametrize(
    ("e164", "expected"),
    [("+8613904830001", "13904830001"), ("+85261234567", "0085261234567"), ("+12025550123", "0012025550123")],
)
def test_national_number(e164: str, expected: str) -> None:
    assert national_number(e164) == expected


async def test_send_is_signed_and_rendered(fake_aliyun: FakeAliyun) -> None:
    provider = AliyunProvider(aliyun_settings(fake_aliyun))
    result = await provider.send(to="+8613904830001", body="【阿拉善盟发改委】本周通报:开复工率 94%")
    assert result.provider == "aliyun"
    assert result.sid.endswith("^0")
    [message] = fake_aliyun.messages
    # The signature is sent apart, not twice in the text.
    assert message.content == "【阿拉善盟发改委】本周通报:开复工率 94%"
    assert message.phone == "13904830001"
    assert fake_aliyun.stats()["by_to"] == {"+8613904830001": 1}


async def test_wrong_secret_is_rejected_and_nothing_sent(fake_aliyun: FakeAliyun) -> None:
    provider = AliyunProvider(aliyun_settings(fake_aliyun, aliyun_access_key_secret="not-the-secret"))
    with pytest.raises(ProviderError) as info:
        await provider.send(to="+8613904830001", body="测试")
    assert not info.value.transient
    assert fake_aliyun.messages == []
    assert fake_aliyun.rejected["SignatureDoesNotMatch"] == 1


async def test_invalid_number_is_permanent_with_code(fake_aliyun: FakeAliyun) -> None:
    provider = AliyunProvider(aliyun_settings(fake_aliyun))
    with pytest.raises(ProviderError) as info:
        await provider.send(to="+86123", body="测试")
    assert not info.value.transient
    assert info.value.code == 21211


@pytest.mark.parametrize("fault", ["outage", "throttle"])
async def test_outage_and_flow_control_are_transient(fake_aliyun: FakeAliyun, fault: str) -> None:
    if fault == "outage":
        fake_aliyun.outage = True
    else:
        fake_aliyun.throttle_rate = 1.0
    provider = AliyunProvider(aliyun_settings(fake_aliyun))
    with pytest.raises(ProviderError) as info:
        await provider.send(to="+8613904830001", body="测试")
    assert info.value.transient
    assert fake_aliyun.messages == []


async def test_unreachable_endpoint_is_transient() -> None:
    fake = FakeAliyun()
    fake.port = 9  # discard port: nothing listens
    provider = AliyunProvider(aliyun_settings(fake), timeout_ms=2000)
    with pytest.raises(ProviderError) as info:
        await provider.send(to="+8613904830001", body="测试")
    assert info.value.transient


async def test_find_sent_lists_messages_since(fake_aliyun: FakeAliyun) -> None:
    provider = AliyunProvider(aliyun_settings(fake_aliyun))
    before = datetime.now(UTC) - timedelta(seconds=5)
    await provider.send(to="+8613904830001", body="第一条")
    await provider.send(to="+8613904830002", body="别人的")
    await provider.send(to="+8613904830001", body="第二条")
    found = await provider.find_sent(to="+8613904830001", since=before)
    assert [m.body for m in found] == ["【阿拉善盟发改委】第一条", "【阿拉善盟发改委】第二条"]
    assert all(m.to == "+8613904830001" and m.provider == "aliyun" for m in found)
    assert await provider.find_sent(to="+8613904830001", since=datetime.now(UTC) + timedelta(minutes=1)) == []


def test_missing_credentials_name_the_setting() -> None:
    with pytest.raises(SettingsError, match="ALIYUN_ACCESS_KEY_ID"):
        AliyunProvider(aliyun_settings(FakeAliyun(), aliyun_access_key_id=None))
