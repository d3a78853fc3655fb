"""Twilio Programmable Messaging through twilio-python's own async client.

`TWILIO_BASE_URL` points the very same client at another base URL (the local fake in tests, the
demo and the benchmark); it is unset in production. Edge and region are never set then, because
twilio-python would rewrite the host and the request would leave the loopback.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

import aiohttp
from twilio.base.exceptions import TwilioException, TwilioRestException, TwilioServiceException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from notifier.core.errors import SettingsError
from notifier.core.settings import Settings
from notifier.sending.codes import TWILIO_OPT_OUT, Action, twilio_action
from notifier.sending.providers.base import ProviderError, SendResult, SentMessage, TemplateUse

STATUS_PATH = "/webhooks/twilio/status"
# Twilio's code for "Too Many Requests"; the library never retries it, so backoff is ours.
THROTTLED = 20429
# Reconciliation reads at most this many of a number's messages, newest first (one page).
_LIST_LIMIT = 1000
# Raised once the request may have left: Twilio may have created the message.
_MAYBE_SENT = (TimeoutError, aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError,
               aiohttp.ClientResponseError, ConnectionResetError)  # fmt: skip


def status_callback_url(settings: Settings) -> str | None:
    """Where Twilio should POST status updates: PUBLIC_BASE_URL + /webhooks/twilio/status, if set."""
    if not settings.public_base_url:
        return None
    return settings.public_base_url.rstrip("/") + STATUS_PATH


def classify(exc: BaseException) -> ProviderError:
    """Map whatever the client raised to a ProviderError with the action Twilio's code calls for
    (notifier.sending.codes.TWILIO), or an unknown outcome when the request may have got through."""
    if isinstance(exc, TwilioRestException | TwilioServiceException):
        code = int(exc.code) if isinstance(exc.code, int) else None
        status = int(exc.status) if exc.status else None
        detail = exc.msg if isinstance(exc, TwilioRestException) else (exc.detail or exc.title)
        return ProviderError(
            f"Twilio 拒绝了请求(HTTP {status},错误码 {code}):{detail}",
            code=code,
            status=status,
            action=twilio_action(code, status),
            provider_code=str(code) if code is not None else (str(status) if status else None),
            opt_out=code in TWILIO_OPT_OUT,
        )
    if isinstance(exc, aiohttp.ClientConnectorError):  # never connected: nothing was sent
        return ProviderError(f"连接 Twilio 失败:{exc!r}", action=Action.RETRY)
    if isinstance(exc, _MAYBE_SENT):
        return ProviderError(f"Twilio 请求超时或连接中断,结果未知:{exc!r}", outcome_unknown=True,
                             provider_code="timeout")  # fmt: skip
    if isinstance(exc, aiohttp.ClientError | OSError):
        return ProviderError(f"连接 Twilio 失败:{exc!r}", action=Action.RETRY)
    # Any other TwilioException (an unreadable answer to a create) may hide a created message.
    return ProviderError(f"Twilio 客户端错误:{exc}", outcome_unknown=True, provider_code="client_error")


def _price(value: object) -> Decimal | None:
    try:
        return Decimal(str(value)) if value not in (None, "") else None
    except InvalidOperation:
        return None


class _TimedHttpClient(AsyncTwilioHttpClient):
    """AsyncTwilioHttpClient that applies its own timeout: the library passes `timeout=None` per
    request, which aiohttp reads as "no timeout at all"."""

    async def request(  # type: ignore[override]
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        return await super().request(method, url, params=params, data=data, headers=headers, auth=auth,
                                     timeout=timeout or self.timeout, allow_redirects=allow_redirects)  # fmt: skip


class TwilioProvider:
    """SmsProvider on Twilio's Messages API (`messages.create_async` / `messages.list_async`)."""

    name = "twilio"

    def __init__(self, settings: Settings, *, timeout_seconds: float = 10.0, pool_size: int = 200) -> None:
        if not settings.twilio_configured:
            raise SettingsError("Twilio 未配置:需要 TWILIO_ACCOUNT_SID 和 TWILIO_AUTH_TOKEN")
        if not (settings.twilio_messaging_service_sid or settings.twilio_from):
            raise SettingsError("Twilio 未配置:需要 TWILIO_MESSAGING_SERVICE_SID 或 TWILIO_FROM")
        assert settings.twilio_auth_token is not None
        self._account_sid = settings.twilio_account_sid or ""
        self._auth_token = settings.twilio_auth_token.get_secret_value()
        self._service_sid = settings.twilio_messaging_service_sid
        self._from = settings.twilio_from
        self._base_url = settings.twilio_base_url
        self._default_callback = status_callback_url(settings)
        self._timeout = timeout_seconds
        self._pool_size = pool_size
        self._client: Client | None = None
        self._http: _TimedHttpClient | None = None

    def _ensure_client(self) -> Client:
        # Built on first use, inside the running loop: aiohttp sessions belong to one loop.
        if self._client is None:
            http = _TimedHttpClient(pool_connections=False, timeout=self._timeout)
            http.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=self._pool_size))
            client = Client(self._account_sid, self._auth_token, http_client=http)
            if self._base_url:
                client.api.base_url = self._base_url.rstrip("/")
            self._http, self._client = http, client
        return self._client

    async def send(
        self,
        *,
        to: str,
        body: str,
        status_callback: str | None = None,
        reference: str | None = None,
        template: TemplateUse | None = None,
    ) -> SendResult:
        """Create one message; raise ProviderError (with Twilio's code and what to do about it).
        Twilio has no field for our reference: reconciliation matches the number, time and body."""
        client = self._ensure_client()
        params: dict[str, str] = {"to": to, "body": body}
        if self._service_sid:
            params["messaging_service_sid"] = self._service_sid
        else:
            params["from_"] = self._from or ""
        callback = status_callback or self._default_callback
        if callback:
            params["status_callback"] = callback
        try:
            message = await client.messages.create_async(**params)
        except (TimeoutError, TwilioException, aiohttp.ClientError, OSError) as exc:
            raise classify(exc) from exc
        return SendResult(sid=str(message.sid), status=str(message.status or "queued"), provider=self.name,
                          price=_price(message.price), price_unit=message.price_unit)  # fmt: skip

    async def find_sent(self, *, to: str, since: datetime) -> list[SentMessage]:
        """Messages to `to` created at or after `since`.

        No `DateSent` filter: Twilio leaves `date_sent` null until the carrier has the message, so a
        message still queued (exactly the one a timed-out create may have made) would be missed. The
        number's newest messages are read instead and narrowed by `date_created` here.
        """
        client = self._ensure_client()
        since_utc = since.astimezone(UTC) if since.tzinfo else since.replace(tzinfo=UTC)
        try:
            records = await client.messages.list_async(to=to, limit=_LIST_LIMIT, page_size=_LIST_LIMIT)
        except (TimeoutError, TwilioException, aiohttp.ClientError, OSError) as exc:
            raise classify(exc) from exc
        found: list[SentMessage] = []
        for record in records:
            created = record.date_created
            if created is None or created < since_utc.replace(microsecond=0):
                continue
            found.append(
                SentMessage(sid=str(record.sid), to=str(record.to), body=str(record.body or ""),
                            status=str(record.status or ""), date_created=created, provider=self.name,
                            error_code=record.error_code, price=_price(record.price),
                            price_unit=record.price_unit)
            )  # fmt: skip
        return found

    async def aclose(self) -> None:
        if self._http is not None and self._http.session is not None:
            await self._http.session.close()
        self._http = self._client = None
