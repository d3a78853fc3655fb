"""The Twilio adapter through twilio-python's own async client, against the local fake."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from twilio.base.exceptions import TwilioRestException, TwilioServiceException

from notifier.core.errors import SettingsError
from notifier.sending.providers.base import ProviderError
from notifier.sending.providers.twilio import TwilioProvider, classify
from web.fakes.twilio import FakeTwilio

TO = "+8613904830001"


async def test_send_reaches_the_fake_with_from_and_callback(fake_twilio: FakeTwilio) -> None:
    provider = TwilioProvider(fake_twilio.settings(public_base_url="https://guatu.example.cn"))
    try:
        result = await provider.send(to=TO, body="【阿拉善盟发改委】本周通报")
    finally:
        await provider.aclose()
    assert result.sid.startswith("SM") and len(result.sid) == 34
    assert result.provider == "twilio"
    [message] = fake_twilio.messages
    assert (message.sid, message.to, message.from_) == (result.sid, TO, "+15005550006")
    assert message.status_callback == "https://guatu.example.cn/webhooks/twilio/status"
    assert fake_twilio.stats()["by_to"] == {TO: 1}


async def test_messaging_service_and_explicit_callback(fake_twilio: FakeTwilio) -> None:
    fake_twilio.send_callbacks = False
    settings = fake_twilio.settings(twilio_messaging_service_sid="MG" + "1" * 32, twilio_from=None)
    provider = TwilioProvider(settings)
    try:
        result = await provider.send(to=TO, body="hello", status_callback="http://cb.example/x")
    finally:
        await provider.aclose()
    [message] = fake_twilio.messages
    assert result.status == "accepted"
    assert message.messaging_service_sid == "MG" + "1" * 32 and message.from_ is None
    assert message.status_callback == "http://cb.example/x"


@pytest.mark.parametrize("code", [21211, 21408, 21610, 21614])
async def test_permanent_errors_carry_the_code(fake_twilio: FakeTwilio, code: int) -> None:
    fake_twilio.permanent[TO] = code
    provider = TwilioProvider(fake_twilio.settings())
    try:
        with pytest.raises(ProviderError) as info:
            await provider.send(to=TO, body="x")
    finally:
        await provider.aclose()
    assert (info.value.code, info.value.status, info.value.transient) == (code, 400, False)
    assert fake_twilio.messages == []


async def test_malformed_number_is_21211(fake_twilio: FakeTwilio) -> None:
    provider = TwilioProvider(fake_twilio.settings())
    try:
        with pytest.raises(ProviderError) as info:
            await provider.send(to="13904830001", body="x")
    finally:
        await provider.aclose()
    assert info.value.code == 21211 and not info.value.transient


@pytest.mark.parametrize(
    ("knob", "status", "code"), [("throttle_rate", 429, 20429), ("fail_rate", 500, 20500)]
)
async def test_throttling_and_server_errors_are_transient(
    fake_twilio: FakeTwilio, knob: str, status: int, code: int
) -> None:
    setattr(fake_twilio, knob, 1.0)
    provider = TwilioProvider(fake_twilio.settings())
    try:
        with pytest.raises(ProviderError) as info:
            await provider.send(to=TO, body="x")
    finally:
        await provider.aclose()
    assert (info.value.status, info.value.code, info.value.transient) == (status, code, True)
    assert fake_twilio.messages == []


async def test_wrong_token_is_permanent_and_nothing_sent(fake_twilio: FakeTwilio) -> None:
    provider = TwilioProvider(fake_twilio.settings(twilio_auth_token="wrong"))
    try:
        with pytest.raises(ProviderError) as info:
            await provider.send(to=TO, body="x")
    finally:
        await provider.aclose()
    assert (info.value.status, info.value.code, info.value.transient) == (401, 20003, False)
    assert fake_twilio.messages == []


async def test_timeout_is_transient(fake_twilio: FakeTwilio) -> None:
    fake_twilio.latency_ms = 2000
    provider = TwilioProvider(fake_twilio.settings(), timeout_seconds=0.2)
    try:
        with pytest.raises(ProviderError) as info:
            await provider.send(to=TO, body="x")
    finally:
        await provider.aclose()
    assert info.value.transient and info.value.code is None


async def test_unreachable_is_transient() -> None:
    fake = FakeTwilio()
    fake.port = 9  # discard port: nothing listens
    provider = TwilioProvider(fake.settings(), timeout_seconds=2)
    try:
        with pytest.raises(ProviderError) as info:
            await provider.send(to=TO, body="x")
    finally:
        await provider.aclose()
    assert info.value.transient


async def test_find_sent_lists_only_that_number_since(fake_twilio: FakeTwilio) -> None:
    fake_twilio.send_callbacks = False
    provider = TwilioProvider(fake_twilio.settings())
    try:
        before = datetime.now(UTC) - timedelta(seconds=5)
        first = await provider.send(to=TO, body="第一条")
        await provider.send(to="+8613904830002", body="别人的")
        # More than one page (50) to the same number: the client follows next_page_uri.
        for i in range(55):
            await provider.send(to=TO, body=f"第{i}条")
        found = await provider.send(to=TO, body="最后")
        sent = await provider.find_sent(to=TO, since=before)
        later = await provider.find_sent(to=TO, since=datetime.now(UTC) + timedelta(seconds=2))
    finally:
        await provider.aclose()
    assert len(sent) == 57
    assert {m.to for m in sent} == {TO}
    assert {first.sid, found.sid} <= {m.sid for m in sent}
    assert later == []


@pytest.mark.parametrize(
    ("overrides", "missing"),
    [({"twilio_auth_token": None}, "TWILIO_AUTH_TOKEN"), ({"twilio_from": None}, "TWILIO_FROM")],
)
def test_missing_settings_are_refused(overrides: dict[str, object], missing: str) -> None:
    fake = FakeTwilio()
    with pytest.raises(SettingsError, match=missing):
        TwilioProvider(fake.settings(**overrides))


@pytest.mark.parametrize(
    ("exc", "transient", "code"),
    [(TwilioRestException(429, "/x", "Too Many Requests", 20429), True, 20429),
     (TwilioRestException(503, "/x", "unavailable", 20503), True, 20503),
     (TwilioRestException(400, "/x", "invalid", 21211), False, 21211),
     (TwilioRestException(500, "/x", "opted out", 21610), False, 21610),
     (TwilioServiceException("about:blank", "Too Many Requests", 429, 20429), True, 20429),
     (TwilioServiceException("about:blank", "Region not enabled", 400, 21408), False, 21408),
     (TimeoutError(), True, None), (ConnectionRefusedError(), True, None)],
)  # fmt: skip
def test_classify(exc: BaseException, transient: bool, code: int | None) -> None:
    error = classify(exc)
    assert (error.transient, error.code) == (transient, code)
