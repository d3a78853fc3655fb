"""Bulletin governance: sign-off decisions, the archived copies as sent, and read receipts (已阅)."""

from datetime import datetime

from sqlalchemy import String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.base import ts_field


class BulletinDecision(SQLModel, table=True):
    """An approver's decision on a draft (approve / reject), and refused attempts."""

    id: int | None = Field(default=None, primary_key=True)
    bulletin_id: int = Field(foreign_key="bulletin.id", index=True)
    person_id: int | None = Field(default=None, foreign_key="person.id")
    decision: str = Field(sa_type=String(16))  # approve / reject
    channel: str = Field(default="cli", max_length=16)
    note: str | None = Field(default=None, sa_type=Text)
    at: datetime = ts_field(default_now=True)


class BulletinCopy(SQLModel, table=True):
    """The exact text one recipient group got ("all", or a unit code for unit leaders' copies)."""

    __table_args__ = (UniqueConstraint("bulletin_id", "group"),)
    id: int | None = Field(default=None, primary_key=True)
    bulletin_id: int = Field(foreign_key="bulletin.id", index=True)
    group: str = Field(max_length=32)
    sms_text: str = Field(sa_type=Text)


class BulletinRecipient(SQLModel, table=True):
    """Who a sent bulletin went to (snapshot at send time)."""

    __table_args__ = (UniqueConstraint("bulletin_id", "person_id"),)
    id: int | None = Field(default=None, primary_key=True)
    bulletin_id: int = Field(foreign_key="bulletin.id", index=True)
    person_id: int = Field(foreign_key="person.id")
    name: str = Field(max_length=64)
    phone: str | None = Field(default=None, max_length=20)
    group: str = Field(max_length=32)


class BulletinRead(SQLModel, table=True):
    """A leader acknowledged (已阅) a bulletin, by Telegram button or by the SMS link."""

    __table_args__ = (UniqueConstraint("bulletin_id", "person_id"),)
    id: int | None = Field(default=None, primary_key=True)
    bulletin_id: int = Field(foreign_key="bulletin.id", index=True)
    person_id: int = Field(foreign_key="person.id")
    via: str = Field(max_length=16)  # telegram / link / web
    at: datetime = ts_field(default_now=True)
