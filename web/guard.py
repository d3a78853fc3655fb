"""What every request passes before a route sees it.

- No NUL byte in the path, the query string or a form's fields: PostgreSQL cannot store or even
  compare text holding one, so it is answered 400 here instead of failing deep inside a query.
- A request body keeps arriving: one that stalls for BODY_IDLE_SECONDS is answered 408.
- An answer given before the request's body was read (a refusal, a redirect to the sign-in page)
  closes the connection, so the server does not go on reading (and discarding) the rest of it.

The size limits themselves are FastAPI's per-route `max_body_size` (see web/app.py).
"""

from __future__ import annotations

import asyncio

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

BODY_IDLE_SECONDS = 20.0
DRAIN_LIMIT = 256 * 1024  # a refused form's remainder read before answering (see _Exchange._drain)
_MESSAGES = {
    400: "请求含有无法处理的字符(NUL)/ the request holds a NUL character",
    408: "请求内容传输过慢 / the request body arrived too slowly",
}


class Refused(Exception):
    def __init__(self, status_code: int) -> None:
        super().__init__(_MESSAGES[status_code])
        self.status_code = status_code


def has_nul(query_string: bytes) -> bool:
    """A raw NUL or a %00 escape anywhere in a query string or urlencoded body."""
    return b"\x00" in query_string or b"%00" in query_string


class _NulScan:
    """Looks for NUL across a body's chunks (an escape may straddle two)."""

    def __init__(self, needles: tuple[bytes, ...]) -> None:
        self.needles = needles
        self.tail = b""

    def found(self, chunk: bytes) -> bool:
        window = self.tail + chunk
        self.tail = window[-2:]
        return any(needle in window for needle in self.needles)


def _scan_for(scope: Scope, binary_paths: tuple[str, ...]) -> _NulScan | None:
    if scope["path"].startswith(binary_paths):
        return None  # an uploaded file may hold any byte; its text fields are short and checked there
    content_type = Headers(scope=scope).get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type == "application/x-www-form-urlencoded":
        return _NulScan((b"\x00", b"%00"))
    if content_type == "multipart/form-data":
        return _NulScan((b"\x00",))
    return None  # JSON (Telegram) carries text the bot checks itself


async def _send_refusal(send: Send, status_code: int) -> None:
    body = _MESSAGES.get(status_code, "").encode()
    await send({"type": "http.response.start", "status": status_code,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})  # fmt: skip
    await send({"type": "http.response.body", "body": body})


class RequestGuard:
    """ASGI middleware; `binary_paths` are routes whose bodies are files (not scanned for NUL)."""

    def __init__(self, app: ASGIApp, *, binary_paths: tuple[str, ...] = ()) -> None:
        self.app = app
        self.binary_paths = binary_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if "\x00" in scope["path"] or has_nul(scope["query_string"]):
            await _send_refusal(send, 400)
            return
        headers = Headers(scope=scope)
        has_body = "transfer-encoding" in headers or headers.get("content-length", "0") not in ("", "0")
        exchange = _Exchange(receive, send, _scan_for(scope, self.binary_paths), has_body=has_body)
        await exchange.run(self.app, scope)


class _Exchange:
    """One request and its response, as the guard watches them."""

    def __init__(self, receive: Receive, send: Send, scan: _NulScan | None, *, has_body: bool) -> None:
        self._receive, self._send, self.scan = receive, send, scan
        self.refused: int | None = None
        self.started = False
        self.body_done = not has_body

    async def run(self, app: ASGIApp, scope: Scope) -> None:
        try:
            await app(scope, self.receive, self.send)
        except Exception:
            if self.refused is None:
                raise
        if self.refused is not None and not self.started:
            await _send_refusal(self._send, self.refused)

    def _refuse(self, status_code: int) -> Refused:
        self.refused = status_code
        return Refused(status_code)

    async def receive(self) -> Message:
        if self.body_done:
            return await self._receive()  # only a disconnect is left to wait for
        try:
            message = await asyncio.wait_for(self._receive(), BODY_IDLE_SECONDS)
        except TimeoutError:
            raise self._refuse(408) from None
        if message["type"] == "http.request":
            self.body_done = not message.get("more_body", False)
            if self.scan is not None and self.scan.found(message.get("body", b"")):
                await self._drain()
                raise self._refuse(400)
        return message

    async def _drain(self) -> None:
        """Read what is left of a small body before refusing it: a connection closed on unread data
        is reset, and the client may lose the answer with it."""
        left = DRAIN_LIMIT
        while not self.body_done and left > 0:
            try:
                message = await asyncio.wait_for(self._receive(), BODY_IDLE_SECONDS)
            except TimeoutError:
                return
            if message["type"] != "http.request":
                return
            left -= len(message.get("body", b""))
            self.body_done = not message.get("more_body", False)

    async def send(self, message: Message) -> None:
        if self.refused is not None:
            # The app answered our refusal its own way (often a 400 "error parsing the body"): ours goes instead.
            if not self.started:
                self.started = True
                await _send_refusal(self._send, self.refused)
            return
        if message["type"] == "http.response.start":
            self.started = True
            if not self.body_done:
                MutableHeaders(scope=message)["connection"] = "close"
        await self._send(message)
