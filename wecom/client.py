"""The WeCom server API on aiohttp: gettoken, message/send, user/getuserid and
message/update_template_card, with WeCom's error rules.

- The access token comes from TokenCache (Redis; one refresh at a time across processes). A
  request refused for its token (42001 expired, 40014 invalid) refreshes it once and is retried.
- Every request but gettoken first takes a slot of the shared rate limit (notifier.sending.
  ratelimit, WECOM_RATE_PER_SEC). A 45009 / 45033 (over WeCom's frequency or concurrency limit) or
  -1 (system busy) pauses every process for a backoff and is retried, up to `max_attempts`.
- A member the app cannot reach (no member with the number, not in the app's visible range,
  deleted) raises WecomUnreachableError, which the caller records; it is never retried.
- A message whose fate is unknown (the connection broke after it was sent) is not sent again.

wechatpy's WeChatClient is synchronous (requests), fetches its token from a fixed host and
retries token errors without end, so the requests are written here; its crypto is used for the
callbacks (wecom/callback.py).
"""

from __future__ import annotations

import asyncio
import logging
import random
from typing import Any

import aiohttp

from models import WecomState
from notifier.channels.wecom import WecomError, WecomUnreachableError
from notifier.core.settings import Settings
from notifier.sending.ratelimit import RateLimiter
from wecom import keys
from wecom.tokens import TokenCache

log = logging.getLogger("guatu.wecom")

TOKEN_ERRORS = frozenset({40014, 42001})
BUSY_ERRORS = frozenset({-1, 45009, 45033})
# No member with that number / userid (WeCom has answered both for user/getuserid).
NO_USER_ERRORS = frozenset({46004, 60111})
# The member exists but this app may not see it, or none of the recipients is valid for the app.
NOT_VISIBLE_ERRORS = frozenset({60011, 81013})
READABLE = {
    40001: "WECOM_SECRET 不正确 / WECOM_SECRET is wrong",
    40013: "WECOM_CORP_ID 不正确 / WECOM_CORP_ID is wrong",
    40056: "WECOM_AGENT_ID 不正确 / WECOM_AGENT_ID is wrong",
    60020: "本机 IP 不在应用的企业可信IP中 / this server's IP is not among the app's trusted IPs (企业可信IP)",
}


def _error(data: dict[str, Any], what: str) -> WecomError:
    code = int(data.get("errcode", -1))
    if code in NO_USER_ERRORS:
        return WecomUnreachableError(f"企业微信无此成员 / no such WeCom member ({code})", code=code)
    if code in NOT_VISIBLE_ERRORS:
        return WecomUnreachableError(f"成员不在应用可见范围 / member outside the app's visible range ({code})",
                                     code=code, state=WecomState.NOT_VISIBLE)  # fmt: skip
    message = READABLE.get(code) or str(data.get("errmsg", "")).split(",")[0]
    return WecomError(f"企业微信 {what} 失败 / WeCom {what} failed: {code} {message}", code=code,
                      transient=code in BUSY_ERRORS)  # fmt: skip


