"""Who is signed in to the admin pages, and the counters that throttle sign-ins and refuse replays."""

from datetime import datetime

from sqlalchemy import String
from sqlmodel import Field, SQLModel

from models.base import ts_field


class AdminSession(SQLModel, table=True):
    """One signed-in browser. The cookie holds a random token; only its SHA-256 is stored, so
    deleting the row (sign-out, password change, `guatu admin revoke`) ends the session at once."""

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(sa_type=String(64), unique=True)
    person_id: int = Field(foreign_key="person.id", index=True, ondelete="CASCADE")
    created_at: datetime = ts_field(default_now=True)
    expires_at: datetime = ts_field(nullable=False)


class WindowCounter(SQLModel, table=True):
    """A count that restarts when its window ends: failed sign-ins per name or address, webhook
    signatures already seen. Kept here when Redis is not configured or not answering."""

    key: str = Field(sa_type=String(200), primary_key=True)
    hits: int = 0
    expires_at: datetime = ts_field(nullable=False, index=True)
