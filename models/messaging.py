"""Campaigns (one mass send) and their deliveries (one per recipient phone)."""

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Index, Numeric, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.base import ts_field
from models.enums import CampaignKind, CampaignState, DeliveryState


class Campaign(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    kind: CampaignKind = Field(sa_type=String(16))
    title: str = Field(default="", max_length=200)
    # Template; {name} and {unit} are filled per recipient.
    text: str = Field(sa_type=Text)
    audience: str = Field(sa_type=Text)
    state: CampaignState = Field(default=CampaignState.DRAFT, sa_type=String(16), index=True)
    urgent: bool = False
    # Idempotency key for scheduled sends ("weekly-bulletin:2026-W47"): one campaign per key.
    dedupe_key: str | None = Field(default=None, max_length=120, unique=True)
    bulletin_id: int | None = Field(default=None, foreign_key="bulletin.id")
    created_by_id: int | None = Field(default=None, foreign_key="person.id")
    recipients: int = 0
    skipped: int = 0
    segments: int = 0
    estimated_cost: Decimal = Field(default=Decimal("0"), sa_type=Numeric(12, 4))
    created_at: datetime = ts_field(default_now=True)
    queued_at: datetime | None = ts_field()
    started_at: datetime | None = ts_field()
    finished_at: datetime | None = ts_field()
    # Quiet hours: not sent before this instant.
    not_before: datetime | None = ts_field()
    # Why the sending stopped by itself (an account or configuration error at the provider, with its
    # code); cleared on resume.
    pause_reason: str | None = Field(default=None, sa_type=Text)
    # What the admin must look at while it goes on (a text the provider refused, an unknown code).
    notice: str | None = Field(default=None, sa_type=Text)


class Delivery(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("campaign_id", "phone", name="uq_delivery_campaign_phone"),
        Index("ix_delivery_campaign_state", "campaign_id", "state"),
        Index("ix_delivery_state_lease", "state", "lease_until"),
    )
    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id")
    person_id: int | None = Field(default=None, foreign_key="person.id")
    phone: str = Field(max_length=20, index=True)
    body: str = Field(sa_type=Text)
    segments: int = 1
    state: DeliveryState = Field(default=DeliveryState.PENDING, sa_type=String(16))
    skip_reason: str | None = Field(default=None, max_length=64)
    provider: str | None = Field(default=None, max_length=32)
    provider_sid: str | None = Field(default=None, max_length=64, index=True)
    error_code: int | None = None
    # The provider's own code, verbatim ("21611", "isv.DAY_LIMIT_CONTROL"), whatever its kind.
    provider_code: str | None = Field(default=None, max_length=64)
    error_message: str | None = Field(default=None, sa_type=Text)
    # What the provider charged, when it says (Twilio's price is negative, in price_unit).
    price: Decimal | None = Field(default=None, sa_type=Numeric(12, 5))
    price_unit: str | None = Field(default=None, max_length=8)
    attempts: int = 0
    next_attempt_at: datetime | None = ts_field()
    claimed_at: datetime | None = ts_field()
    lease_until: datetime | None = ts_field()
    sent_at: datetime | None = ts_field()
    final_at: datetime | None = ts_field()
    created_at: datetime = ts_field(default_now=True)
    updated_at: datetime = ts_field(default_now=True)


class ProviderStatus(SQLModel, table=True):
    """A status callback for a SID no delivery carries yet (the callback outran the send's own answer).
    Kept until the SID is recorded, then applied and deleted; nothing a provider reports is dropped."""

    id: int | None = Field(default=None, primary_key=True)
    provider: str = Field(max_length=32)
    sid: str = Field(max_length=64, index=True)
    status: str = Field(max_length=32)
    error_code: int | None = None
    received_at: datetime = ts_field(default_now=True)


class OptOut(SQLModel, table=True):
    """A number that asked not to receive SMS (STOP, 退订, /stop, an admin). The send path checks this."""

    phone: str = Field(primary_key=True, max_length=20)
    source: str = Field(max_length=32)
    created_at: datetime = ts_field(default_now=True)


class SmsTemplate(SQLModel, table=True):
    """A text registered with the carriers (短信模板报备). With SMS_TEMPLATE_REGISTRY on, only a message
    that is one of these, its {placeholders} filled in, may go to a mainland (+86) number."""

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True)
    body: str = Field(sa_type=Text)  # without the signature; placeholders like {name}
    note: str = Field(default="", max_length=200)
    created_at: datetime = ts_field(default_now=True)
