"""The send loop: claim a batch, hand it to the provider concurrently, record what happened.

Exactly once, whatever dies when:
- A delivery is claimed (state `sending`, a lease, attempts + 1) and committed *before* the
  provider is called, and marked `sent` with the provider's SID *after*.
- A delivery still `sending` after its lease ran out belonged to a worker that died mid-call. It
  is reconciled against the provider's own list of messages to that number since the claim, and
  only resent when the provider has none.
- Claims are single UPDATE statements on rows still `pending` (SKIP LOCKED on PostgreSQL), so
  any number of workers can share a campaign without sending a row twice.
- Redis holds nothing that matters: the sweeper re-queues campaigns whose work is still in the
  database.

Transient failures (429, 5xx, timeouts) go back to `pending` with an exponential backoff with
jitter, up to SMS_MAX_ATTEMPTS; permanent ones end `failed` with the provider's code, and an
unsubscribed number (21610) is recorded as opted out.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, func, or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Campaign, CampaignState, Delivery, DeliveryState, utcnow
from models.db import SessionMaker
from notifier.core.settings import Settings
from notifier.sending.audiences import opted_out_numbers
from notifier.sending.carrier import carrier_holds
from notifier.sending.optout import opt_out
from notifier.sending.providers.base import OPTED_OUT_CODES, ProviderError, SmsProvider
from notifier.sending.ratelimit import RateLimiter
from notifier.sending.templates import matching_code, needs_template, registered_templates, without_signature

log = logging.getLogger("guatu.sending")
_TABLE: Any = Delivery.__table__  # type: ignore[attr-defined]
# A job waits in place for work due within this many seconds; beyond it, it hands back.
_HAND_BACK_AFTER = 90.0
_STOPPED = (CampaignState.PAUSED, CampaignState.CANCELLED, CampaignState.DONE, CampaignState.DRAFT)


@dataclass
class Sender:
    """What the loop needs; the worker builds one at startup."""

    sessionmaker: SessionMaker
    provider: SmsProvider
    limiter: RateLimiter | None
    settings: Settings

    def __post_init__(self) -> None:
        self._gate = asyncio.Semaphore(self.settings.sms_concurrency)


@dataclass(frozen=True)
class Claimed:
    """A delivery this worker holds: the claim is (id, attempts), valid until `lease_until`."""

    id: int
    phone: str
    body: str
    attempts: int
    lease_until: datetime


@dataclass(frozen=True)
class Outcome:
    """What became of one claim. It is written only while the row still carries that claim (state
    `sending` and the same attempt number), so a late result never overwrites a newer claim."""

    id: int
    attempts: int
    state: DeliveryState
    sid: str | None = None
    provider: str | None = None
    code: int | None = None
    message: str | None = None
    next_attempt_at: datetime | None = None
    skip_reason: str | None = None


def backoff(attempts: int, base_ms: int, *, rng: random.Random | None = None) -> timedelta:
    """Exponential backoff with jitter: base × 2^(attempts−1), capped at 5 minutes, times 0.5–1."""
    ceiling = min(base_ms * 2 ** max(attempts - 1, 0), 300_000)
    return timedelta(milliseconds=ceiling * (rng or random).uniform(0.5, 1.0))


# --- database steps ----------------------------------------------------------------------------------


async def claim_batch(
    session: AsyncSession, *, campaign_id: int, size: int, lease_seconds: int
) -> list[Claimed]:
    """Atomically move up to `size` due pending deliveries to `sending` under a lease."""
    now = utcnow()
    lease_until = now + timedelta(seconds=lease_seconds)
    due = (
        select(Delivery.id)
        .where(
            Delivery.campaign_id == campaign_id,
            Delivery.state == DeliveryState.PENDING,
            or_(col(Delivery.next_attempt_at).is_(None), col(Delivery.next_attempt_at) <= now),
        )
        .order_by(col(Delivery.id))
        .limit(size)
        .with_for_update(skip_locked=True)
    )
    result = await session.execute(
        update(Delivery)
        .where(col(Delivery.id).in_(due.scalar_subquery()), col(Delivery.state) == DeliveryState.PENDING)
        .values(state=DeliveryState.SENDING, claimed_at=now, lease_until=lease_until,
                attempts=col(Delivery.attempts) + 1, updated_at=now)
        .returning(col(Delivery.id), col(Delivery.phone), col(Delivery.body), col(Delivery.attempts))
        .execution_options(synchronize_session=False)
    )  # fmt: skip
    rows = [
        Claimed(id=r[0], phone=r[1], body=r[2], attempts=r[3], lease_until=lease_until) for r in result.all()
    ]
    await session.commit()
    return sorted(rows, key=lambda c: c.id)


async def write_outcomes(session: AsyncSession, outcomes: list[Outcome]) -> None:
    """Record results in one executemany; a row no longer `sending` is left alone."""
    if not outcomes:
        return
    now = utcnow()
    final = {DeliveryState.SENT, DeliveryState.FAILED, DeliveryState.SKIPPED}
    params = [
        {"b_id": o.id, "b_attempts": o.attempts, "b_state": o.state, "b_sid": o.sid, "b_provider": o.provider, "b_code": o.code,
         "b_message": o.message, "b_next": o.next_attempt_at, "b_skip": o.skip_reason,
         "b_sent": now if o.state == DeliveryState.SENT else None,
         "b_final": now if o.state in final and o.state != DeliveryState.SENT else None}
        for o in outcomes
    ]  # fmt: skip
    statement = (
        _TABLE.update()
        .where(and_(_TABLE.c.id == bindparam("b_id"), _TABLE.c.state == DeliveryState.SENDING,
                    _TABLE.c.attempts == bindparam("b_attempts")))
        .values(state=bindparam("b_state"), provider_sid=bindparam("b_sid"), provider=bindparam("b_provider"),
                error_code=bindparam("b_code"), error_message=bindparam("b_message"),
                next_attempt_at=bindparam("b_next"), skip_reason=bindparam("b_skip"), sent_at=bindparam("b_sent"),
                final_at=bindparam("b_final"), lease_until=None, updated_at=now)
    )  # fmt: skip
    await session.execute(statement, params)
    await session.commit()


async def _campaign_state(session: AsyncSession, campaign_id: int) -> CampaignState | None:
    """The campaign's state; a campaign held by quiet hours counts as stopped until its time."""
    row = (
        await session.exec(select(Campaign.state, Campaign.not_before).where(Campaign.id == campaign_id))
    ).first()
    if row is None:
        return None
    state, not_before = row
    if not_before is not None and not_before > utcnow():
        return CampaignState.PAUSED
    return CampaignState(state)


