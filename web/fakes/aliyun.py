"""A local fake of Alibaba Cloud SMS (dysmsapi 2017-05-25): SendSms and QuerySendDetails.

It speaks the RPC style the official SDK uses (parameters in the query string, the action in
`x-acs-action`), checks the ACS3-HMAC-SHA256 signature with the configured AccessKey secret,
renders the registered template with its parameters, and answers in the API's JSON shapes,
including business errors (HTTP 200 with a `Code`) and outages (HTTP 503). `GET /__stats`
reports what it accepted, so tests can prove exactly-once.
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
_MAINLAND = re.compile(r"^1[3-9]\d{9}$")
_INTERNATIONAL = re.compile(r"^00[1-9]\d{6,14}$")


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


@dataclass
class FakeAliyun:
    """The fake server; fault knobs may be changed while it runs."""

    access_key_id: str = "LTAI5tFakeAccessKey"
    access_key_secret: str = "fake-aliyun-secret"
    sign_name: str = "阿拉善盟发改委"
    templates: dict[str, str] = field(default_factory=lambda: {"SMS_900001": "${content}"})
    outage: bool = False
    throttle_rate: float = 0.0
    latency_ms: int = 0
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
        by_to = Counter(
            "+86" + m.phone if not m.phone.startswith("00") else "+" + m.phone[2:] for m in self.messages
        )
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
        for knob in ("outage", "throttle_rate", "latency_ms"):
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
            return self._send(request)
        if action == "QuerySendDetails":
            return self._query(request)
        return self._error(404, "InvalidAction.NotFound", f"Specified api is not found: {action}")

    def _business(self, code: str, message: str) -> web.Response:
        self.rejected[code] += 1
        return web.json_response({"RequestId": str(uuid.uuid4()), "Code": code, "Message": message})

    def _send(self, request: web.Request) -> web.Response:
        q = request.query
        phone = q.get("PhoneNumbers", "")
        if self.throttle_rate and self._rng.random() < self.throttle_rate:
            return self._business("isv.BUSINESS_LIMIT_CONTROL", "触发分钟级流控Permits:1")
        if not (_MAINLAND.match(phone) or _INTERNATIONAL.match(phone)):
            return self._business("isv.MOBILE_NUMBER_ILLEGAL", "非法手机号")
        if q.get("SignName") != self.sign_name:
            return self._business("isv.SMS_SIGNATURE_ILLEGAL", "该账号下找不到对应签名")
        template = self.templates.get(q.get("TemplateCode", ""))
        if template is None:
            return self._business("isv.SMS_TEMPLATE_ILLEGAL", "该账号下找不到对应模板")
        try:
            params = json.loads(q.get("TemplateParam") or "{}")
        except json.JSONDecodeError:
            return self._business("isv.INVALID_JSON_PARAM", "JSON参数不合法,只接受字符串值")
        content = template
        for name in re.findall(r"\$\{(\w+)\}", template):
            if name not in params:
                return self._business("isv.TEMPLATE_MISSING_PARAMETERS", "模板缺少变量")
            content = content.replace("${" + name + "}", str(params[name]))
        biz_id = f"{len(self.messages) + 1:06d}{uuid.uuid4().hex[:10]}^0"
        now = datetime.now(BEIJING)
        self.messages.append(AliyunMessage(biz_id=biz_id, phone=phone, sign_name=self.sign_name,
                                           template_code=q["TemplateCode"], content=f"【{self.sign_name}】{content}",
                                           out_id=q.get("OutId"), sent_at=now))  # fmt: skip
        self.per_second[int(time.time())] += 1
        return web.json_response(
            {"RequestId": str(uuid.uuid4()), "Code": "OK", "Message": "OK", "BizId": biz_id}
        )

    def _query(self, request: web.Request) -> web.Response:
        q = request.query
        phone, send_date = q.get("PhoneNumber", ""), q.get("SendDate", "")
        size, page = int(q.get("PageSize", "10")), int(q.get("CurrentPage", "1"))
        if size > 50 or size < 1:
            return self._business("isv.INVALID_PARAMETERS", "PageSize 取值 1-50")
        rows = [m for m in self.messages if m.phone == phone and m.sent_at.strftime("%Y%m%d") == send_date]
        chunk = rows[(page - 1) * size : page * size]
        details = [{"PhoneNum": m.phone, "SendStatus": 3, "ErrCode": "DELIVERED", "TemplateCode": m.template_code,
                    "Content": m.content, "SendDate": m.sent_at.strftime("%Y-%m-%d %H:%M:%S"),
                    "ReceiveDate": m.sent_at.strftime("%Y-%m-%d %H:%M:%S"), "OutId": m.out_id or ""}
                   for m in chunk]  # fmt: skip
        return web.json_response({"RequestId": str(uuid.uuid4()), "Code": "OK", "Message": "OK",
                                  "TotalCount": len(rows), "SmsSendDetailDTOs": {"SmsSendDetailDTO": details}})  # fmt: skip
