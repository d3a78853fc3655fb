"""The Alibaba Cloud adapter through the official SDK against the local fake (its HTTP boundary):
registered templates with named parameters, numbers as the SDK documents them, every code of the
docs' table classified, and a send that times out after the fake accepted it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from notifier.core.errors import SettingsError
from notifier.sending.codes import ALIYUN, Action
from notifier.sending.providers.aliyun import AliyunProvider, e164_from_aliyun, national_number
from notifier.sending.providers.base import ProviderError, TemplateUse
from tests.notifier.sending.providers.conftest import aliyun_settings
from web.fakes.aliyun import FakeAliyun

TO = "+8613904830001"
WEEKLY = TemplateUse("SMS_900001", {"summary": "开复工率94.0%", "name": "王局长"})

# What each documented code calls for, written from the docs
# (https://help.aliyun.com/zh/sms/developer-reference/api-error-codes and the gateway's common codes),
# independently of notifier.sending.codes: the module's table must say the same, code for code.
DOCUMENTED = {
    "isv.SMS_SIGNATURE_SCENE_ILLEGAL": Action.ACCOUNT, "isv.EXTEND_CODE_ERROR": Action.ACCOUNT,
    "isv.SIGN_STATE_ILLEGAL": Action.ACCOUNT, "isv.DOMESTIC_NUMBER_NOT_SUPPORTED": Action.CONTENT,
    "isv.DENY_IP_RANGE": Action.ACCOUNT, "isv.DAY_LIMIT_CONTROL": Action.HOLD_DAY,
    "isv.MONTH_LIMIT_CONTROL": Action.ACCOUNT, "isv.SMS_CONTENT_ILLEGAL": Action.CONTENT,
    "isv.SMS_SIGN_ILLEGAL": Action.ACCOUNT, "isp.RAM_PERMISSION_DENY": Action.ACCOUNT,
    "isv.OUT_OF_SERVICE": Action.ACCOUNT, "isv.PRODUCT_UN_SUBSCRIPT": Action.ACCOUNT,
    "isv.PRODUCT_UNSUBSCRIBE": Action.ACCOUNT, "isv.ACCOUNT_NOT_EXISTS": Action.ACCOUNT,
    "isv.ACCOUNT_ABNORMAL": Action.ACCOUNT, "isv.SMS_TEMPLATE_ILLEGAL": Action.CONTENT,
    "isv.SMS_SIGNATURE_ILLEGAL": Action.ACCOUNT, "isv.INVALID_PARAMETERS": Action.CONTENT,
    "isp.SYSTEM_ERROR": Action.RETRY, "isv.MOBILE_NUMBER_ILLEGAL": Action.PERMANENT,
    "isv.MOBILE_COUNT_OVER_LIMIT": Action.PERMANENT, "isv.TEMPLATE_MISSING_PARAMETERS": Action.CONTENT,
    "isv.TEMPLATE_PARAMS_ILLEGAL": Action.CONTENT, "isv.BUSINESS_LIMIT_CONTROL": Action.RETRY,
    "isv.INVALID_JSON_PARAM": Action.CONTENT, "isv.BLACK_KEY_CONTROL_LIMIT": Action.CONTENT,
    "isv.PARAM_LENGTH_LIMIT": Action.CONTENT, "isv.PARAM_NOT_SUPPORT_URL": Action.CONTENT,
    "isv.AMOUNT_NOT_ENOUGH": Action.ACCOUNT, "isv.SMS_TEST_SIGN_NAME_LIMIT": Action.ACCOUNT,
    "isv.SMS_TEST_TEMPLATE_LIMIT": Action.ACCOUNT, "isv.SMS_TEST_NUMBER_LIMIT": Action.PERMANENT,
    "isv.SECURITY_FROZEN_ACCOUNT": Action.ACCOUNT, "MissingAuthorization": Action.ACCOUNT,
    "SignatureDoesNotMatch": Action.ACCOUNT, "InvalidAccessKeyId.NotFound": Action.ACCOUNT,
    "InvalidAccessKeyId.Inactive": Action.ACCOUNT, "Forbidden.RAM": Action.ACCOUNT,
    "Throttling": Action.RETRY, "Throttling.User": Action.RETRY, "Throttling.Api": Action.RETRY,
    "ServiceUnavailable": Action.RETRY, "InternalError": Action.RETRY,
}  # fmt: skip


@pytest.mark.parametrize(
    ("e164", "expected"),
    [("+8613904830001", "13904830001"), ("+85261234567", "85261234567"), ("+12025550123", "12025550123")],
)
def test_numbers_go_as_country_and_number_without_00(e164: str, expected: str) -> None:
    assert national_number(e164) == expected
    assert e164_from_aliyun(expected) == e164


async def test_a_registered_template_goes_with_its_named_parameters(fake_aliyun: FakeAliyun) -> None:
    provider = AliyunProvider(aliyun_settings(fake_aliyun))
    result = await provider.send(to=TO, body="ignored: the template is sent", reference="guatu-7",
                                 template=WEEKLY)  # fmt: skip
    assert result.provider == "aliyun" and result.sid.endswith("^0")
    [message] = fake_aliyun.messages
    assert message.content == "【阿拉善盟发改委】本周通报:开复工率94.0%。请王局长及时报送"
    assert (message.phone, message.template_code, message.out_id) == ("13904830001", "SMS_900001", "guatu-7")


async def test_an_international_number_is_taken_without_00(fake_aliyun: FakeAliyun) -> None:
    provider = AliyunProvider(aliyun_settings(fake_aliyun))
    await provider.send(to="+85261234567", body="x", template=WEEKLY)
    assert fake_aliyun.stats()["by_to"] == {"+85261234567": 1}


async def test_no_template_is_a_content_refusal_and_nothing_leaves(fake_aliyun: FakeAliyun) -> None:
    provider = AliyunProvider(aliyun_settings(fake_aliyun))
    with pytest.raises(ProviderError) as info:
        await provider.send(to=TO, body="【阿拉善盟发改委】整段文字")
    assert info.value.action == Action.CONTENT and fake_aliyun.messages == []


def test_the_table_is_the_documented_one() -> None:
    assert ALIYUN == DOCUMENTED


@pytest.mark.parametrize("code", sorted(DOCUMENTED))
async def test_each_documented_code_is_classified_and_kept_verbatim(
    fake_aliyun: FakeAliyun, code: str
) -> None:
    fake_aliyun.codes["13904830001"] = (code, f"message for {code}")
    provider = AliyunProvider(aliyun_settings(fake_aliyun))
    with pytest.raises(ProviderError) as info:
        await provider.send(to=TO, body="x", template=WEEKLY)
    assert (info.value.action, info.value.provider_code) == (DOCUMENTED[code], code)
    assert not info.value.opt_out  # no Alibaba Cloud code says the recipient opted out
    assert fake_aliyun.messages == []


@pytest.mark.parametrize(
    ("message", "action"),
    [("触发分钟级流控Permits:1", Action.RETRY), ("触发小时级流控Permits:5", Action.RETRY),
     ("触发天级流控Permits:10", Action.HOLD_DAY)],
)  # fmt: skip
async def test_flow_control_waits_for_tomorrow_only_at_day_level(
    fake_aliyun: FakeAliyun, message: str, action: Action
) -> None:
    fake_aliyun.codes["13904830001"] = ("isv.BUSINESS_LIMIT_CONTROL", message)
    with pytest.raises(ProviderError) as info:
        await AliyunProvider(aliyun_settings(fake_aliyun)).send(to=TO, body="x", template=WEEKLY)
    assert info.value.action == action


async def test_an_unknown_code_is_kept_verbatim_and_unknown(fake_aliyun: FakeAliyun) -> None:
    fake_aliyun.codes["13904830001"] = ("isv.SOMETHING_NEW", "新的错误")
    with pytest.raises(ProviderError) as info:
        await AliyunProvider(aliyun_settings(fake_aliyun)).send(to=TO, body="x", template=WEEKLY)
    assert (info.value.action, info.value.provider_code) == (Action.UNKNOWN, "isv.SOMETHING_NEW")


@pytest.mark.parametrize(
    ("change", "code"),
    [("long", "isv.PARAM_LENGTH_LIMIT"), ("url", "isv.PARAM_NOT_SUPPORT_URL"),
     ("missing", "isv.TEMPLATE_MISSING_PARAMETERS"), ("unregistered", "isv.SMS_TEMPLATE_ILLEGAL"),
     ("blocked", "isv.BLACK_KEY_CONTROL_LIMIT"), ("00", "isv.MOBILE_NUMBER_ILLEGAL")],
)  # fmt: skip
async def test_the_fake_enforces_templates_and_numbers_as_the_service_does(
    fake_aliyun: FakeAliyun, change: str, code: str
) -> None:
    fake_aliyun.blocked_words = {"赌博"}
    params = dict(WEEKLY.params)
    to, template_code = TO, WEEKLY.code
    if change == "long":
        params["summary"] = "开" * 36  # Alibaba Cloud's default limit is 35 characters a variable
    elif change == "url":
        params["summary"] = "详见 https://example.cn"
    elif change == "missing":
        del params["name"]
    elif change == "unregistered":
        template_code = "SMS_000000"
    elif change == "blocked":
        params["summary"] = "赌博"
    provider = AliyunProvider(aliyun_settings(fake_aliyun))
    if change == "00":  # the number the way older code sent it is refused by the service
        assert await _send_raw(provider, "0085261234567") == code
        return
    with pytest.raises(ProviderError) as info:
        await provider.send(to=to, body="x", template=TemplateUse(template_code, params))
    assert info.value.provider_code == code and fake_aliyun.messages == []


async def _send_raw(provider: AliyunProvider, number: str) -> str:
    """SendSms with a number exactly as given (what national_number no longer produces)."""
    from alibabacloud_dysmsapi20170525 import models as sms_models

    request = sms_models.SendSmsRequest(phone_numbers=number, sign_name="阿拉善盟发改委", template_code="SMS_900001",
                                        template_param='{"summary": "a", "name": "b"}')  # fmt: skip
    response = await provider._client.send_sms_with_options_async(request, provider._runtime)
    return str(response.body.code)


async def test_daily_limits_of_the_service(fake_aliyun: FakeAliyun) -> None:
    provider = AliyunProvider(aliyun_settings(fake_aliyun))
    for _ in range(50):  # 50 notifications per number, template and day
        await provider.send(to=TO, body="x", template=WEEKLY)
    with pytest.raises(ProviderError) as info:
        await provider.send(to=TO, body="x", template=WEEKLY)
    assert (info.value.provider_code, info.value.action) == ("isv.BUSINESS_LIMIT_CONTROL", Action.HOLD_DAY)
    fake_aliyun.day_limit = 50  # the account's daily total set in the console
    with pytest.raises(ProviderError) as info:
        await provider.send(to="+8613904830002", body="x", template=WEEKLY)
    assert (info.value.provider_code, info.value.action) == ("isv.DAY_LIMIT_CONTROL", Action.HOLD_DAY)


async def test_a_timeout_after_accepting_is_an_unknown_outcome_found_by_reference(
    fake_aliyun: FakeAliyun,
) -> None:
    fake_aliyun.hang_after_accept_ms = 1500
    provider = AliyunProvider(aliyun_settings(fake_aliyun), timeout_ms=300)
    before = datetime.now(UTC) - timedelta(seconds=1)
    with pytest.raises(ProviderError) as info:
        await provider.send(to=TO, body="x", reference="guatu-42", template=WEEKLY)
    assert info.value.outcome_unknown
    found = await provider.find_sent(to=TO, since=before)
    assert [(m.reference, m.to) for m in found] == [("guatu-42", TO)]


@pytest.mark.parametrize("fault", ["outage", "throttle"])
async def test_outage_and_flow_control_are_retried(fake_aliyun: FakeAliyun, fault: str) -> None:
    if fault == "outage":
        fake_aliyun.outage = True
    else:
        fake_aliyun.throttle_rate = 1.0
    with pytest.raises(ProviderError) as info:
        await AliyunProvider(aliyun_settings(fake_aliyun)).send(to=TO, body="x", template=WEEKLY)
    assert info.value.action == Action.RETRY and not info.value.outcome_unknown
    assert fake_aliyun.messages == []


async def test_wrong_secret_is_an_account_problem(fake_aliyun: FakeAliyun) -> None:
    provider = AliyunProvider(aliyun_settings(fake_aliyun, aliyun_access_key_secret="not-the-secret"))
    with pytest.raises(ProviderError) as info:
        await provider.send(to=TO, body="x", template=WEEKLY)
    assert (info.value.action, info.value.provider_code) == (Action.ACCOUNT, "SignatureDoesNotMatch")
    assert fake_aliyun.messages == []


async def test_unreachable_endpoint_is_retried_and_known_unsent() -> None:
    fake = FakeAliyun()
    fake.port = 9  # discard port: nothing listens
    with pytest.raises(ProviderError) as info:
        await AliyunProvider(aliyun_settings(fake), timeout_ms=2000).send(to=TO, body="x", template=WEEKLY)
    assert info.value.action == Action.RETRY and not info.value.outcome_unknown


async def test_find_sent_lists_messages_since(fake_aliyun: FakeAliyun) -> None:
    provider = AliyunProvider(aliyun_settings(fake_aliyun))
    before = datetime.now(UTC) - timedelta(seconds=5)
    await provider.send(to=TO, body="x", reference="guatu-1", template=WEEKLY)
    await provider.send(to="+8613904830002", body="x", reference="guatu-2", template=WEEKLY)
    found = await provider.find_sent(to=TO, since=before)
    assert [(m.reference, m.provider, m.status) for m in found] == [("guatu-1", "aliyun", "delivered")]
    assert await provider.find_sent(to=TO, since=datetime.now(UTC) + timedelta(minutes=1)) == []


def test_missing_credentials_name_the_setting() -> None:
    with pytest.raises(SettingsError, match="ALIYUN_ACCESS_KEY_ID"):
        AliyunProvider(aliyun_settings(FakeAliyun(), aliyun_access_key_id=None))
