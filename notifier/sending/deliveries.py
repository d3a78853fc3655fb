"""Provider status callbacks applied to deliveries: forward only, idempotent, safe when repeated."""

from __future__ import annotations

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Delivery, DeliveryState, utcnow
from notifier.sending.optout import opt_out
from notifier.sending.providers.base import OPTED_OUT_CODES
from notifier.sending.states import FINAL, TWILIO_STATUS, can_move


def _states_before(new: DeliveryState) -> list[DeliveryState]:
    """Every state a delivery may be in for `new` to be a move forward."""
    return [state for state in DeliveryState if can_move(state, new)]


async def apply_provider_status(
    session: AsyncSession, *, sid: str, status: str, error_code: int | None = None
) -> bool:
    """Move the delivery with provider SID `sid` to the state Twilio's `status` means.

    True when the row changed. An unknown SID, an unknown status, a repeat, or a late status that
    would move the delivery backwards (`sent` after `delivered`) changes nothing and returns False.
    The check and the write are one conditional UPDATE, so concurrent callbacks cannot race it
    backwards. A 21610 (unsubscribed) error also records an opt-out. Commits.
    """
    new = TWILIO_STATUS.get(status.strip().lower())
    if new is None or not sid:
        return False
    now = utcnow()
    values: dict[str, object] = {"state": new, "updated_at": now}
    if new in FINAL:
        values["final_at"] = now
    if error_code is not None and new in (DeliveryState.UNDELIVERED, DeliveryState.FAILED):
        values["error_code"] = error_code
    result = await session.execute(
        update(Delivery)
        .where(col(Delivery.provider_sid) == sid, col(Delivery.state).in_(_states_before(new)))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    changed = bool(getattr(result, "rowcount", 0))
    if changed and error_code in OPTED_OUT_CODES:
        phones = (await session.exec(select(Delivery.phone).where(Delivery.provider_sid == sid))).all()
        for phone in set(phones):
            await opt_out(session, phone=phone, source="provider")
    await session.commit()
    return changed
