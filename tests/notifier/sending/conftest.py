"""A running Alibaba Cloud SMS fake (a free port on 127.0.0.1) for the sending tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from web.fakes.aliyun import FakeAliyun


@pytest.fixture
async def fake_aliyun() -> AsyncIterator[FakeAliyun]:
    fake = await FakeAliyun().start()
    yield fake
    await fake.stop()
