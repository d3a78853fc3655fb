"""Audit log, idempotency records for scheduled jobs and alerts, and composed bulletins."""

from datetime import date, datetime

from sqlalchemy import BigInteger, Column, String, Text
from sqlmodel import Field, SQLModel

from models.base import ts_field
from models.enums import BulletinKind, BulletinState


class AuditLog(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = ts_field(default_now=True)
    actor_id: int | None = Field(default=None, foreign_key="person.id")
    actor_telegram_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    channel: str = Field(default="cli", max_length=16)  # cli / bot / web / worker
    action: str = Field(max_length=64, index=True)
    allowed: bool = True
    detail: str | None = Field(default=None, sa_type=Text)  # JSON


class JobRun(SQLModel, table=True):
    """A scheduled job for one period ("weekly-bulletin:2026-W47"); the unique key makes reruns no-ops."""

    key: str = Field(primary_key=True, max_length=120)
    started_at: datetime = ts_field(default_now=True)
    finished_at: datetime | None = ts_field()
    result: str | None = Field(default=None, sa_type=Text)


class AlertRecord(SQLModel, table=True):
    """One alert fact that has been raised ("milestone-overdue:42:2026-W47"): never sent twice."""

    key: str = Field(primary_key=True, max_length=160)
    kind: str = Field(max_length=32, index=True)
    project_id: int | None = Field(default=None, foreign_key="project.id")
    campaign_id: int | None = Field(default=None, foreign_key="campaign.id")
    created_at: datetime = ts_field(default_now=True)


class Bulletin(SQLModel, table=True):
    """A composed bulletin, kept exactly as composed/sent."""

    id: int | None = Field(default=None, primary_key=True)
    kind: BulletinKind = Field(sa_type=String(16))
    as_of: date
    period_key: str = Field(max_length=32, index=True)  # "2026-W47", "2026-11"
    state: BulletinState = Field(default=BulletinState.DRAFT, sa_type=String(16))
    numbers_json: str = Field(sa_type=Text)
    sms_text: str = Field(sa_type=Text)
    html: str = Field(sa_type=Text)
    language: str = Field(default="zh", max_length=8)
    corrects_id: int | None = Field(default=None, foreign_key="bulletin.id")
    composed_by_id: int | None = Field(default=None, foreign_key="person.id")
    created_at: datetime = ts_field(default_now=True)
    # When the mass send is due; a draft not approved by then is not sent (state expired).
    send_at: datetime | None = ts_field()
    approved_at: datetime | None = ts_field()
    sent_at: datetime | None = ts_field()


class WallLink(SQLModel, table=True):
    """A read-only link to the wall for an office display; bumping `version` or setting
    `revoked_at` invalidates every copy of the link at once."""

    id: int | None = Field(default=None, primary_key=True)
    label: str = Field(default="", max_length=64)
    version: int = 1
    created_by_id: int | None = Field(default=None, foreign_key="person.id")
    created_at: datetime = ts_field(default_now=True)
    revoked_at: datetime | None = ts_field()
