"""CSRF, password hashing and the security headers of every response."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hmac
import os
import secrets
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import Request, Response
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from notifier.core.settings import Settings

CSRF_COOKIE = "guatu_csrf"
# Two hashes at once: each takes ~64 MiB and most of a core for most of a second, and the event
# loop must keep a core for everything else (health checks, the wall, webhooks).
HASH_SLOTS = 2
HASH_NICENESS = 10
# No inline script or style anywhere: an injected <script> or style= attribute does nothing.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
HSTS = "max-age=31536000"
_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    """An argon2id hash of `password`."""
    return _hasher.hash(password)


@functools.cache
def _dummy_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(16))


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when `password` matches; a missing or malformed hash never matches.

    Without a hash (no such admin) a dummy one is checked, so an unknown name costs as long as a
    wrong password and the answer's timing does not tell which names exist.
    """
    try:
        return _hasher.verify(password_hash or _dummy_hash(), password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def _lower_priority() -> None:
    # Linux gives each thread its own nice value, inherited by the threads argon2 starts for its
    # lanes: hashing then yields the CPU to the event loop instead of starving it.
    if sys.platform == "linux":
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), HASH_NICENESS)


class PasswordCheck:
    """Password checks off the event loop: HASH_SLOTS at once in threads of low priority, the others
    waiting their turn."""

    def __init__(self, slots: int = HASH_SLOTS) -> None:
        self._pool = ThreadPoolExecutor(
            max_workers=slots, thread_name_prefix="guatu-hash", initializer=_lower_priority
        )

    async def warm(self) -> None:
        """Make the dummy hash now rather than during the first unknown name's sign-in."""
        await asyncio.get_running_loop().run_in_executor(self._pool, _dummy_hash)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        return await asyncio.get_running_loop().run_in_executor(
            self._pool, verify_password, password_hash, password
        )

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def is_https(settings: Settings) -> bool:
    return (settings.public_base_url or "").lower().startswith("https://")


def csrf_token(request: Request) -> str:
    """The double-submit CSRF token for this browser (made on first use; `ensure_csrf_cookie` sets it)."""
    token = getattr(request.state, "csrf", None) or request.cookies.get(CSRF_COOKIE)
    if not token:
        token = secrets.token_urlsafe(24)
        request.state.csrf = token
    return str(token)


def _set_csrf_cookie(response: Response, settings: Settings, token: str) -> None:
    response.set_cookie(CSRF_COOKIE, token, httponly=True, samesite="strict", secure=is_https(settings))


def ensure_csrf_cookie(request: Request, response: Response) -> None:
    if not request.cookies.get(CSRF_COOKIE):
        _set_csrf_cookie(response, request.app.state.settings, csrf_token(request))


def rotate_csrf(request: Request, response: Response) -> None:
    """A new token at sign-in: a token planted or read before signing in is worth nothing after."""
    token = secrets.token_urlsafe(24)
    request.state.csrf = token
    _set_csrf_cookie(response, request.app.state.settings, token)


def csrf_ok(request: Request, submitted: str | None) -> bool:
    """A form's hidden token must equal the browser's cookie (another site can read neither)."""
    cookie = request.cookies.get(CSRF_COOKIE)
    return bool(cookie and submitted and hmac.compare_digest(cookie, submitted))


class SecurityHeaders:
    """Adds the security headers to every response (HSTS only when the public URL is https)."""

    def __init__(self, app: ASGIApp, *, https: bool) -> None:
        self.app = app
        self.headers = {
            "Content-Security-Policy": CSP,
            "X-Content-Type-Options": "nosniff",
            # Wall and report links carry their token in the URL: never send it on as a Referer.
            "Referrer-Policy": "no-referrer",
            "X-Frame-Options": "DENY",
        }
        if https:
            self.headers["Strict-Transport-Security"] = HSTS

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.headers.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)
