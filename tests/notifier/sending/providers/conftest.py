"""Settings that point the real Alibaba Cloud SDK at the fake (the fake itself: ../conftest.py)."""

from __future__ import annotations

from notifier.core.settings import Settings, load_settings
from web.fakes.aliyun import FakeAliyun


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