class WecomClient:
    """One app (corp id, agent id, secret); `redis` shares its token, lock, pause and rate limit."""

    def __init__(
        self, settings: Settings, redis: Any, *, max_attempts: int = 5, backoff_seconds: float = 1.0,
        timeout_seconds: float = 10.0,
    ) -> None:  # fmt: skip
        if not settings.wecom_configured:
            raise WecomError("企业微信未配置 / WeCom is not configured (WECOM_* settings)")
        assert settings.wecom_secret is not None
        self.corp_id = settings.wecom_corp_id or ""
        self.agent_id = int(settings.wecom_agent_id or 0)
        self._secret = settings.wecom_secret.get_secret_value()
        self.base = settings.wecom_api_base.rstrip("/")
        self.redis = redis
        self.max_attempts = max_attempts
        self.backoff_seconds = backoff_seconds
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._session: aiohttp.ClientSession | None = None
        names = {"corp_id": self.corp_id, "agent_id": self.agent_id}
        self.tokens = TokenCache(redis, key=keys.TOKEN.format(**names), lock_key=keys.TOKEN_LOCK.format(**names),
                                 fetch=self._gettoken)  # fmt: skip
        self.pause_key = keys.PAUSE.format(**names)
        self.limiter = RateLimiter(
            redis, rate_per_sec=settings.wecom_rate_per_sec, name=keys.RATE_NAME.format(**names)
        )

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self._session

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def _gettoken(self) -> tuple[str, int]:
        params = {"corpid": self.corp_id, "corpsecret": self._secret}
        data = await self._http_json(
            "GET", "/gettoken", params=params, json=None, what="gettoken", replay_safe=True
        )
        if int(data.get("errcode", 0)) != 0 or not data.get("access_token"):
            raise _error(data, "gettoken")
        return str(data["access_token"]), int(data.get("expires_in", 7200))

    async def _http_json(
        self, method: str, path: str, *, params: dict[str, Any], json: Any, what: str, replay_safe: bool
    ) -> dict[str, Any]:
        """One HTTP request. A failure before anything reached WeCom is retried once; after that,
        only `replay_safe` requests are (a message might have been delivered)."""
        for attempt in (1, 2):
            try:
                async with self._http().request(
                    method, self.base + path, params=params, json=json
                ) as response:
                    if response.status >= 500:
                        raise WecomError(f"企业微信 {what} HTTP {response.status} / WeCom {what} answered HTTP "
                                         f"{response.status}", transient=True)  # fmt: skip
                    data: dict[str, Any] = await response.json(content_type=None)
                    return data
            except aiohttp.ClientConnectorError as exc:
                error = WecomError(
                    f"无法连接企业微信 / cannot reach WeCom ({type(exc).__name__})", transient=True
                )
            except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
                error = WecomError(f"企业微信 {what} 无应答 / WeCom {what} failed ({type(exc).__name__})",
                                   transient=True)  # fmt: skip
                if not replay_safe:
                    raise error from None
            except WecomError as exc:
                if not replay_safe:
                    raise
                error = exc
            if attempt == 2:
                raise error
            await asyncio.sleep(self.backoff_seconds * random.uniform(0.5, 1.0))
        raise AssertionError("unreachable")

    async def _wait_pause(self) -> None:
        pause_ms = await self.redis.pttl(self.pause_key)
        if pause_ms and pause_ms > 0:
            await asyncio.sleep(pause_ms / 1000)

    async def call(
        self, path: str, body: dict[str, Any], *, what: str, replay_safe: bool = False
    ) -> dict[str, Any]:
        """POST `body` to `path` with the access token; WeCom's answer when errcode is 0."""
        token = await self.tokens.get()
        refreshed = False
        attempt = 0
        while True:
            await self._wait_pause()
            await self.limiter.acquire()
            data = await self._http_json("POST", path, params={"access_token": token}, json=body, what=what,
                                         replay_safe=replay_safe)  # fmt: skip
            code = int(data.get("errcode", 0))
            if code == 0:
                return data
            if code in TOKEN_ERRORS and not refreshed:
                log.info("WeCom refused the access token (%s); refreshing it once", code)
                token, refreshed = await self.tokens.refresh(token), True
                continue
            attempt += 1
            if code in BUSY_ERRORS and attempt < self.max_attempts:
                backoff = self.backoff_seconds * 2 ** (attempt - 1) * random.uniform(1.0, 1.5)
                # Shared: every process holds back, not only the one that was refused.
                await self.redis.set(self.pause_key, str(code), px=max(int(backoff * 1000), 1), nx=True)
                log.warning("WeCom %s: busy or over its rate limit (%s); pausing %.1f s", what, code, backoff)
                continue
            raise _error(data, what)

    async def userid_by_mobile(self, mobile: str) -> str:
        data = await self.call("/user/getuserid", {"mobile": mobile}, what="user/getuserid", replay_safe=True)
        return str(data["userid"])

    async def send_message(self, message: dict[str, Any]) -> dict[str, Any]:
        """message/send for one member (`touser`); a member WeCom lists as invalid is unreachable."""
        body = {**message, "agentid": self.agent_id}
        data = await self.call("/message/send", body, what="message/send")
        invalid = set(filter(None, str(data.get("invaliduser", "")).split("|")))
        if body.get("touser") in invalid:
            raise WecomUnreachableError(f"成员不在应用可见范围 / member {body['touser']} is not reachable",
                                        state=WecomState.NOT_VISIBLE)  # fmt: skip
        return data

    async def update_button(self, *, userid: str, response_code: str, replace_name: str) -> None:
        """Turn a pressed card's buttons into one unclickable label (the code is good once, 72 h)."""
        body = {"userids": [userid], "agentid": self.agent_id, "response_code": response_code,
                "button": {"replace_name": replace_name}}  # fmt: skip
        await self.call("/message/update_template_card", body, what="message/update_template_card")
