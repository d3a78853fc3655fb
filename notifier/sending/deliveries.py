"""Provider status callbacks applied to deliveries: forward only, idempotent, safe when repeated, and
never lost when they outrun the send they report on.

A callback may arrive before the worker has recorded the message's SID (the provider calls back
before its create call has even answered). Such a callback is parked in ProviderStatus; whoever
comes second — the worker recording SIDs, or the callback finding no delivery — applies it. Each
side writes, commits, then looks for the other, so at least one of them sees both.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from sqlalchemy import delete, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Delivery, DeliveryState, ProviderStatus, utcnow
from notifier.sending.codes import TWILIO_OPT_OUT
from notifier.sending.optout import opt_out
from notifier.sending.states import FINAL, TWILIO_STATUS, can_move

# Parked callbacks whose SID never shows up (another system on the same account) are dropped after this.
PARKED_KEEP = timedelta(days=7)


def _states_before(new: DeliveryState) -> list[DeliveryState]:
    """Every state a delivery may be in for `new` to be a move forward."""
    return [state for state in DeliveryState if can_move(state, new)]


async def _move(session: AsyncSession, *, sid: str, new: DeliveryState, error_code: int | None) -> bool:
    """One conditional UPDATE: the delivery with `sid` moves to `new` if that is forward."""
    now = utcnow()
    values: dict[str, object] = {"state": new, "updated_at": now}
    if new in FINAL:
        values["final_at"] = now
    if error_code is not None and new in (DeliveryState.UNDELIVERED, DeliveryState.FAILED):
        values["error_code"] = error_code
        values["provider_code"] = str(error_code)
    result = await session.execute(
        update(Delivery)
        .where(col(Delivery.provider_sid) == sid, col(Delivery.state).in_(_states_before(new)))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    changed = bool(getattr(result, "rowcount", 0))
    if changed and error_code in TWILIO_OPT_OUT:
        phones = (await session.exec(select(Delivery.phone).where(Delivery.provider_sid == sid))).all()
        for phone in set(phones):
            await opt_out(session, phone=phone, source="provider")
    return changed


async def apply_provider_status(
    session: AsyncSession, *, sid: str, status: str, error_code: int | None = None, provider: str = "twilio"
) -> bool:
    """Move the delivery with provider SID `sid` to the state Twilio's `status` means.

    True when the row changed. An unknown status, a repeat, or a late status that would move the
    delivery backwards (`sent` after `delivered`) changes nothing. A SID no delivery carries yet is
    parked and applied when the SID is recorded. A 21610 (unsubscribed) also records an opt-out.
    Commits.
    """
    new = TWILIO_STATUS.get(status.strip().lower())
    if new is None or not sid:
        return False
    changed = await _move(session, sid=sid, new=new, error_code=error_code)
    await session.commit()
    if changed:
        return True
    known = (await session.exec(select(Delivery.id).where(Delivery.provider_sid == sid).limit(1))).first()
    if known is not None:
        return False  # a repeat or a step backwards
    session.add(ProviderStatus(provider=provider, sid=sid[:64], status=status.strip().lower()[:32],
                               error_code=error_code))  # fmt: skip
    await session.commit()
    # The worker may have recorded the SID between our UPDATE and our park: look once more.
    return bool(await apply_parked(session, sids=[sid]))


async def apply_parked(session: AsyncSession, *, sids: Iterable[str]) -> int:
    """Apply (in arrival order) and remove the parked callbacks for these SIDs that now have a
    delivery. Returns how many moved a delivery. Commits."""
    wanted = [s for s in set(sids) if s]
    if not wanted:
        return 0
    moved = 0
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        parked = (
            await session.exec(
                select(ProviderStatus)
                .where(col(ProviderStatus.sid).in_(chunk))
                .order_by(col(ProviderStatus.received_at), col(ProviderStatus.id))
            )
        ).all()
        if not parked:
            continue
        present = set(
            (
                await session.exec(select(Delivery.provider_sid).where(col(Delivery.provider_sid).in_(chunk)))
            ).all()
        )
        done: list[int] = []
        for row in parked:
            new = TWILIO_STATUS.get(row.status)
            if row.sid not in present or new is None:
                continue
            moved += await _move(session, sid=row.sid, new=new, error_code=row.error_code)
            done.append(row.id or 0)
        if done:
            await session.execute(delete(ProviderStatus).where(col(ProviderStatus.id).in_(done)))
        await session.commit()
    return moved


async def apply_all_parked(session: AsyncSession) -> int:
    """The sweeper's safety net: apply whatever parked callbacks have a delivery by now, and drop the
    ones too old to ever match. Commits."""
    sids = (await session.exec(select(ProviderStatus.sid).distinct().limit(5000))).all()
    moved = await apply_parked(session, sids=sids)
    await session.execute(
        delete(ProviderStatus).where(col(ProviderStatus.received_at) < utcnow() - PARKED_KEEP)
    )
    await session.commit()
    return moved
