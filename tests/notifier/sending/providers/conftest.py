"""A running Alibaba Cloud SMS fake and settings that point the real SDK at it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from notifier.core.settings import Settings, load_settings
from web.fakes.aliyun import FakeAliyun


@pytest.fixture
async def fake_aliyun() -> AsyncIterator[FakeAliyun]:
    fake = await FakeAliyun().start()
    yield fake
    await fake.stop()


def aliyun_settings(fake: FakeAliyun, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "aliyun_access_key_id": fake.access_key_id,
        "aliyun_access_key_secret": fake.access_key_secret,
        "aliyun_endpoint": fake.endpoint,
        "aliyun_protocol": "http",
        "sms_signature": f"【{fake.sign_name}】",
        "_env_file": None,
    }
    values.update(overrides)
    return load_settings(**values)
