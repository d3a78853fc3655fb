"""Alibaba Cloud SMS (短信服务) through its official SDK: a template whose `${content}` carries the text.

Domestic carriers only take registered templates and signatures, so the message body goes in as
the single parameter of one registered notification template, and the sign name is sent apart
(Alibaba Cloud puts 【签名】 in front itself — our own prefix is stripped to avoid printing it twice).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import aiohttp
from alibabacloud_dysmsapi20170525 import models as sms_models
from alibabacloud_dysmsapi20170525.client import Client
from alibabacloud_tea_openapi import models as openapi_models
from alibabacloud_tea_util.models import RuntimeOptions
from Tea.exceptions import TeaException

from notifier.core.errors import SettingsError
from notifier.core.settings import Settings
from notifier.sending.providers.base import ProviderError, SendResult, SentMessage

# Alibaba Cloud's own clock for SendDate / QuerySendDetails is Beijing time.
BEIJING = ZoneInfo("Asia/Shanghai")
# Business error codes that will not succeed on retry, mapped to the Twilio-style numbers we store.
PERMANENT = {
    "isv.MOBILE_NUMBER_ILLEGAL": 21211,
    "isv.MOBILE_COUNT_OVER_LIMIT": 21211,
    "isv.BLACK_KEY_CONTROL_LIMIT": 21610,
    "isv.SMS_SIGNATURE_ILLEGAL": 21408,
    "isv.SMS_TEMPLATE_ILLEGAL": 21408,
    "isv.TEMPLATE_MISSING_PARAMETERS": 21408,
    "isv.PARAM_LENGTH_LIMIT": 21617,
    "isv.DAY_LIMIT_CONTROL": 30007,
}
# Codes that mean "not now": flow control, throttling, a system error on their side.
TRANSIENT = {"isv.BUSINESS_LIMIT_CONTROL", "Throttling.User", "Throttling", "isp.SYSTEM_ERROR",
             "ServiceUnavailable", "InternalError", "isv.AMOUNT_NOT_ENOUGH"}  # fmt: skip


def national_number(e164: str) -> str:
    """Alibaba Cloud takes mainland numbers without +86 and others as 00<country><number>."""
    if e164.startswith("+86"):
        return e164[3:]
    return "00" + e164.lstrip("+")


def e164_from_aliyun(number: str) -> str:
    if number.startswith("00"):
        return "+" + number[2:]
    return "+86" + number


def sign_name_from(signature: str) -> str:
    return signature.strip().removeprefix("【").removesuffix("】")


class AliyunProvider:
    """SmsProvider on Alibaba Cloud SMS (SendSms / QuerySendDetails)."""

    name = "aliyun"

    def __init__(self, settings: Settings, *, timeout_ms: int = 10_000) -> None:
        if not (settings.aliyun_access_key_id and settings.aliyun_access_key_secret):
            raise SettingsError("阿里云短信未配置:需要 ALIYUN_ACCESS_KEY_ID 和 ALIYUN_ACCESS_KEY_SECRET")
        if not settings.aliyun_template_code:
            raise SettingsError("阿里云短信未配置:需要 ALIYUN_TEMPLATE_CODE(含 ${content} 参数的通知模板)")
        config = openapi_models.Config(
            access_key_id=settings.aliyun_access_key_id,
            access_key_secret=settings.aliyun_access_key_secret.get_secret_value(),
            endpoint=settings.aliyun_endpoint,
            protocol=settings.aliyun_protocol,
        )
        self._client = Client(config)
        self._signature = settings.sms_signature
        self._sign_name = settings.aliyun_sign_name or sign_name_from(settings.sms_signature)
        self._template = settings.aliyun_template_code
        self._runtime = RuntimeOptions(autoretry=False, read_timeout=timeout_ms, connect_timeout=timeout_ms)

    async def send(self, *, to: str, body: str, status_callback: str | None = None) -> SendResult:
        content = body.removeprefix(self._signature).strip()
        request = sms_models.SendSmsRequest(
            phone_numbers=national_number(to),
            sign_name=self._sign_name,
            template_code=self._template,
            template_param=json.dumps({"content": content}, ensure_ascii=False),
        )
        response = await self._call(self._client.send_sms_with_options_async(request, self._runtime))
        result = response.body
        if result.code != "OK":
            raise _business_error(result.code, result.message)
        return SendResult(sid=str(result.biz_id), status="queued", provider=self.name)

    async def find_sent(self, *, to: str, since: datetime) -> list[SentMessage]:
        """Messages to `to` since `since`, day by day (the API queries one Beijing date at a time)."""
        found: list[SentMessage] = []
        day = since.astimezone(BEIJING).date()
        today = datetime.now(BEIJING).date()
        while day <= today:
            found.extend(await self._query_day(to, day.strftime("%Y%m%d"), since))
            day += timedelta(days=1)
        return found

    async def _query_day(self, to: str, send_date: str, since: datetime) -> list[SentMessage]:
        found: list[SentMessage] = []
        page = 1
        while True:
            request = sms_models.QuerySendDetailsRequest(
                phone_number=national_number(to), send_date=send_date, page_size=50, current_page=page
            )
            response = await self._call(
                self._client.query_send_details_with_options_async(request, self._runtime)
            )
            body = response.body
            if body.code != "OK":
                raise _business_error(body.code, body.message)
            details = body.sms_send_detail_dtos.sms_send_detail_dto if body.sms_send_detail_dtos else []
            for item in details or []:
                sent = datetime.strptime(item.send_date, "%Y-%m-%d %H:%M:%S").replace(tzinfo=BEIJING)
                if sent >= since:
                    found.append(SentMessage(sid=item.out_id or f"{item.phone_num}@{item.send_date}",
                                             to=e164_from_aliyun(item.phone_num), body=item.content or "",
                                             status=str(item.send_status), date_created=sent,
                                             provider=self.name))  # fmt: skip
            if len(details or []) < 50:
                return found
            page += 1

    async def _call(self, awaitable):  # type: ignore[no-untyped-def]
        try:
            return await awaitable
        except TeaException as exc:
            status = getattr(exc, "status_code", None) or getattr(exc, "statusCode", None)
            code = str(getattr(exc, "code", "") or "")
            transient = status is None or status == 429 or status >= 500 or code in TRANSIENT
            raise ProviderError(f"阿里云短信错误 {code or status}", status=status, code=PERMANENT.get(code),
                                transient=transient) from None  # fmt: skip
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise ProviderError(f"阿里云短信连接失败:{type(exc).__name__}", transient=True) from None

    async def aclose(self) -> None:
        return None


def _business_error(code: str | None, message: str | None) -> ProviderError:
    code = code or "?"
    transient = code in TRANSIENT or code not in PERMANENT
    return ProviderError(f"阿里云短信错误 {code}: {message or ''}".strip(), code=PERMANENT.get(code),
                         transient=transient)  # fmt: skip
