"""Admin sessions, CSRF, password hashing and login throttling for the web pages."""

from __future__ import annotations

import hmac
import secrets
import time
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import Request, Response
from itsdangerous import BadSignature, SignatureExpired, TimestampSigner

from notifier.core.settings import Settings
from notifier.reporting.links import secret_key

SESSION_COOKIE = "guatu_session"
CSRF_COOKIE = "guatu_csrf"
SESSION_MAX_AGE = 12 * 3600
MAX_LOGIN_FAILURES = 5
THROTTLE_SECONDS = 15 * 60
_hasher = PasswordHasher()
# Used only when no Redis is configured (one process serving everything).
_local_failures: dict[str, tuple[int, float]] = {}


def hash_password(password: str) -> str:
    """An argon2id hash of `password`."""
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when `password` matches; a missing or malformed hash never matches."""
    if not password_hash:
        _hasher.hash(password)  # same cost whether or not the name exists
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _signer(settings: Settings) -> TimestampSigner:
    return TimestampSigner(secret_key(settings), salt="guatu.admin-session")


def set_session(response: Response, settings: Settings, person_id: int) -> None:
    value = _signer(settings).sign(f"{person_id}:{secrets.token_urlsafe(8)}").decode()
    secure = (settings.public_base_url or "").startswith("https://")
    response.set_cookie(
        SESSION_COOKIE, value, max_age=SESSION_MAX_AGE, httponly=True, samesite="lax", secure=secure
    )


def clear_session(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE)


def session_person_id(request: Request, settings: Settings) -> int | None:
    """The admin's person id from a valid, unexpired session cookie, else None."""
    raw = request.cookies.get(SESSION_COOKIE)
    if not raw:
        return None
    try:
        value = _signer(settings).unsign(raw, max_age=SESSION_MAX_AGE).decode()
        return int(value.split(":", 1)[0])
    except (BadSignature, SignatureExpired, ValueError):
        return None


def csrf_token(request: Request) -> str:
    """The double-submit CSRF token for this browser (made on first use; `ensure_csrf_cookie` sets it)."""
    token = request.cookies.get(CSRF_COOKIE) or getattr(request.state, "csrf", None)
    if not token:
        token = secrets.token_urlsafe(24)
        request.state.csrf = token
    return str(token)


def ensure_csrf_cookie(request: Request, response: Response) -> None:
    if not request.cookies.get(CSRF_COOKIE):
        response.set_cookie(CSRF_COOKIE, csrf_token(request), httponly=True, samesite="strict")


def csrf_ok(request: Request, submitted: str | None) -> bool:
    """A form's hidden token must equal the browser's cookie (another site can read neither)."""
    cookie = request.cookies.get(CSRF_COOKIE)
    return bool(cookie and submitted and hmac.compare_digest(cookie, submitted))


def _throttle_key(ip: str, name: str) -> str:
    return f"guatu:login-fail:{ip}:{name.strip().lower()}"


async def login_blocked(redis: Any, *, ip: str, name: str) -> bool:
    """True after MAX_LOGIN_FAILURES failed tries for this IP and name within THROTTLE_SECONDS."""
    key = _throttle_key(ip, name)
    if redis is None:
        count, since = _local_failures.get(key, (0, 0.0))
        return count >= MAX_LOGIN_FAILURES and time.monotonic() - since < THROTTLE_SECONDS
    value = await redis.get(key)
    return int(value or 0) >= MAX_LOGIN_FAILURES


async def record_login_failure(redis: Any, *, ip: str, name: str) -> None:
    key = _throttle_key(ip, name)
    if redis is None:
        count, since = _local_failures.get(key, (0, time.monotonic()))
        _local_failures[key] = (count + 1, since)
        return
    count = await redis.incr(key)
    if count == 1:
        await redis.expire(key, THROTTLE_SECONDS)


async def clear_login_failures(redis: Any, *, ip: str, name: str) -> None:
    key = _throttle_key(ip, name)
    if redis is None:
        _local_failures.pop(key, None)
        return
    await redis.delete(key)
