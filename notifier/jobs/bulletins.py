"""arq jobs of the bulletins: compose for sign-off ahead of the send time, release at the send time."""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta
from typing import Any

from arq import cron

from models import BulletinKind, utcnow
from notifier.bulletins.compose import draft_bulletin, period_key, release_bulletin
from notifier.bulletins.signoff import release_due
from notifier.core.errors import GuatuError
from notifier.core.jobruns import run_once
from notifier.core.settings import Settings
from notifier.numbers.calendar import next_monthly
from notifier.numbers.weeks import parse_monthly, parse_weekly

log = logging.getLogger("guatu.jobs.bulletins")


async def compose_bulletin_job(
    ctx: dict[str, Any], kind: str, as_of_iso: str, send_at_iso: str | None = None
) -> str:
    """Compose one bulletin as a draft due at `send_at` (once per kind and period)."""
    settings: Settings = ctx["settings"]
    as_of = date.fromisoformat(as_of_iso)
    bulletin_kind = BulletinKind(kind)
    async with ctx["sessionmaker"]() as session:
        if not await run_once(session, key=f"compose:{kind}:{period_key(bulletin_kind, as_of)}"):
            return "already composed"
        send_at = datetime.fromisoformat(send_at_iso) if send_at_iso else utcnow()
        bulletin, _ = await draft_bulletin(
            session, settings=settings, kind=bulletin_kind, as_of=as_of, send_at=send_at
        )
        return f"bulletin {bulletin.id} {bulletin.state}"


async def release_bulletins_job(ctx: dict[str, Any]) -> str:
    """Every minute: send approved bulletins whose time has come (with their Telegram copies);
    expire unapproved ones (not sent; approvers told); ask approvers about new drafts, remind them
    before the send time, remind leaders who have not acknowledged a bulletin, and tell admins of
    mass sends paused or held by the provider's answer."""
    from notifier.bulletins import chat_copies

    settings: Settings = ctx["settings"]
    chat = ctx.get("chat")
    async with ctx["sessionmaker"]() as session:
        due = await release_due(session)
        await session.commit()
        blocked: list[tuple[int, str]] = []
        for bulletin_id in [b.id or 0 for b in due.to_send]:
            # Each in a session of its own: one bulletin that cannot go (an unregistered template,
            # a text over the carriers' limit) must not hold up the others; it stays approved and
            # is tried again next run.
            async with ctx["sessionmaker"]() as release_session:
                try:
                    campaign = await release_bulletin(release_session, ctx["redis"], settings=settings,
                                                      bulletin_id=bulletin_id)  # fmt: skip
                except GuatuError as exc:
                    await release_session.rollback()
                    log.error("bulletin %s could not be sent: %s", bulletin_id, exc)
                    blocked.append((bulletin_id, str(exc)))
                    continue
            log.info("bulletin %s released as campaign %s", bulletin_id, campaign.id)
        for bulletin in due.to_send:
            session.expire(bulletin)  # released in sessions of their own: read them afresh
        for bulletin in due.expired:
            log.warning("bulletin %s was not approved by %s and was not sent", bulletin.id, bulletin.send_at)
        if chat is not None:
            await chat_copies.send_pending_copies(session, chat)
            await chat_copies.tell_expired(session, chat, settings=settings, bulletins=due.expired)
            await chat_copies.tell_blocked(session, chat, settings=settings, blocked=blocked)
            await chat_copies.ask_for_new_drafts(session, chat, settings=settings)
            await chat_copies.remind_approvers(session, chat, settings=settings)
            await chat_copies.remind_unread(session, chat, settings=settings)
            await chat_copies.tell_campaign_notices(session, chat, settings=settings)
    return f"sent {len(due.to_send) - len(blocked)}, blocked {len(blocked)}, expired {len(due.expired)}"


async def send_bulletin_job(ctx: dict[str, Any], kind: str, as_of_iso: str) -> str:
    """Compose now and send now if approved (auto-approve); otherwise it waits for sign-off."""
    await compose_bulletin_job(ctx, kind, as_of_iso, utcnow().isoformat())
    return await release_bulletins_job(ctx)


def _weekly_cron(settings: Settings) -> Any:
    weekday, at = parse_weekly(settings.schedule_bulletin)
    composed = datetime.combine(date(2026, 1, 5) + timedelta(days=weekday), at) - timedelta(
        minutes=settings.bulletin_compose_lead_minutes
    )
    return composed.weekday(), composed.hour, composed.minute


async def weekly_compose_cron(ctx: dict[str, Any]) -> str:
    settings: Settings = ctx["settings"]
    weekday, at = parse_weekly(settings.schedule_bulletin)
    today = datetime.now(settings.tz).date()
    send_at = datetime.combine(today, at, tzinfo=settings.tz)
    if send_at < datetime.now(settings.tz):
        send_at = datetime.now(settings.tz)
    return await compose_bulletin_job(ctx, BulletinKind.WEEKLY, today.isoformat(), send_at.isoformat())


def monthly_kinds(settings: Settings) -> list[tuple[BulletinKind, str]]:
    """The 旬调度 bulletins (10th, 20th) and the monthly report, each with its send spec."""
    return [(BulletinKind.PROCEDURES, settings.schedule_procedures_dispatch),
            (BulletinKind.INVESTMENT, settings.schedule_investment_dispatch),
            (BulletinKind.MONTHLY, settings.schedule_monthly_report)]  # fmt: skip


def _compose_time_of_day(at: time, lead_minutes: int) -> time:
    return (datetime.combine(date(2026, 1, 1), at) - timedelta(minutes=lead_minutes)).time()


def _monthly(kind: BulletinKind, spec: str) -> Any:
    """A daily cron at the send time of day less BULLETIN_COMPOSE_LEAD_MINUTES: when the next send
    of `spec` is within the lead, the draft is composed for it, due at its send time, so that
    approvers have the same sign-off window as for the weekly bulletin."""

    async def job(ctx: dict[str, Any]) -> str:
        settings: Settings = ctx["settings"]
        now = datetime.now(settings.tz)
        send_at = next_monthly(spec, after=now - timedelta(minutes=1), tz=settings.tz)
        if send_at - now > timedelta(minutes=settings.bulletin_compose_lead_minutes + 1):
            return "not due"
        return await compose_bulletin_job(ctx, kind, send_at.date().isoformat(), send_at.isoformat())

    job.__name__ = f"{kind}_compose_cron"
    job.__qualname__ = job.__name__
    return job


def cron_jobs(settings: Settings) -> list[Any]:
    weekday, hour, minute = _weekly_cron(settings)
    jobs = [
        cron(release_bulletins_job, second={30}, unique=True),  # type: ignore[arg-type]
        cron(weekly_compose_cron, weekday={weekday}, hour={hour}, minute={minute}, second={0}, unique=True),  # type: ignore[arg-type]
    ]
    for kind, spec in monthly_kinds(settings):
        _, at = parse_monthly(spec)
        compose = _compose_time_of_day(at, settings.bulletin_compose_lead_minutes)
        jobs.append(cron(_monthly(kind, spec), hour={compose.hour}, minute={compose.minute}, second={0},
                         unique=True))  # fmt: skip
    return jobs


FUNCTIONS = [compose_bulletin_job, release_bulletins_job, send_bulletin_job]
