"""Signed links: the leads' weekly report form and the office display's read-only wall.

Pure functions over itsdangerous; nothing here touches the database. A report link carries
(person, project, week) and expires at that week's reporting deadline; a wall link carries a
link id and a version that the web layer checks against the stored row (revocation).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from itsdangerous import BadSignature, Signer, URLSafeSerializer

from notifier.core.errors import GuatuError
from notifier.core.settings import Settings
from notifier.numbers.weeks import parse_week
from notifier.reporting.reports import report_deadline

_REPORT_SALT = "guatu.report-link"
_WALL_SALT = "guatu.wall-link"
# One random key per process when SECRET_KEY is unset: links then do not survive a restart.
_PROCESS_KEY = secrets.token_urlsafe(32)


class LinkError(GuatuError):
    """A signed link that is forged, tampered with, expired or malformed."""


def secret_key(settings: Settings) -> str:
    """SECRET_KEY, or this process's random key when it is unset."""
    return settings.secret_key.get_secret_value() if settings.secret_key else _PROCESS_KEY


def has_stable_key(settings: Settings) -> bool:
    return settings.secret_key is not None


def week_deadline(settings: Settings, week: str) -> datetime:
    """The reporting deadline of `week`, by the bot's own rule."""
    return report_deadline(settings, week)


def _serializer(settings: Settings, salt: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret_key(settings), salt=salt)


@dataclass(frozen=True)
class ReportClaim:
    person_id: int
    project_id: int
    week: str
    expires_at: datetime


def report_token(settings: Settings, *, person_id: int, project_id: int, week: str) -> str:
    """The signed token of a lead's report link for one project and week.

    Kept short for the SMS (about 45 characters): hex ids and the week, plus the signature. The
    expiry is not carried: it is the week's deadline, looked up when the link is used.
    """
    payload = f"{person_id:x}.{project_id:x}.{week}"
    return Signer(secret_key(settings), salt=_REPORT_SALT).sign(payload).decode()


def report_link(settings: Settings, *, person_id: int, project_id: int, week: str) -> str:
    """A short absolute (or root-relative, without PUBLIC_BASE_URL) link to the report form."""
    base = (settings.public_base_url or "").rstrip("/")
    return f"{base}/r/{report_token(settings, person_id=person_id, project_id=project_id, week=week)}"


def read_report_token(settings: Settings, token: str, *, now: datetime | None = None) -> ReportClaim:
    """Check a report token; raises LinkError when forged, tampered with or past the week's deadline."""
    try:
        payload = Signer(secret_key(settings), salt=_REPORT_SALT).unsign(token).decode()
        person_hex, project_hex, week = payload.split(".")
        parse_week(week)
        claim = ReportClaim(int(person_hex, 16), int(project_hex, 16), week, week_deadline(settings, week))
    except (BadSignature, ValueError, GuatuError):
        raise LinkError("链接无效 / this link is not valid") from None
    if (now or datetime.now(UTC)) >= claim.expires_at:
        raise LinkError("链接已过期(已过本周报送截止时间) / this link expired at the week's deadline")
    return claim


def wall_token(settings: Settings, *, link_id: int, version: int) -> str:
    """The signed token of a read-only wall link (checked against the stored link row)."""
    return str(_serializer(settings, _WALL_SALT).dumps([link_id, version]))


def read_wall_token(settings: Settings, token: str) -> tuple[int, int]:
    """(link id, version) from a wall token; raises LinkError when forged or tampered with."""
    try:
        link_id, version = _serializer(settings, _WALL_SALT).loads(token)
        return int(link_id), int(version)
    except (BadSignature, ValueError, TypeError):
        raise LinkError("链接无效 / this link is not valid") from None
