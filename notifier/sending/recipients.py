"""The per-recipient log of a campaign, as a provider's console shows it: each number, its state, the
provider's code and what it means, segments, price when known, and the times."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Delivery, DeliveryState
from notifier.core.errors import GuatuError, NotFoundError
from notifier.sending.codes import meaning

PAGE = 200


class RecipientLogError(GuatuError):
    """A request for the log that cannot be answered (an unknown state); the message says why."""


@dataclass(frozen=True)
class RecipientRow:
    phone: str
    state: str
    provider: str | None
    provider_code: str | None
    meaning: str
    skip_reason: str | None
    segments: int
    price: Decimal | None
    price_unit: str | None
    attempts: int
    sent_at: datetime | None
    final_at: datetime | None
    updated_at: datetime
    sid: str | None

    def to_json(self) -> dict[str, Any]:
        def iso(moment: datetime | None) -> str | None:
            return moment.isoformat() if moment else None

        return {"phone": self.phone, "state": self.state, "provider": self.provider,
                "provider_code": self.provider_code, "meaning": self.meaning, "skip_reason": self.skip_reason,
                "segments": self.segments, "price": str(self.price) if self.price is not None else None,
                "price_unit": self.price_unit, "attempts": self.attempts, "sent_at": iso(self.sent_at),
                "final_at": iso(self.final_at), "updated_at": iso(self.updated_at), "sid": self.sid}  # fmt: skip


def check_state(state: str | None) -> DeliveryState | None:
    """The state filter as given ("" or None for all); an unknown one is refused by name."""
    if not state:
        return None
    try:
        return DeliveryState(state.strip().lower())
    except ValueError:
        names = "、".join(s.value for s in DeliveryState)
        raise RecipientLogError(f"未知的状态 {state!r};可选:{names} / unknown state {state!r}") from None


async def recipient_log(
    session: AsyncSession,
    *,
    campaign_id: int,
    state: str | None = None,
    limit: int = PAGE,
    offset: int = 0,
    lang: str = "zh",
) -> tuple[list[RecipientRow], int]:
    """One page of the campaign's deliveries (by id), optionally of one state, and how many match."""
    from models import Campaign

    wanted = check_state(state)
    if await session.get(Campaign, campaign_id) is None:
        raise NotFoundError(f"没有编号为 {campaign_id} 的群发任务 / no campaign {campaign_id}")
    where = [col(Delivery.campaign_id) == campaign_id]
    if wanted is not None:
        where.append(col(Delivery.state) == wanted)
    total = (await session.exec(select(func.count()).select_from(Delivery).where(*where))).one()
    rows = (
        await session.exec(
            select(Delivery)
            .where(*where)
            .order_by(col(Delivery.id))
            .offset(max(offset, 0))
            .limit(max(limit, 1))
        )
    ).all()
    return [
        RecipientRow(phone=d.phone, state=str(d.state), provider=d.provider, provider_code=d.provider_code,
                     meaning=meaning(d.provider, d.provider_code, lang), skip_reason=d.skip_reason,
                     segments=d.segments, price=d.price, price_unit=d.price_unit, attempts=d.attempts,
                     sent_at=d.sent_at, final_at=d.final_at, updated_at=d.updated_at, sid=d.provider_sid)
        for d in rows
    ], int(total)  # fmt: skip