async def _start(session: AsyncSession, campaign_id: int) -> None:
    await session.execute(
        update(Campaign)
        .where(col(Campaign.id) == campaign_id, col(Campaign.state) == CampaignState.QUEUED)
        .values(state=CampaignState.SENDING, started_at=func.coalesce(col(Campaign.started_at), utcnow()))
    )
    await session.commit()


async def next_due(session: AsyncSession, *, campaign_id: int) -> datetime | None:
    """When there may next be work: the earliest retry or lease expiry; None when nothing is left."""
    pending = (
        await session.exec(
            select(func.count(), func.min(Delivery.next_attempt_at)).where(
                Delivery.campaign_id == campaign_id, Delivery.state == DeliveryState.PENDING
            )
        )
    ).one()
    leased = (
        await session.exec(
            select(func.count(), func.min(Delivery.lease_until)).where(
                Delivery.campaign_id == campaign_id, Delivery.state == DeliveryState.SENDING
            )
        )
    ).one()
    if not pending[0] and not leased[0]:
        return None
    now = utcnow()
    candidates = [now if pending[0] and pending[1] is None else pending[1], leased[1]]
    return min((c for c in candidates if c is not None), default=now)


async def finish_if_complete(session: AsyncSession, *, campaign_id: int) -> bool:
    """sending → done once no delivery is pending or in flight."""
    if await next_due(session, campaign_id=campaign_id) is not None:
        return False
    result = await session.execute(
        update(Campaign)
        .where(
            col(Campaign.id) == campaign_id,
            col(Campaign.state).in_([CampaignState.SENDING, CampaignState.QUEUED]),
        )
        .values(state=CampaignState.DONE, finished_at=utcnow())
    )
    await session.commit()
    return bool(getattr(result, "rowcount", 0))


# --- the loop -----------------------------------------------------------------------------------------


