"""A local fake of Alibaba Cloud SMS (dysmsapi 2017-05-25): SendSms and QuerySendDetails.

It speaks the RPC style the official SDK uses (parameters in the query string, the action in
`x-acs-action`), checks the ACS3-HMAC-SHA256 signature with the configured AccessKey secret, and
answers in the API's JSON shapes, including business errors (HTTP 200 with a `Code`) and outages
(HTTP 503). It enforces what the real service does (https://help.aliyun.com/zh/sms/developer-reference/api-error-codes
and the SDK's SendSmsRequest docstrings): only registered templates, every `${param}` given and at
most 35 characters (no URL, no blocked keyword), mainland numbers as 11 digits and others as
<country><number> without 00, 50 notifications per number, template and day (天级流控), an
account-wide daily total (DAY_LIMIT_CONTROL), and — a knob — answering only after the client gave
up although the message was accepted. `GET /__stats` reports what it accepted, so tests can prove
exactly-once.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import random
import re
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from aiohttp import web

from web.fakes import serve

BEIJING = ZoneInfo("Asia/Shanghai")
_AUTH_RE = re.compile(r"^ACS3-HMAC-SHA256 Credential=([^,]+),SignedHeaders=([^,]+),Signature=([0-9a-f]+)$")
_MAINLAND = re.compile(r"^(?:\+86|0086|86)?(1[3-9]\d{9})$")
_INTERNATIONAL = re.compile(r"^[1-9]\d{6,14}$")
_PARAM = re.compile(r"\$\{(\w+)\}")
_URL = re.compile(r"https?://|www\.", re.IGNORECASE)
# Gateway codes come back as HTTP errors; the SMS service's own (isv. / isp.) as HTTP 200.
_GATEWAY_STATUS = {"ServiceUnavailable": 503, "InternalError": 500, "InvalidAccessKeyId.NotFound": 404,
                   "InvalidAccessKeyId.Inactive": 404, "Forbidden.RAM": 403}  # fmt: skip
PARAM_LIMIT = 35
PER_NUMBER_TEMPLATE_DAY = 50


def _e164(phone: str) -> str:
    return "+86" + phone if _MAINLAND.match(phone) else "+" + phone


def aliyun_template(body: str) -> str:
    """Guatu's registered text ({name}) as Alibaba Cloud writes the same template (${name})."""
    return re.sub(r"\{(\w+)\}", r"${\1}", body)


def _encode(value: str) -> str:
    return quote(value, safe="-_.~")


def canonical_request(request: web.Request, signed_headers: str) -> str:
    """The string the SDK signs (ACS3-HMAC-SHA256), rebuilt from what arrived."""
    query = "&".join(f"{_encode(k)}={_encode(v)}" for k, v in sorted(request.query.items()))
    names = signed_headers.split(";")
    headers = "".join(f"{name}:{request.headers.get(name, '').strip()}\n" for name in names)
    payload_hash = request.headers.get("x-acs-content-sha256", "")
    return "\n".join([request.method, request.path or "/", query, headers, signed_headers, payload_hash])


def sign(secret: str, canonical: str) -> str:
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    string_to_sign = f"ACS3-HMAC-SHA256\n{digest}"
    return hmac.new(secret.encode(), string_to_sign.encode(), hashlib.sha256).hexdigest()


@dataclass
class AliyunMessage:
    biz_id: str
    phone: str
    sign_name: str
    template_code: str
    content: str
    out_id: str | None
    sent_at: datetime
    send_status: int = 3  # 1 waiting for the receipt, 2 failed, 3 delivered


