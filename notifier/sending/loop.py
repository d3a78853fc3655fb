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

- A send whose outcome is unknown (a timeout after the request left) stays `sending` and is
  reconciled (notifier.sending.reconcile) before any resend.
- Each SID is recorded when its batch is written; a status callback that arrives earlier is parked
  and applied then (notifier.sending.deliveries), so no receipt is lost.

Refusals are acted on by the kind of the provider's code (notifier.sending.codes, refusals): retry
with an exponential backoff with jitter up to SMS_MAX_ATTEMPTS; permanent ends `failed`; a daily
quota holds until tomorrow; a refused text is stopped for everyone; an account or configuration
error pauses the campaign with the reason; an unknown code is held and the admin told. Only an
unsubscribed number (Twilio 21610) is recorded as opted out.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Campaign, CampaignState, Delivery, DeliveryState, utcnow
from models.db import SessionMaker
from notifier.core.settings import Settings
from notifier.sending.audiences import opted_out_numbers
from notifier.sending.carrier import carrier_holds
from notifier.sending.deliveries import apply_parked
from notifier.sending.outcomes import Claimed, Outcome, backoff, write_outcomes
from notifier.sending.providers.base import ProviderError, SmsProvider, TemplateUse
from notifier.sending.ratelimit import RateLimiter
from notifier.sending.reconcile import reconcile_expired
from notifier.sending.refusals import apply_consequences, outcome_for_error
from notifier.sending.templates import (
    needs_template,
    registered_templates,
    registry_required,
    template_use,
    templates_everywhere,
    without_signature,
)

__all__ = ["Claimed", "Outcome", "Sender", "backoff", "claim_batch", "reconcile_expired", "run_campaign",
           "send_one", "write_outcomes"]  # fmt: skip
log = logging.getLogger("guatu.sending")
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
        # Evaluated once: PostgreSQL may otherwise re-run a semi-join subquery per row, and each run
        # skips the rows the previous one locked, claiming more than `size`.
        .cte("due")
        .prefix_with("MATERIALIZED", dialect="postgresql")
    )
    result = await session.execute(
        update(Delivery)
        .where(col(Delivery.id).in_(select(due.c.id)), col(Delivery.state) == DeliveryState.PENDING)
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
            outcomes, templates = await screen(sender, session, claimed)
        ready = [c for c in claimed if c.id not in {o.id for o in outcomes}]
        outcomes += await asyncio.gather(*(send_one(sender, c, template=templates.get(c.id)) for c in ready))
        # A claim whose lease could not be kept was not sent: the row stays `sending` until its
        # lease runs out and reconciliation settles it.
        outcomes = [o for o in outcomes if o.state != DeliveryState.SENDING or o.recheck_at is not None]
        async with sender.sessionmaker() as session:
            await write_outcomes(session, outcomes)
            # Callbacks that outran these sends were parked: they apply now that the SIDs are known.
            await apply_parked(session, sids=[o.sid for o in outcomes if o.sid])
            await apply_consequences(session, campaign_id=campaign_id, claimed=claimed, outcomes=outcomes)
        handled += len(claimed)


async def screen(
    sender: Sender, session: AsyncSession, claimed: list[Claimed]
) -> tuple[list[Outcome], dict[int, TemplateUse]]:
    """Right before sending: drop opted-out numbers, find each text's registered template, hold what
    the carriers' limits would reject."""
    outcomes: list[Outcome] = []
    templates: dict[int, TemplateUse] = {}
    opted = await opted_out_numbers(session, phones=[c.phone for c in claimed])
    for c in claimed:
        if c.phone in opted:
            outcomes.append(Outcome(c.id, c.attempts, DeliveryState.SKIPPED, skip_reason="opted_out"))
    if registry_required(sender.settings):
        # A template removed after the campaign was created: not sent, and counted with the reason.
        registered = await registered_templates(session)
        signature, everywhere = sender.settings.sms_signature, templates_everywhere(sender.settings)
        for c in claimed:
            use = template_use(without_signature(c.body, signature), registered)
            if use is not None:
                templates[c.id] = use
            elif c.phone not in opted and needs_template(c.phone, everywhere=everywhere):
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
    return outcomes, templates


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


async def send_one(sender: Sender, claimed: Claimed, *, template: TemplateUse | None = None) -> Outcome:
    settings = sender.settings
    async with sender._gate:
        if sender.limiter is not None:
            await sender.limiter.acquire()
        if not await keep_lease(sender, claimed):
            log.warning("delivery %s: lease ran out before sending; left to reconciliation", claimed.id)
            return Outcome(claimed.id, claimed.attempts, DeliveryState.SENDING)
        try:
            result = await sender.provider.send(to=claimed.phone, body=claimed.body, reference=claimed.reference,
                                                template=template)  # fmt: skip
        except ProviderError as exc:
            return outcome_for_error(claimed, exc, settings, provider=sender.provider.name)
        except Exception as exc:  # an adapter bug must not leave the row stranded: retry as transient
            log.exception("provider raised unexpectedly for delivery %s", claimed.id)
            if claimed.attempts < settings.sms_max_attempts:
                return Outcome(claimed.id, claimed.attempts, DeliveryState.PENDING, message=type(exc).__name__,
                               next_attempt_at=utcnow() + backoff(claimed.attempts, settings.sms_retry_base_ms))  # fmt: skip
            return Outcome(claimed.id, claimed.attempts, DeliveryState.FAILED, message=type(exc).__name__)
    return Outcome(
        claimed.id, claimed.attempts, DeliveryState.SENT, sid=result.sid,
        provider=result.provider or sender.provider.name, price=result.price, price_unit=result.price_unit,
    )  # fmt: skip


async def campaigns_needing_work(session: AsyncSession) -> list[tuple[int, datetime | None]]:
    """Queued or sending campaigns with their quiet-hours hold (for the sweeper after Redis lost its queue)."""
    rows = await session.exec(
        select(Campaign.id, Campaign.not_before).where(
            col(Campaign.state).in_([CampaignState.QUEUED, CampaignState.SENDING])
        )
    )
    return [(i, not_before) for i, not_before in rows.all() if i is not None]
