"""Units, people and the invites that bind a person to a Telegram account."""

from datetime import datetime

from sqlalchemy import BigInteger, Column, Index, String, text
from sqlmodel import Field, SQLModel

from models.base import ts_field
from models.enums import LeaderLevel, Role, UnitKind, WecomState


class UnitBase(SQLModel):
    code: str = Field(max_length=32, unique=True, index=True)
    name: str = Field(max_length=128)
    # Short form used in SMS rankings (阿左旗 for 阿拉善左旗); the name when empty.
    short_name: str | None = Field(default=None, max_length=16)
    kind: UnitKind = Field(sa_type=String(16))
    sort_order: int = 0


class Unit(UnitBase, table=True):
    id: int | None = Field(default=None, primary_key=True)


class PersonBase(SQLModel):
    name: str = Field(max_length=64)
    # E.164 (+8613800138000); unique when present, validated by notifier.core.phones before storing.
    phone: str | None = Field(default=None, max_length=20, unique=True, index=True)
    role: Role = Field(sa_type=String(16), index=True)
    # For leaders: league / unit / department level; None for other roles.
    level: LeaderLevel | None = Field(default=None, sa_type=String(16))
    title: str | None = Field(default=None, max_length=64)
    unit_id: int | None = Field(default=None, foreign_key="unit.id", index=True)
    language: str = Field(default="zh", max_length=8)
    opted_out: bool = False


# An admin signs in by name, so two admins may not share one (other people may: names repeat).
ADMIN_NAME_WHERE = text("role = 'admin'")


class Person(PersonBase, table=True):
    __table_args__ = (
        Index("uq_person_admin_name", "name", unique=True, sqlite_where=ADMIN_NAME_WHERE,
              postgresql_where=ADMIN_NAME_WHERE),
    )  # fmt: skip
    id: int | None = Field(default=None, primary_key=True)
    telegram_id: int | None = Field(
        default=None, sa_column=Column(BigInteger, unique=True, index=True, nullable=True)
    )
    # Telegram user blocked the bot: chat copies fall back to SMS.
    telegram_blocked: bool = False
    # WeCom member bound by the mobile number (user/getuserid); unique like telegram_id.
    wecom_userid: str | None = Field(default=None, max_length=64, unique=True, index=True)
    # None: not looked up yet; see WecomState. A miss is not looked up again (WeCom bars an app
    # for a day after too many wrong numbers) until `guatu wecom sync --recheck`.
    wecom_state: WecomState | None = Field(default=None, sa_type=String(16))
    wecom_checked_at: datetime | None = ts_field()
    # The person's own chat channel order ("wecom,sms"); None follows CHANNEL_ORDER.
    channels: str | None = Field(default=None, max_length=64)
    password_hash: str | None = Field(default=None, max_length=255)
    opted_out_at: datetime | None = ts_field()
    created_at: datetime = ts_field(default_now=True)


class Invite(SQLModel, table=True):
    """A single-use deep-link token; only its SHA-256 is stored."""

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    token_hash: str = Field(max_length=64, unique=True)
    created_by_id: int | None = Field(default=None, foreign_key="person.id")
    created_at: datetime = ts_field(default_now=True)
    expires_at: datetime = ts_field(nullable=False)
    used_at: datetime | None = ts_field()
    used_by_telegram_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