@dataclass
class FakeAliyun:
    """The fake server; fault knobs may be changed while it runs."""

    access_key_id: str = "LTAI5tFakeAccessKey"
    access_key_secret: str = "fake-aliyun-secret"
    sign_name: str = "阿拉善盟发改委"
    # Registered templates (TemplateCode → text with ${param}); a template of only a variable is never
    # approved, so each has fixed text.
    templates: dict[str, str] = field(
        default_factory=lambda: {"SMS_900001": "本周通报:${summary}。请${name}及时报送"}
    )
    outage: bool = False
    throttle_rate: float = 0.0
    latency_ms: int = 0
    # Accept the message, then answer only after this long (the client has timed out by then).
    hang_after_accept_ms: int = 0
    # Account-wide daily total set in the console (None: no limit): isv.DAY_LIMIT_CONTROL past it.
    day_limit: int | None = None
    blocked_words: set[str] = field(default_factory=set)
    # Numbers (as sent) that always get this (Code, Message): any code of the docs, for tests.
    codes: dict[str, tuple[str, str]] = field(default_factory=dict)
    seed: int = 7
    messages: list[AliyunMessage] = field(default_factory=list)
    rejected: Counter[str] = field(default_factory=Counter)
    per_second: Counter[int] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/__stats", self._stats)
        app.router.add_post("/__control", self._control)
        app.router.add_route("*", "/", self._api)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> FakeAliyun:
        self._runner, self.port = await serve(self.app(), host, port)
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def stats(self) -> dict[str, Any]:
        by_to = Counter(_e164(m.phone) for m in self.messages)
        return {
            "messages": len(self.messages),
            "by_to": dict(by_to),
            "rejected": dict(self.rejected),
            "max_per_second": max(self.per_second.values(), default=0),
        }

    async def _stats(self, _request: web.Request) -> web.Response:
        return web.json_response(self.stats())

    async def _control(self, request: web.Request) -> web.Response:
        data = await request.json()
        for knob in ("outage", "throttle_rate", "latency_ms", "hang_after_accept_ms", "day_limit"):
            if knob in data:
                setattr(self, knob, data[knob])
        return web.json_response({"ok": True})

    def _error(self, status: int, code: str, message: str) -> web.Response:
        self.rejected[code] += 1
        return web.json_response({"RequestId": str(uuid.uuid4()), "Code": code, "Message": message,
                                  "HostId": "dysmsapi.aliyuncs.com"}, status=status)  # fmt: skip

    def _authenticate(self, request: web.Request) -> web.Response | None:
        match = _AUTH_RE.match(request.headers.get("Authorization", ""))
        if not match:
            return self._error(400, "MissingAuthorization", "Authorization is mandatory for this action.")
        credential, signed_headers, signature = match.groups()
        if credential != self.access_key_id:
            return self._error(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
        expected = sign(self.access_key_secret, canonical_request(request, signed_headers))
        if not hmac.compare_digest(expected, signature):
            return self._error(
                400, "SignatureDoesNotMatch", "Specified signature is not matched with our calculation."
            )
        return None

    async def _api(self, request: web.Request) -> web.Response:
        if self.latency_ms:
            await asyncio.sleep(self.latency_ms / 1000)
        denied = self._authenticate(request)
        if denied is not None:
            return denied
        if self.outage:
            return self._error(
                503, "ServiceUnavailable", "The request has failed due to a temporary failure of the server."
            )
        action = request.headers.get("x-acs-action") or request.query.get("Action", "")
        if action == "SendSms":
            return await self._send(request)
        if action == "QuerySendDetails":
            return self._query(request)
        return self._error(404, "InvalidAction.NotFound", f"Specified api is not found: {action}")

    def _business(self, code: str, message: str) -> web.Response:
        self.rejected[code] += 1
        return web.json_response({"RequestId": str(uuid.uuid4()), "Code": code, "Message": message})

    def _refusal(
        self, phone: str, params: dict[str, Any], template: str, code: str
    ) -> tuple[str, str] | None:
        """The business rule a SendSms breaks, as (Code, Message), or None."""
        names = _PARAM.findall(template)
        if any(name not in params for name in names):
            return "isv.TEMPLATE_MISSING_PARAMETERS", "模板变量缺少对应参数值"
        values = [str(params[name]) for name in names]
        if any(len(value) > PARAM_LIMIT for value in values):
            return "isv.PARAM_LENGTH_LIMIT", f"参数超出长度限制(每个变量最多 {PARAM_LIMIT} 个字符)"
        if any(_URL.search(value) for value in values):
            return "isv.PARAM_NOT_SUPPORT_URL", "不支持URL"
        if any(word in value for value in values for word in self.blocked_words):
            return "isv.BLACK_KEY_CONTROL_LIMIT", "黑名单管控"
        today = datetime.now(BEIJING).date()
        sent_today = [m for m in self.messages if m.sent_at.date() == today]
        if self.day_limit is not None and len(sent_today) >= self.day_limit:
            return "isv.DAY_LIMIT_CONTROL", "触发日发送限额"
        same = sum(1 for m in sent_today if m.phone == phone and m.template_code == code)
        if same >= PER_NUMBER_TEMPLATE_DAY:
            return "isv.BUSINESS_LIMIT_CONTROL", f"触发天级流控Permits:{PER_NUMBER_TEMPLATE_DAY}"
        return None

    async def _send(self, request: web.Request) -> web.Response:
        q = request.query
        phone = q.get("PhoneNumbers", "")
        if phone in self.codes:
            code, message = self.codes[phone]
            if code in _GATEWAY_STATUS or not code.startswith(("isv.", "isp.")):
                return self._error(_GATEWAY_STATUS.get(code, 400), code, message)
            return self._business(code, message)
        if self.throttle_rate and self._rng.random() < self.throttle_rate:
            return self._business("isv.BUSINESS_LIMIT_CONTROL", "触发分钟级流控Permits:1")
        mainland = _MAINLAND.match(phone)
        if not (mainland or _INTERNATIONAL.match(phone)):
            return self._business("isv.MOBILE_NUMBER_ILLEGAL", "非法手机号")
        phone = mainland.group(1) if mainland else phone
        if q.get("SignName") != self.sign_name:
            return self._business("isv.SMS_SIGNATURE_ILLEGAL", "该账号下找不到对应签名")
        template = self.templates.get(q.get("TemplateCode", ""))
        if template is None:
            return self._business("isv.SMS_TEMPLATE_ILLEGAL", "该账号下找不到对应模板")
        try:
            params = json.loads(q.get("TemplateParam") or "{}")
        except json.JSONDecodeError:
            return self._business("isv.INVALID_JSON_PARAM", "JSON参数不合法,只接受字符串值")
        if not isinstance(params, dict) or not all(isinstance(v, str) for v in params.values()):
            return self._business("isv.INVALID_JSON_PARAM", "JSON参数不合法,只接受字符串值")
        refused = self._refusal(phone, params, template, q["TemplateCode"])
        if refused is not None:
            return self._business(*refused)
        content = _PARAM.sub(lambda m: str(params[m.group(1)]), template)
        biz_id = f"{len(self.messages) + 1:06d}{uuid.uuid4().hex[:10]}^0"
        now = datetime.now(BEIJING)
        self.messages.append(AliyunMessage(biz_id=biz_id, phone=phone, sign_name=self.sign_name,
                                           template_code=q["TemplateCode"], content=f"【{self.sign_name}】{content}",
                                           out_id=q.get("OutId"), sent_at=now))  # fmt: skip
        self.per_second[int(time.time())] += 1
        if self.hang_after_accept_ms:
            await asyncio.sleep(self.hang_after_accept_ms / 1000)
        return web.json_response(
            {"RequestId": str(uuid.uuid4()), "Code": "OK", "Message": "OK", "BizId": biz_id}
        )

    def _query(self, request: web.Request) -> web.Response:
        q = request.query
        phone, send_date = q.get("PhoneNumber", ""), q.get("SendDate", "")
        size, page = int(q.get("PageSize", "10")), int(q.get("CurrentPage", "1"))
        if size > 50 or size < 1:
            return self._business("isv.INVALID_PARAMETERS", "PageSize 取值 1-50")
        mainland = _MAINLAND.match(phone)
        phone = mainland.group(1) if mainland else phone
        rows = [m for m in self.messages if m.phone == phone and m.sent_at.strftime("%Y%m%d") == send_date]
        chunk = rows[(page - 1) * size : page * size]
        details = [{"PhoneNum": m.phone, "SendStatus": m.send_status,
                    "ErrCode": "DELIVERED" if m.send_status == 3 else "", "TemplateCode": m.template_code,
                    "Content": m.content, "SendDate": m.sent_at.strftime("%Y-%m-%d %H:%M:%S"),
                    "ReceiveDate": m.sent_at.strftime("%Y-%m-%d %H:%M:%S"), "OutId": m.out_id or ""}
                   for m in chunk]  # fmt: skip
        return web.json_response({"RequestId": str(uuid.uuid4()), "Code": "OK", "Message": "OK",
                                  "TotalCount": len(rows), "SmsSendDetailDTOs": {"SmsSendDetailDTO": details}})  # fmt: skip
