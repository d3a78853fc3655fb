"""Column helpers shared by the tables."""

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import DateTime, Numeric
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field


def utcnow() -> datetime:
    """Timezone-aware current time in UTC (the only time stored in the database)."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC that always comes back timezone-aware, on SQLite too."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def money_field(default: Decimal | None = Decimal("0"), **kwargs: Any) -> Any:
    """A yuan amount: exact decimal with two places, never a float."""
    return Field(default=default, sa_type=Numeric(18, 2), **kwargs)


def ts_field(*, nullable: bool = True, default_now: bool = False, **kwargs: Any) -> Any:
    """A UTC timestamp column."""
    if default_now:
        return Field(default_factory=utcnow, sa_type=UTCDateTime(), nullable=False, **kwargs)
    return Field(default=None, sa_type=UTCDateTime(), nullable=nullable, **kwargs)
