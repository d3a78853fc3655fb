"""arq jobs of the alerts: the daily check for overdue milestones and new black-list entries."""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Any

from notifier.bulletins.alerts import raise_alerts
from notifier.core.jobruns import finish, run_once
from notifier.core.settings import Settings

log = logging.getLogger("guatu.jobs.alerts")


async def raise_alerts_job(ctx: dict[str, Any], as_of_iso: str | None = None) -> str:
    """Send every alert not sent before, as of a date (today in the office time zone by default)."""
    settings: Settings = ctx["settings"]
    as_of = date.fromisoformat(as_of_iso) if as_of_iso else datetime.now(settings.tz).date()
    async with ctx["sessionmaker"]() as session:
        result = await raise_alerts(session, ctx["redis"], settings=settings, as_of=as_of)
    summary = (f"raised {len(result.raised)}, already sent {result.already_sent}, "
               f"unreachable {result.unreachable}, left black list {result.closed}")  # fmt: skip
    log.info("alerts as of %s: %s", as_of, summary)
    return summary


async def daily_alerts(ctx: dict[str, Any], *, today: date) -> str:
    """The alert check for one office day, once however many workers (or restarts) run it."""
    key = f"alerts:{today.isoformat()}"
    async with ctx["sessionmaker"]() as session:
        if not await run_once(session, key=key):
            return "already checked today"
    summary = await raise_alerts_job(ctx, today.isoformat())
    async with ctx["sessionmaker"]() as session:
        await finish(session, key=key, result=summary)
    return summary


async def alerts_cron(ctx: dict[str, Any]) -> str:
    """Daily at SCHEDULE_ALERTS: check today's alerts."""
    settings: Settings = ctx["settings"]
    return await daily_alerts(ctx, today=datetime.now(settings.tz).date())


FUNCTIONS = [raise_alerts_job]
