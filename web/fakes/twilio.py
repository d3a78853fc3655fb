"""A local fake of Twilio's Messages API, for tests, the demo and the benchmark.

It serves what twilio-python's own client calls — POST and GET (list, `To` / `DateSent>` /
`DateSent<` filters, Twilio's paging shape) on `/2010-04-01/Accounts/{AccountSid}/Messages.json`
and GET of one message — with Twilio's JSON resource and error shapes, checks Basic auth, and
POSTs status callbacks (`sent`, then `delivered` or `undelivered`) to each message's
StatusCallback, signed with X-Twilio-Signature exactly as Twilio signs them.

Faults are knobs that may change while it runs (or through `POST /__control`): throttling (429 /
20429), server errors (500 / 20500), latency and latency spikes, numbers that always fail with a
given code, status callbacks delivered before the create call answers (`callbacks_first`), and
answering only after the client gave up although the message was accepted
(`hang_after_accept_ms`). As at Twilio, `date_sent` stays null until the message is sent and the
price is known only once it is. Every random draw comes from one seeded generator, so a run is
reproducible. `GET /__stats` says what was accepted (total, per number, per second); with
`exchanges` set to a list, every request and answer is kept there, for checking against Twilio's
OpenAPI description in the tests.
"""

from __future__ import annotations

import asyncio
import base64
import hmac
import random
import re
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import web
from twilio.request_validator import RequestValidator

from notifier.core.settings import Settings, load_settings
from notifier.sending.segments import segment_info
from web.fakes import serve

API = "/2010-04-01"
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_MESSAGES = re.compile(r"^/2010-04-01/Accounts/(?P<account>[^/]+)/Messages(?:/(?P<sid>[^/]+))?\.json$")
ERROR_MESSAGES = {
    20003: "Authenticate",
    20404: "The requested resource was not found",
    20429: "Too Many Requests",
    20500: "An internal server error has occurred",
    21211: "The 'To' number {to} is not a valid phone number.",
    21408: "Permission to send an SMS has not been enabled for the region indicated by the 'To' number: {to}.",
    21602: "Message body is required.",
    21604: "A 'To' phone number is required.",
    21606: "The 'From' phone number provided is not a valid message-capable Twilio phone number.",
    21610: "Attempt to send to unsubscribed recipient",
    21614: "'To' number is not a valid mobile number",
}


def rfc2822(moment: datetime) -> str:
    """Twilio's date format: 'Tue, 24 Nov 2026 10:00:00 +0000'."""
    return format_datetime(moment.astimezone(UTC).replace(microsecond=0))


