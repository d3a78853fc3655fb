"""Provider statuses applied to deliveries: forward only, idempotent."""

from __future__ import annotations

import pytest
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Campaign, CampaignKind, Delivery, DeliveryState, OptOut
from notifier.sending.deliveries import apply_provider_status

SID = "SM" + "d" * 32
S = DeliveryState


async def _delivery(session: AsyncSession, state: DeliveryState) -> None:
    campaign = Campaign(kind=CampaignKind.BROADCAST, text="x", audience="phones:+8613904830001")
    session.add(campaign)
    await session.flush()
    session.add(Delivery(campaign_id=campaign.id or 0, phone="+8613904830001", body="x", state=state,
                         provider_sid=SID))  # fmt: skip
    await session.commit()


async def _state(session: AsyncSession) -> DeliveryState:
    session.expire_all()
    return DeliveryState(
        (await session.exec(select(Delivery.state).where(Delivery.provider_sid == SID))).one()
    )


@pytest.mark.parametrize(
    ("current", "status", "changed", "after"),
    [(S.SENDING, "sent", True, S.SENT), (S.SENDING, "delivered", True, S.DELIVERED),
     (S.SENT, "queued", False, S.SENT), (S.SENT, "delivered", True, S.DELIVERED),
     (S.SENT, "undelivered", True, S.UNDELIVERED), (S.SENT, "failed", True, S.FAILED),
     (S.DELIVERED, "sent", False, S.DELIVERED), (S.DELIVERED, "undelivered", False, S.DELIVERED),
     (S.DELIVERED, "delivered", False, S.DELIVERED), (S.FAILED, "delivered", False, S.FAILED),
     (S.SENT, "no-such-status", False, S.SENT)],
)  # fmt: skip
async def test_status_moves_only_forward(session: AsyncSession, current: DeliveryState, status: str,
                                         changed: bool, after: DeliveryState) -> None:  # fmt: skip
    await _delivery(session, current)
    assert await apply_provider_status(session, sid=SID, status=status) is changed
    assert await _state(session) == after


async def test_unknown_sid_changes_nothing(session: AsyncSession) -> None:
    await _delivery(session, S.SENT)
    assert await apply_provider_status(session, sid="SM" + "0" * 32, status="delivered") is False
    assert await _state(session) == S.SENT


async def test_unsubscribed_error_records_an_opt_out(session: AsyncSession) -> None:
    await _delivery(session, S.SENT)
    assert await apply_provider_status(session, sid=SID, status="failed", error_code=21610)
    assert await session.get(OptOut, "+8613904830001") is not None