async def run_campaign(
    sender: Sender,
    *,
    campaign_id: int,
    idle_wait: float = 5.0,
    heartbeat: Callable[[], Awaitable[None]] | None = None,
) -> int:
    """Send a campaign until nothing is left, it is paused or cancelled. Returns deliveries handled.

    `heartbeat` is awaited once per round (the worker uses it to tell the sweeper a job is alive).
    """
    handled = 0
    settings = sender.settings
    while True:
        if heartbeat is not None:
            await heartbeat()
        async with sender.sessionmaker() as session:
            state = await _campaign_state(session, campaign_id)
            if state is None or state in _STOPPED:
                return handled
            if state == CampaignState.QUEUED:
                await _start(session, campaign_id)
            await reconcile_expired(sender, session, campaign_id=campaign_id)
            claimed = await claim_batch(session, campaign_id=campaign_id, size=settings.sms_batch_size,
                                        lease_seconds=settings.sms_lease_seconds)  # fmt: skip
            if not claimed:
                due = await next_due(session, campaign_id=campaign_id)
                if due is None:
                    await finish_if_complete(session, campaign_id=campaign_id)
                    return handled
                wait = (due - utcnow()).total_seconds()
                if wait > _HAND_BACK_AFTER:
                    # Held for long (carrier limits, far retries): free the job; the sweeper re-queues
                    # the campaign every 15 seconds and a later job claims the rows when they are due.
                    return handled
                await asyncio.sleep(min(max(wait, 0.05), idle_wait))
                continue
            outcomes = await screen(sender, session, claimed)
        ready = [c for c in claimed if c.id not in {o.id for o in outcomes}]
        outcomes += await asyncio.gather(*(send_one(sender, c) for c in ready))
        # A claim whose lease could not be kept was not sent: the row stays `sending` until its
        # lease runs out and reconciliation settles it.
        outcomes = [o for o in outcomes if o.state != DeliveryState.SENDING]
        async with sender.sessionmaker() as session:
            await write_outcomes(session, outcomes)
            for outcome in outcomes:
                if outcome.code in OPTED_OUT_CODES:
                    phone = next(c.phone for c in claimed if c.id == outcome.id)
                    await opt_out(session, phone=phone, source="provider")
            await session.commit()
        handled += len(claimed)


async def screen(sender: Sender, session: AsyncSession, claimed: list[Claimed]) -> list[Outcome]:
    """Right before sending: drop opted-out numbers, hold what the carriers' limits would reject."""
    outcomes: list[Outcome] = []
    opted = await opted_out_numbers(session, phones=[c.phone for c in claimed])
    for c in claimed:
        if c.phone in opted:
            outcomes.append(Outcome(c.id, c.attempts, DeliveryState.SKIPPED, skip_reason="opted_out"))
    if sender.settings.sms_template_registry:
        # A template removed after the campaign was created: not sent, and counted with the reason.
        registered = await registered_templates(session)
        signature = sender.settings.sms_signature
        for c in claimed:
            if (c.phone not in opted and needs_template(c.phone)
                    and matching_code(without_signature(c.body, signature), registered) is None):  # fmt: skip
                outcomes.append(
                    Outcome(c.id, c.attempts, DeliveryState.SKIPPED, skip_reason="template_not_registered")
                )
    settled = {o.id for o in outcomes}
    rest = {c.phone: c.body for c in claimed if c.id not in settled}
    holds = await carrier_holds(session, messages=rest, now=utcnow(), tz=sender.settings.tz,
                                daily_cap=sender.settings.sms_daily_cap_per_number,
                                exclude_ids=[c.id for c in claimed])  # fmt: skip
    for c in claimed:
        hold = holds.get(c.phone)
        if hold is not None:
            # Held, not dropped: back to pending until the limit allows it (the claim is not an attempt).
            # The claim is given back below (attempts - 1), so the outcome carries that number.
            outcomes.append(
                Outcome(
                    c.id,
                    c.attempts - 1,
                    DeliveryState.PENDING,
                    next_attempt_at=hold.until,
                    skip_reason=hold.reason,
                )
            )
    if holds:
        await session.execute(
            update(Delivery).where(col(Delivery.id).in_([o.id for o in outcomes if o.state == DeliveryState.PENDING]))
            .values(attempts=col(Delivery.attempts) - 1).execution_options(synchronize_session=False)
        )  # fmt: skip
        await session.commit()
    return outcomes


