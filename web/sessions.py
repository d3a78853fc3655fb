"""Admin sessions kept in the database: a cookie is only good while its row exists and has not expired.

Signing out deletes the browser's row; a password change and `guatu admin revoke NAME` delete all of
an admin's rows. Only the SHA-256 of the cookie's random token is stored.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta

from fastapi import Request, Response
from sqlalchemy import delete
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import AdminSession, Person, Role, utcnow
from notifier.core.settings import Settings
from web.security import is_https

SESSION_COOKIE = "guatu_session"
SESSION_MAX_AGE = 12 * 3600
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}$")  # token_urlsafe(32)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def start_session(session: AsyncSession, *, person_id: int, now: datetime | None = None) -> str:
    """A new session for the admin (commits); the token for the cookie. Expired rows are swept here."""
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    await session.exec(delete(AdminSession).where(col(AdminSession.expires_at) <= now))
    session.add(AdminSession(token_hash=_digest(token), person_id=person_id, created_at=now,
                             expires_at=now + timedelta(seconds=SESSION_MAX_AGE)))  # fmt: skip
    await session.commit()
    return token


async def session_admin(session: AsyncSession, token: str | None) -> Person | None:
    """The admin whose live session `token` is; None when it ended, expired, or they are no longer an admin."""
    if not token or not _TOKEN.match(token):
        return None
    query = (
        select(Person)
        .join(AdminSession, col(AdminSession.person_id) == Person.id)
        .where(AdminSession.token_hash == _digest(token), col(AdminSession.expires_at) > utcnow(),
               Person.role == Role.ADMIN)
    )  # fmt: skip
    return (await session.exec(query)).first()


async def end_session(session: AsyncSession, token: str | None) -> None:
    """Sign this browser out (commits)."""
    if token and _TOKEN.match(token):
        await session.exec(delete(AdminSession).where(col(AdminSession.token_hash) == _digest(token)))
        await session.commit()


async def end_sessions(session: AsyncSession, *, person_id: int) -> int:
    """Sign the admin out everywhere (the caller commits); how many sessions ended."""
    result = await session.exec(delete(AdminSession).where(col(AdminSession.person_id) == person_id))
    return int(result.rowcount or 0)


def session_token(request: Request) -> str | None:
    return request.cookies.get(SESSION_COOKIE)


def set_session_cookie(response: Response, settings: Settings, token: str) -> None:
    response.set_cookie(SESSION_COOKIE, token, max_age=SESSION_MAX_AGE, httponly=True, samesite="lax",
                        secure=is_https(settings))  # fmt: skip


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE)
