"""Alibaba Cloud SMS (短信服务) through its official SDK: SendSms with a registered template and its
named parameters, QuerySendDetails to reconcile.

Domestic carriers take only registered (报备) templates and signatures. A message is one of the
templates in Guatu's registry (notifier.sending.templates) with its parameters filled in; the loop
passes the TemplateCode and the parameter values, and the sign name goes apart (Alibaba Cloud puts
【签名】 in front itself). Numbers are sent as the SDK's docstrings say: mainland numbers as the 11
digits, others as <country code><number> without a leading 00.

SendSms is not idempotent: after a timeout the message may exist. Each send carries our reference
as OutId, which QuerySendDetails returns, so reconciliation finds exactly that delivery.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
from alibabacloud_dysmsapi20170525 import models as sms_models
from alibabacloud_dysmsapi20170525.client import Client
from alibabacloud_tea_openapi import models as openapi_models
from alibabacloud_tea_util.models import RuntimeOptions
from Tea.exceptions import TeaException, UnretryableException

from notifier.core.errors import SettingsError
from notifier.core.settings import Settings
from notifier.sending.codes import Action, aliyun_action
from notifier.sending.providers.base import ProviderError, SendResult, SentMessage, TemplateUse

# Alibaba Cloud's own clock for SendDate / QuerySendDetails is Beijing time.
BEIJING = ZoneInfo("Asia/Shanghai")
# QuerySendDetails: SendStatus 1 waiting for the receipt, 2 failed, 3 delivered.
_SEND_STATUS = {1: "sent", 2: "failed", 3: "delivered"}
# A mainland mobile number as QuerySendDetails gives it back (other countries start with their code).
_MAINLAND = re.compile(r"^1[3-9]\d{9}$")


def national_number(e164: str) -> str:
    """Mainland numbers as their 11 digits; others as <country code><number>, no + and no 00."""
    if e164.startswith("+86"):
        return e164[3:]
    return e164.lstrip("+")


def e164_from_aliyun(number: str) -> str:
    if _MAINLAND.match(number):
        return "+86" + number
    return "+" + number.removeprefix("00")


def sign_name_from(signature: str) -> str:
    return signature.strip().removeprefix("【").removesuffix("】")


def _error(code: str | None, message: str | None, status: int | None = None) -> ProviderError:
    code = code or (str(status) if status else "?")
    return ProviderError(f"阿里云短信错误 {code}:{message or ''}".rstrip(":"), status=status,
                         action=aliyun_action(code, message), provider_code=code)  # fmt: skip


class AliyunProvider:
    """SmsProvider on Alibaba Cloud SMS (SendSms / QuerySendDetails)."""

    name = "aliyun"

    def __init__(self, settings: Settings, *, timeout_ms: int = 10_000) -> None:
        if not (settings.aliyun_access_key_id and settings.aliyun_access_key_secret):
            raise SettingsError("阿里云短信未配置:需要 ALIYUN_ACCESS_KEY_ID 和 ALIYUN_ACCESS_KEY_SECRET")
        config = openapi_models.Config(
            access_key_id=settings.aliyun_access_key_id,
            access_key_secret=settings.aliyun_access_key_secret.get_secret_value(),
            endpoint=settings.aliyun_endpoint,
            protocol=settings.aliyun_protocol,
        )
        self._client = Client(config)
        self._sign_name = settings.aliyun_sign_name or sign_name_from(settings.sms_signature)
        self._runtime = RuntimeOptions(autoretry=False, read_timeout=timeout_ms, connect_timeout=timeout_ms)

    async def send(
        self,
        *,
        to: str,
        body: str,
        status_callback: str | None = None,
        reference: str | None = None,
        template: TemplateUse | None = None,
    ) -> SendResult:
        if template is None:
            # Nothing leaves without a registered template: the carriers would refuse the text.
            raise ProviderError("阿里云短信只能发送已报备的模板,这条短信不符合任何模板", action=Action.CONTENT,
                                provider_code="isv.SMS_TEMPLATE_ILLEGAL")  # fmt: skip
        request = sms_models.SendSmsRequest(
            phone_numbers=national_number(to),
            sign_name=self._sign_name,
            template_code=template.code,
            template_param=json.dumps(template.params, ensure_ascii=False) if template.params else None,
            out_id=reference,
        )
        response = await self._call(
            self._client.send_sms_with_options_async(request, self._runtime), sending=True
        )
        result = response.body
        if result.code != "OK":
            raise _error(result.code, result.message)
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
                self._client.query_send_details_with_options_async(request, self._runtime), sending=False
            )
            body = response.body
            if body.code != "OK":
                raise _error(body.code, body.message)
            details = body.sms_send_detail_dtos.sms_send_detail_dto if body.sms_send_detail_dtos else []
            for item in details or []:
                sent = datetime.strptime(item.send_date, "%Y-%m-%d %H:%M:%S").replace(tzinfo=BEIJING)
                # Whole seconds at Alibaba Cloud: a send in the same second as `since` counts.
                if sent >= since.replace(microsecond=0):
                    found.append(SentMessage(sid=f"aliyun:{item.out_id or item.phone_num + '@' + item.send_date}",
                                             to=e164_from_aliyun(item.phone_num), body=item.content or "",
                                             status=_SEND_STATUS.get(int(item.send_status or 1), "sent"),
                                             date_created=sent, provider=self.name,
                                             reference=item.out_id or None))  # fmt: skip
            if len(details or []) < 50:
                return found
            page += 1

    async def _call(self, awaitable: Any, *, sending: bool) -> Any:
        try:
            return await awaitable
        except UnretryableException as exc:  # the SDK wraps transport errors (in a RetryError, whose
            inner = exc.inner_exception  # context is aiohttp's own exception)
            inner = inner.__context__ or inner if not isinstance(inner, aiohttp.ClientError) else inner
            if isinstance(inner, aiohttp.ClientConnectorError):
                raise ProviderError(
                    f"阿里云短信连接失败:{type(inner).__name__}", action=Action.RETRY
                ) from None
            # A timeout or a dropped connection: SendSms may have been accepted.
            raise ProviderError(f"阿里云短信请求超时或中断,结果未知:{type(inner).__name__}",
                                outcome_unknown=sending, action=Action.RETRY, provider_code="timeout") from None  # fmt: skip
        except TeaException as exc:
            status = getattr(exc, "status_code", None) or getattr(exc, "statusCode", None)
            raise _error(str(getattr(exc, "code", "") or "") or None, getattr(exc, "message", None),
                         status) from None  # fmt: skip
        except (TimeoutError, aiohttp.ServerDisconnectedError) as exc:
            raise ProviderError(f"阿里云短信请求超时,结果未知:{type(exc).__name__}", outcome_unknown=sending,
                                action=Action.RETRY, provider_code="timeout") from None  # fmt: skip
        except (aiohttp.ClientError, OSError) as exc:
            raise ProviderError(f"阿里云短信连接失败:{type(exc).__name__}", action=Action.RETRY) from None

    async def aclose(self) -> None:
        return None
