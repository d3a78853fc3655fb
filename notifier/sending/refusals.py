"""What the send loop does when a provider refuses, by the kind of the code (notifier.sending.codes):
the outcome for the one delivery, then what it means for the campaign — a text stopped for everyone,
the whole campaign paused with the reason, the admin told."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime, time, timedelta

from sqlalchemy import update
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Campaign, CampaignState, Delivery, DeliveryState, utcnow
from notifier.core.audit import record_audit
from notifier.core.settings import Settings
from notifier.core.texts import t
from notifier.sending.codes import Action, meaning
from notifier.sending.optout import opt_out
from notifier.sending.outcomes import Claimed, Outcome, backoff
from notifier.sending.providers.base import ProviderError
from notifier.sending.quiet import quiet_until

log = logging.getLogger("guatu.sending")


def tomorrow(now: datetime, settings: Settings) -> datetime:
    """When a daily quota has surely reset: a few minutes past local midnight, after quiet hours."""
    local = now.astimezone(settings.tz)
    moment = datetime.combine(local.date() + timedelta(days=1), time(0, 5), tzinfo=settings.tz)
    return quiet_until(moment, settings) or moment


def outcome_for_error(claimed: Claimed, exc: ProviderError, settings: Settings, *, provider: str) -> Outcome:
    """The delivery's outcome for a refusal, by what the provider's code means."""
    now = utcnow()
    failed = Outcome(claimed.id, claimed.attempts, DeliveryState.FAILED, code=exc.code or exc.status,
                     provider_code=exc.provider_code, message=str(exc), provider=provider, action=exc.action,
                     opt_out=exc.opt_out)  # fmt: skip
    pending = replace(failed, state=DeliveryState.PENDING)
    if exc.outcome_unknown:
        # It may have been accepted: never resend blind. Keep the claim and look at the provider first.
        recheck = now + timedelta(seconds=settings.sms_reconcile_after_seconds)
        return replace(failed, state=DeliveryState.SENDING, recheck_at=recheck)
    last = claimed.attempts >= settings.sms_max_attempts
    if exc.action == Action.RETRY and not last:
        return replace(pending, next_attempt_at=now + backoff(claimed.attempts, settings.sms_retry_base_ms))
    if exc.action == Action.HOLD_DAY:
        return replace(pending, next_attempt_at=tomorrow(now, settings), skip_reason="provider_daily_limit",
                       refund=True)  # fmt: skip
    if exc.action == Action.ACCOUNT:
        # Not the recipient's fault and nothing was sent: back to pending, the campaign pauses.
        return replace(pending, refund=True)
    if exc.action == Action.UNKNOWN and not last:
        held = now + timedelta(minutes=settings.sms_unknown_hold_minutes)
        return replace(pending, next_attempt_at=held, skip_reason="unknown_code")
    return replace(failed, skip_reason="content_rejected" if exc.action == Action.CONTENT else None)


def _both(key: str, **values: object) -> str:
    """Stored for the admin in both languages, Chinese first (the page shows it as it is)."""
    return f"{t(key, 'zh', **values)} / {t(key, 'en', **values)}"


async def apply_consequences(
    session: AsyncSession, *, campaign_id: int, claimed: list[Claimed], outcomes: list[Outcome]
) -> None:
    """After a batch's outcomes are written: opt-outs the provider reported, texts it refused stopped
    for everyone, the campaign paused on an account error, the admin told. Commits."""
    by_id = {c.id: c for c in claimed}
    stopped: dict[str, Outcome] = {}
    for o in outcomes:
        c = by_id.get(o.id)
        if c is None:
            continue
        if o.opt_out:
            await opt_out(session, phone=c.phone, source="provider")
        if o.action == Action.CONTENT and o.state == DeliveryState.FAILED:
            stopped.setdefault(c.body, o)
    for body, o in stopped.items():
        await _stop_text(session, campaign_id=campaign_id, body=body, outcome=o)
    account = next(
        (o for o in outcomes if o.action == Action.ACCOUNT and o.state == DeliveryState.PENDING), None
    )
    if account is not None:
        await _pause(session, campaign_id=campaign_id, outcome=account)
    unknown = next((o for o in outcomes if o.action == Action.UNKNOWN), None)
    if unknown is not None:
        notice = _both("code.unknown_held", provider=unknown.provider, code=unknown.provider_code,
                       message=(unknown.message or "")[:200])  # fmt: skip
        await _notice(session, campaign_id=campaign_id, notice=notice, detail={"code": unknown.provider_code})
    await session.commit()


async def _stop_text(session: AsyncSession, *, campaign_id: int, body: str, outcome: Outcome) -> None:
    now = utcnow()
    result = await session.execute(
        update(Delivery)
        .where(col(Delivery.campaign_id) == campaign_id, col(Delivery.state) == DeliveryState.PENDING,
               col(Delivery.body) == body)
        .values(state=DeliveryState.SKIPPED, skip_reason="content_rejected", provider_code=outcome.provider_code,
                error_code=outcome.code, final_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )  # fmt: skip
    count = int(getattr(result, "rowcount", 0) or 0) + 1
    notice = _both("code.content_stopped", provider=outcome.provider, code=outcome.provider_code,
                   meaning=meaning(outcome.provider, outcome.provider_code), count=count)  # fmt: skip
    log.warning("campaign %s: provider refused a text (%s); %d deliveries stopped", campaign_id,
                outcome.provider_code, count)  # fmt: skip
    await _notice(session, campaign_id=campaign_id, notice=notice, detail={"code": outcome.provider_code})


async def _pause(session: AsyncSession, *, campaign_id: int, outcome: Outcome) -> None:
    reason = _both("code.paused", provider=outcome.provider, code=outcome.provider_code,
                   meaning=meaning(outcome.provider, outcome.provider_code))  # fmt: skip
    result = await session.execute(
        update(Campaign)
        .where(col(Campaign.id) == campaign_id,
               col(Campaign.state).in_([CampaignState.QUEUED, CampaignState.SENDING]))
        .values(state=CampaignState.PAUSED, pause_reason=reason)
        .execution_options(synchronize_session=False)
    )  # fmt: skip
    if getattr(result, "rowcount", 0):
        log.error(
            "campaign %s paused: provider %s answered %s",
            campaign_id,
            outcome.provider,
            outcome.provider_code,
        )
        await record_audit(session, action="sms.campaign_paused", channel="worker",
                           detail={"campaign_id": campaign_id, "code": outcome.provider_code})  # fmt: skip


async def _notice(session: AsyncSession, *, campaign_id: int, notice: str, detail: dict[str, object]) -> None:
    await session.execute(
        update(Campaign).where(col(Campaign.id) == campaign_id).values(notice=notice)
        .execution_options(synchronize_session=False)
    )  # fmt: skip
    await record_audit(session, action="sms.provider_notice", channel="worker",
                       detail={"campaign_id": campaign_id, **detail})  # fmt: skip