def max_in_window(times: list[float], window: float) -> int:
    """The most events in any sliding window of `window` seconds (not just calendar seconds)."""
    ordered = sorted(times)
    best = start = 0
    for end, moment in enumerate(ordered):
        while moment - ordered[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


@dataclass(frozen=True)
class Exchange:
    """One request the fake answered, as it arrived and as it was answered."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    status: int
    content_type: str
    response: bytes


@dataclass
class FakeMessage:
    sid: str
    account_sid: str
    to: str
    from_: str | None
    messaging_service_sid: str | None
    body: str
    status: str
    status_callback: str | None
    created: datetime
    segments: int
    error_code: int | None = None
    sent: datetime | None = None
    price: str | None = None

    def resource(self) -> dict[str, Any]:
        """The message as Twilio's JSON resource."""
        uri = f"{API}/Accounts/{self.account_sid}/Messages/{self.sid}.json"
        return {
            "account_sid": self.account_sid,
            "api_version": "2010-04-01",
            "body": self.body,
            "date_created": rfc2822(self.created),
            "date_sent": rfc2822(self.sent) if self.sent else None,
            "date_updated": rfc2822(self.sent or self.created),
            "direction": "outbound-api",
            "error_code": self.error_code,
            "error_message": ERROR_MESSAGES.get(self.error_code or 0, "").format(to=self.to) or None,
            "from": self.from_,
            "messaging_service_sid": self.messaging_service_sid,
            "num_media": "0",
            "num_segments": str(self.segments),
            "price": self.price,
            "price_unit": "USD",
            "sid": self.sid,
            "status": self.status,
            "subresource_uris": {"media": uri.replace(".json", "/Media.json")},
            "to": self.to,
            "uri": uri,
        }


@dataclass
class FakeTwilio:
    """The fake server. Knobs may be changed between (and during) requests."""

    account_sid: str = "AC" + "f" * 32
    auth_token: str = "fake-twilio-auth-token"
    seed: int = 42
    latency_ms: int = 0
    spike_rate: float = 0.0
    spike_ms: int = 0
    throttle_rate: float = 0.0
    fail_rate: float = 0.0
    # Numbers that always fail with a permanent Twilio code (21211 invalid, 21610 unsubscribed...).
    permanent: dict[str, int] = field(default_factory=dict)
    # Numbers whose callbacks end `undelivered` (30003 unreachable) instead of `delivered`.
    undeliverable: set[str] = field(default_factory=set)
    send_callbacks: bool = True
    # Carriers report back after a moment; an instant callback could outrun the sender recording the SID.
    callback_delay_ms: int = 500
    # Deliver every status callback before answering the create call (a real race at scale).
    callbacks_first: bool = False
    # Accept the message, then answer only after this long (the client has timed out by then).
    hang_after_accept_ms: int = 0
    # When a list: every (request, response) pair, as `Exchange`, for the OpenAPI checks.
    exchanges: list[Exchange] | None = None
    messages: list[FakeMessage] = field(default_factory=list)
    rejected: Counter[int] = field(default_factory=Counter)
    per_second: Counter[int] = field(default_factory=Counter)
    callbacks: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._by_to: dict[str, list[FakeMessage]] = defaultdict(list)
        self._by_sid: dict[str, FakeMessage] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._accepted_at: list[float] = []
        self._runner: web.AppRunner | None = None
        self._http: aiohttp.ClientSession | None = None
        self.host = "127.0.0.1"
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def settings(self, **overrides: Any) -> Settings:
        """Settings that point TwilioProvider (SMS_BACKEND=twilio) at this fake."""
        values: dict[str, Any] = {
            "sms_backend": "twilio",
            "twilio_account_sid": self.account_sid,
            "twilio_auth_token": self.auth_token,
            "twilio_from": "+15005550006",
            "twilio_base_url": self.base_url,
            "_env_file": None,
        }
        values.update(overrides)
        return load_settings(**values)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/__stats", self._stats)
        app.router.add_post("/__control", self._control)
        app.router.add_route("*", "/{tail:.*}", self._api)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> FakeTwilio:
        """Serve on host:port (port 0 picks a free one)."""
        self._runner, self.port = await serve(self.app(), host, port)
        self.host = host
        return self

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._http is not None:
            await self._http.close()
            self._http = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def drain_callbacks(self, timeout: float = 10.0) -> None:
        """Wait until every scheduled status callback has been delivered (or failed)."""
        if self._tasks:
            await asyncio.wait_for(asyncio.gather(*list(self._tasks), return_exceptions=True), timeout)

    def stats(self) -> dict[str, Any]:
        """What was accepted: total, per number, per second, and what was refused by code."""
        return {
            "messages": len(self.messages),
            "by_to": {to: len(rows) for to, rows in self._by_to.items()},
            "per_second": {str(second): n for second, n in sorted(self.per_second.items())},
            "max_per_second": max(self.per_second.values(), default=0),
            "max_in_any_second": max_in_window(self._accepted_at, 1.0),
            # First to last acceptance: the rate the fake saw, free of the client's start-up and polling.
            "span_seconds": round(max(self._accepted_at) - min(self._accepted_at), 3)
            if self._accepted_at
            else 0.0,
            "rejected": {str(code): n for code, n in self.rejected.items()},
            "callbacks": dict(self.callbacks),
        }

    def reset(self) -> None:
        """Forget every message and counter (between benchmark phases); knobs are kept."""
        self.messages.clear()
        self._by_to.clear()
        self._by_sid.clear()
        self._accepted_at.clear()
        self.rejected.clear()
        self.per_second.clear()
        self.callbacks.clear()

    # -- HTTP handlers -------------------------------------------------------------------

    async def _stats(self, _request: web.Request) -> web.Response:
        return web.json_response(self.stats())

    async def _control(self, request: web.Request) -> web.Response:
        data = await request.json()
        knobs = ("latency_ms", "spike_rate", "spike_ms", "throttle_rate", "fail_rate", "send_callbacks",
                 "callback_delay_ms", "callbacks_first", "hang_after_accept_ms")  # fmt: skip
        for knob in knobs:
            if knob in data:
                setattr(self, knob, data[knob])
        if "undeliverable" in data:
            self.undeliverable = {str(number) for number in data["undeliverable"]}
        if "permanent" in data:
            self.permanent = {str(k): int(v) for k, v in data["permanent"].items()}
        if "seed" in data:
            self._rng = random.Random(int(data["seed"]))
        if data.get("reset"):
            self.reset()
        return web.json_response({"ok": True})

    def _error(self, status: int, code: int, **values: str) -> web.Response:
        self.rejected[code] += 1
        message = ERROR_MESSAGES.get(code, "Error").format(**values)
        return web.json_response(
            {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}",
             "status": status},
            status=status,
        )  # fmt: skip

    def _authorized(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        return hmac.compare_digest(user, self.account_sid) and hmac.compare_digest(password, self.auth_token)

    async def _api(self, request: web.Request) -> web.Response:
        if self.exchanges is None:
            return await self._answer(request)
        body = await request.read()
        response = await self._answer(request)
        assert isinstance(response.body, bytes)
        self.exchanges.append(Exchange(method=request.method, path=request.path, query=request.query_string,
                                       headers=dict(request.headers), body=body, status=response.status,
                                       content_type=response.content_type, response=response.body))  # fmt: skip
        return response

    async def _answer(self, request: web.Request) -> web.Response:
        delay = self.latency_ms
        if self.spike_rate and self._rng.random() < self.spike_rate:
            delay += int(self.spike_ms * self._rng.uniform(0.2, 1.0))  # a spike of up to spike_ms
        if delay:
            await asyncio.sleep(delay / 1000)
        if not self._authorized(request):
            return self._error(401, 20003)
        match = _MESSAGES.match(request.path)
        if match is None or match["account"] != self.account_sid:
            return self._error(404, 20404)
        if match["sid"]:
            message = self._by_sid.get(match["sid"])
            return web.json_response(message.resource()) if message else self._error(404, 20404)
        if request.method == "POST":
            return await self._create(request)
        if request.method == "GET":
            return self._list(request)
        return self._error(405, 20404)

    async def _create(self, request: web.Request) -> web.Response:
        form = await request.post()
        to, body = str(form.get("To", "")), str(form.get("Body", ""))
        sender, service = form.get("From"), form.get("MessagingServiceSid")
        # Faults are drawn before validation, like an overloaded edge answering before the API.
        draw = self._rng.random()
        if draw < self.throttle_rate:
            return self._error(429, 20429)
        if draw < self.throttle_rate + self.fail_rate:
            return self._error(500, 20500)
        if not to:
            return self._error(400, 21604)
        if not _E164.match(to):
            return self._error(400, 21211, to=to)
        if to in self.permanent:
            return self._error(400, self.permanent[to], to=to)
        if not body:
            return self._error(400, 21602)
        if not (sender or service):
            return self._error(400, 21606)
        message = FakeMessage(
            sid=f"SM{self._rng.getrandbits(128):032x}", account_sid=self.account_sid, to=to,
            from_=str(sender) if sender else None, messaging_service_sid=str(service) if service else None,
            body=body, status="accepted" if service else "queued",
            status_callback=str(form["StatusCallback"]) if form.get("StatusCallback") else None,
            created=datetime.now(UTC), segments=segment_info(body).segments,
        )  # fmt: skip
        self.messages.append(message)
        self._by_to[to].append(message)
        self._by_sid[message.sid] = message
        now = time.time()
        self.per_second[int(now)] += 1
        self._accepted_at.append(now)
        answer = message.resource()  # as created: the callbacks below change the stored message
        if message.status_callback and self.send_callbacks:
            if self.callbacks_first:
                await self._deliver(message, delay_ms=0)
            else:
                task = asyncio.create_task(self._deliver(message, delay_ms=self.callback_delay_ms))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
        if self.hang_after_accept_ms:
            await asyncio.sleep(self.hang_after_accept_ms / 1000)
        return web.json_response(answer, status=201)

    def _list(self, request: web.Request) -> web.Response:
        q = request.query
        rows = self._by_to.get(q["To"], []) if "To" in q else self.messages
        after, before, on = q.get("DateSent>"), q.get("DateSent<"), q.get("DateSent")
        try:
            # As at Twilio, the DateSent filters read date_sent: a message not yet sent matches none.
            if after:
                rows = [m for m in rows if m.sent and m.sent.date() >= date.fromisoformat(after[:10])]
            if before:
                rows = [m for m in rows if m.sent and m.sent.date() <= date.fromisoformat(before[:10])]
            if on:
                rows = [m for m in rows if m.sent and m.sent.date() == date.fromisoformat(on[:10])]
            size = max(1, min(1000, int(q.get("PageSize", "50"))))
            page = max(0, int(q.get("Page", "0")))
        except ValueError:
            return self._error(400, 20404)
        rows = sorted(rows, key=lambda m: m.created, reverse=True)  # Twilio lists newest first
        chunk = rows[page * size : (page + 1) * size]
        base = {k: v for k, v in q.items() if k not in ("Page", "PageToken")}
        path = request.path

        def page_uri(number: int) -> str:
            return f"{path}?{urlencode({**base, 'PageSize': size, 'Page': number})}"

        has_next = (page + 1) * size < len(rows)
        payload = {
            "messages": [m.resource() for m in chunk],
            "first_page_uri": page_uri(0),
            "next_page_uri": page_uri(page + 1) if has_next else None,
            "previous_page_uri": page_uri(page - 1) if page > 0 else None,
            "page": page,
            "page_size": size,
            "start": page * size,
            "end": page * size + max(len(chunk) - 1, 0),
            "uri": page_uri(page),
        }
        return web.json_response(payload)

    # -- status callbacks ----------------------------------------------------------------

    def sign(self, url: str, params: dict[str, str]) -> str:
        """X-Twilio-Signature for a POST of `params` to `url`, as Twilio computes it."""
        return str(RequestValidator(self.auth_token).compute_signature(url, params))

    async def _deliver(self, message: FakeMessage, *, delay_ms: int) -> None:
        assert message.status_callback
        if self._http is None:
            self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        final = "undelivered" if message.to in self.undeliverable else "delivered"
        for status in ("sent", final):
            if delay_ms:
                await asyncio.sleep(delay_ms / 1000)
            message.status = status
            if status == "sent":
                message.sent = datetime.now(UTC)
                message.price = f"-{Decimal('0.0400') * message.segments}"
            if status == "undelivered":
                message.error_code = 30003
            params = {
                "AccountSid": self.account_sid, "ApiVersion": "2010-04-01", "From": message.from_ or "",
                "MessageSid": message.sid, "MessageStatus": status, "SmsSid": message.sid,
                "SmsStatus": status, "To": message.to,
            }  # fmt: skip
            if message.error_code:
                params["ErrorCode"] = str(message.error_code)
            headers = {"X-Twilio-Signature": self.sign(message.status_callback, params)}
            try:
                async with self._http.post(message.status_callback, data=params, headers=headers) as response:
                    self.callbacks[f"http_{response.status}"] += 1
            except (TimeoutError, aiohttp.ClientError, OSError):
                self.callbacks["unreachable"] += 1