async def keep_lease(sender: Sender, claimed: Claimed) -> bool:
    """Right before the provider call: is the claim still ours with time to spare? A claim that
    waited long for the shared rate gets a fresh lease — but only while its lease has not run out
    and no one took the row over; otherwise the send must not happen (another worker may be
    reconciling or resending it)."""
    now = utcnow()
    lease = sender.settings.sms_lease_seconds
    if claimed.lease_until - now >= timedelta(seconds=lease / 2):
        return True
    async with sender.sessionmaker() as session:
        renewed = await session.execute(
            update(Delivery)
            .where(col(Delivery.id) == claimed.id, col(Delivery.state) == DeliveryState.SENDING,
                   col(Delivery.attempts) == claimed.attempts, col(Delivery.lease_until) > now,
                   # unchanged since the claim: a reconciler taking the row over sets a new lease
                   col(Delivery.lease_until) == claimed.lease_until)
            .values(lease_until=now + timedelta(seconds=lease))
            .execution_options(synchronize_session=False)
        )  # fmt: skip
        await session.commit()
    return bool(getattr(renewed, "rowcount", 0))


async def send_one(sender: Sender, claimed: Claimed) -> Outcome:
    settings = sender.settings
    async with sender._gate:
        if sender.limiter is not None:
            await sender.limiter.acquire()
        if not await keep_lease(sender, claimed):
            log.warning("delivery %s: lease ran out before sending; left to reconciliation", claimed.id)
            return Outcome(claimed.id, claimed.attempts, DeliveryState.SENDING)
        try:
            result = await sender.provider.send(to=claimed.phone, body=claimed.body)
        except ProviderError as exc:
            if exc.transient and claimed.attempts < settings.sms_max_attempts:
                retry_at = utcnow() + backoff(claimed.attempts, settings.sms_retry_base_ms)
                return Outcome(claimed.id, claimed.attempts, DeliveryState.PENDING, code=exc.code or exc.status,
                               message=str(exc), next_attempt_at=retry_at)  # fmt: skip
            return Outcome(claimed.id, claimed.attempts, DeliveryState.FAILED, code=exc.code or exc.status,
                           message=str(exc))  # fmt: skip
        except Exception as exc:  # an adapter bug must not leave the row stranded: retry as transient
            log.exception("provider raised unexpectedly for delivery %s", claimed.id)
            if claimed.attempts < settings.sms_max_attempts:
                return Outcome(claimed.id, claimed.attempts, DeliveryState.PENDING, message=type(exc).__name__,
                               next_attempt_at=utcnow() + backoff(claimed.attempts, settings.sms_retry_base_ms))  # fmt: skip
            return Outcome(claimed.id, claimed.attempts, DeliveryState.FAILED, message=type(exc).__name__)
    return Outcome(
        claimed.id, claimed.attempts, DeliveryState.SENT, sid=result.sid,
        provider=result.provider or sender.provider.name,
    )  # fmt: skip


async def reconcile_expired(sender: Sender, session: AsyncSession, *, campaign_id: int) -> int:
    """Deliveries left `sending` by a dead worker: sent if the provider has them, else pending again."""
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
        since = (delivery.claimed_at or now) - timedelta(seconds=5)
        try:
            found = await sender.provider.find_sent(to=delivery.phone, since=since)
        except ProviderError:
            continue  # cannot tell now: the lease runs out again and someone retries the check
        match = next((m for m in found if m.body == delivery.body), None)
        if match is not None:
            outcome = Outcome(delivery.id or 0, delivery.attempts, DeliveryState.SENT, sid=match.sid,
                              provider=match.provider or sender.provider.name)  # fmt: skip
        else:
            outcome = Outcome(
                delivery.id or 0,
                delivery.attempts,
                DeliveryState.PENDING,
                message="reconciled: not at provider",
            )
        await write_outcomes(session, [outcome])
        fixed += 1
    return fixed


async def campaigns_needing_work(session: AsyncSession) -> list[tuple[int, datetime | None]]:
    """Queued or sending campaigns with their quiet-hours hold (for the sweeper after Redis lost its queue)."""
    rows = await session.exec(
        select(Campaign.id, Campaign.not_before).where(
            col(Campaign.state).in_([CampaignState.QUEUED, CampaignState.SENDING])
        )
    )
    return [(i, not_before) for i, not_before in rows.all() if i is not None]
