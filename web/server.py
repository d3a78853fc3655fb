"""uvicorn for the web app: timeouts that close slow clients, which proxies to believe, and an
access log with the tokens of report, read and wall links taken out."""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from notifier.core.settings import Settings

# A request's line and headers must be complete this long after the connection opens (or after the
# previous response): a client trickling in header bytes otherwise holds its connection forever.
HEADER_TIMEOUT = 10.0
KEEP_ALIVE_TIMEOUT = 5
MAX_HEADER_BYTES = 16 * 1024
# /r/<report token>, /r/<bulletin>/<person>/<signature>; ?k=<wall token>.
_LINK_PATH = re.compile(r"^(/r/)[^?]*")
_TOKEN_PARAM = re.compile(r"(?<=[?&])(k|token|signature)=[^&]*")


def redact(path: str) -> str:
    """The path and query as logged: link tokens and signatures replaced by "…"."""
    return _TOKEN_PARAM.sub(r"\1=…", _LINK_PATH.sub(r"\1…", path))


class RedactTokens(logging.Filter):
    """On uvicorn's access log, whose records carry (client, method, path, version, status)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], redact(args[2]), *args[3:])
        return True


def install_log_redaction() -> None:
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RedactTokens) for f in access.filters):
        access.addFilter(RedactTokens())


class HeaderTimeoutProtocol(H11Protocol):
    """uvicorn's h11 protocol, closing a connection whose request headers take over HEADER_TIMEOUT.

    uvicorn's own keep-alive timeout is cancelled by any byte received, so it does not stop a
    client that sends one byte every few seconds.
    """

    _header_timer: asyncio.TimerHandle | None = None

    def _arm(self) -> None:
        self._disarm()
        self._header_timer = self.loop.call_later(HEADER_TIMEOUT, self._headers_too_slow)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:
            self._disarm()  # the request's headers are in

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
            self._arm()  # waiting for the next request on this connection

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)


def build_server(settings: Settings, *, host: str, port: int, **options: Any) -> uvicorn.Server:
    """The uvicorn server for `create_app(settings)` on host:port."""
    from web.app import create_app

    config = uvicorn.Config(
        create_app(settings),
        host=host,
        port=port,
        log_level=options.pop("log_level", "info"),
        http=HeaderTimeoutProtocol,
        proxy_headers=True,
        forwarded_allow_ips=settings.trusted_proxies,
        timeout_keep_alive=KEEP_ALIVE_TIMEOUT,
        timeout_graceful_shutdown=10,
        h11_max_incomplete_event_size=MAX_HEADER_BYTES,
        server_header=False,
        **options,
    )
    install_log_redaction()
    return uvicorn.Server(config)
