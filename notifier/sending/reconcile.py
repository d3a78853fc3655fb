"""Reconciliation: a delivery left `sending` — its worker died mid-call, or the provider did not
answer in time — is looked up at the provider before anything is sent again.

The provider's own list is the truth: a message found there (by our reference where the provider
keeps one, Alibaba Cloud's OutId; else by number, time and text) makes the delivery `sent` with its
SID, and any status the provider already has is applied; only a message not found goes back to
`pending`. Nothing here reads `date_sent`, which Twilio leaves empty until the carrier has the
message.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Delivery, DeliveryState, utcnow
from notifier.sending.deliveries import apply_parked, apply_provider_status
from notifier.sending.outcomes import Outcome, write_outcomes
from notifier.sending.providers.base import ProviderError, SentMessage
from notifier.sending.states import TWILIO_STATUS

if TYPE_CHECKING:
    from notifier.sending.loop import Sender

# The provider's clock and ours may differ a little; look this far before the claim.
_CLOCK_SKEW = timedelta(seconds=5)


def find_match(found: list[SentMessage], *, reference: str, body: str) -> SentMessage | None:
    """Our message among the provider's: by reference when it keeps ours, else by the text."""
    by_reference = next((m for m in found if m.reference == reference), None)
    if by_reference is not None:
        return by_reference
    return next((m for m in found if m.reference is None and m.body == body), None)


async def reconcile_expired(sender: Sender, session: AsyncSession, *, campaign_id: int) -> int:
    """Deliveries whose lease ran out while `sending`: sent if the provider has them, else pending again."""
    now = utcnow()
    stale = (
        await session.exec(
            select(Delivery)
            .where(
                Delivery.campaign_id == campaign_id,
                Delivery.state == DeliveryState.SENDING,
                col(Delivery.lease_until) < now,
            )
            .limit(sender.settings.sms_batch_size)
        )
    ).all()
    fixed = 0
    for delivery in stale:
        # Take the reconciliation over with a fresh lease, so only one worker does it.
        taken = await session.execute(
            update(Delivery)
            .where(col(Delivery.id) == delivery.id, col(Delivery.state) == DeliveryState.SENDING,
                   col(Delivery.lease_until) < now)
            .values(lease_until=now + timedelta(seconds=sender.settings.sms_lease_seconds))
            .execution_options(synchronize_session=False)
        )  # fmt: skip
        await session.commit()
        if not getattr(taken, "rowcount", 0):
            continue
        since = (delivery.claimed_at or now) - _CLOCK_SKEW
        try:
            found = await sender.provider.find_sent(to=delivery.phone, since=since)
        except ProviderError:
            continue  # cannot tell now: the lease runs out again and someone retries the check
        match = find_match(found, reference=f"guatu-{delivery.id}", body=delivery.body)
        await _settle(session, delivery, match, provider=sender.provider.name)
        fixed += 1
    return fixed


async def _settle(
    session: AsyncSession, delivery: Delivery, match: SentMessage | None, *, provider: str
) -> None:
    if match is None:
        await write_outcomes(session, [Outcome(delivery.id or 0, delivery.attempts, DeliveryState.PENDING,
                                               message="reconciled: not at provider")])  # fmt: skip
        return
    await write_outcomes(session, [Outcome(delivery.id or 0, delivery.attempts, DeliveryState.SENT, sid=match.sid,
                                           provider=match.provider or provider, price=match.price,
                                           price_unit=match.price_unit,
                                           message="reconciled: found at provider")])  # fmt: skip
    # What the provider already knows of it (delivered, failed) counts as its status callback.
    if TWILIO_STATUS.get(match.status) not in (None, DeliveryState.SENT):
        await apply_provider_status(session, sid=match.sid, status=match.status, error_code=match.error_code,
                                    provider=match.provider or provider)  # fmt: skip
    await apply_parked(session, sids=[match.sid])
