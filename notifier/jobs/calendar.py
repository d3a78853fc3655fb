"""arq crons of the dispatch calendar: the weekly prompt, reminder and deadline round, and the
daily alert check (the bulletin crons live in `notifier.jobs.bulletins`).

Each weekly cron fires every day at its spec's time of day; the job runs the week(s) whose
holiday-moved step falls on today. `run_once` with the week in the key makes a second firing
(another worker, a restart) a no-op.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Any

from arq import cron
from arq.cron import CronJob

from notifier.core.jobruns import finish, run_once
from notifier.core.settings import Settings
from notifier.jobs import bot as bot_jobs
from notifier.numbers.calendar import parse_daily, weekly_due
from notifier.numbers.weeks import parse_weekly

WeekJob = Callable[[dict[str, Any], str], Awaitable[Any]]

# step -> (settings field with its spec, the job that does the work)
WEEKLY_TARGETS: dict[str, tuple[str, WeekJob]] = {
    "prompt": ("schedule_prompt", bot_jobs.weekly_prompt),
    "reminder": ("schedule_reminder", bot_jobs.remind_leads),
    "deadline": ("schedule_deadline", bot_jobs.deadline_round),
}


async def run_week_step(ctx: dict[str, Any], step: str, *, today: date | None = None) -> list[str]:
    """Run `step` for every week whose (moved) step falls on `today` (the office's today by default);
    returns what happened per week."""
    settings: Settings = ctx["settings"]
    _, target = WEEKLY_TARGETS[step]
    today = today or datetime.now(settings.tz).date()
    outcomes = []
    for week in weekly_due(settings, step, today=today):
        key = f"{step}:{week}"
        async with ctx["sessionmaker"]() as session:
            if not await run_once(session, key=key):
                outcomes.append(f"{week}: already run")
                continue
        try:
            result = await target(ctx, week)
        except Exception as exc:
            # The claim stays (a second firing must not re-send half a round); the row says why.
            async with ctx["sessionmaker"]() as session:
                await finish(session, key=key, result=f"failed: {exc!r}"[:1000])
            raise
        async with ctx["sessionmaker"]() as session:
            await finish(session, key=key, result=str(result))
        outcomes.append(f"{week}: {result}")
    return outcomes


async def prompt_cron(ctx: dict[str, Any]) -> list[str]:
    """Thursday (or the moved day): ask every lead for the week's progress."""
    return await run_week_step(ctx, "prompt")


async def reminder_cron(ctx: dict[str, Any]) -> list[str]:
    """Friday (or the moved day): remind leads who have not reported."""
    return await run_week_step(ctx, "reminder")


async def deadline_cron(ctx: dict[str, Any]) -> list[str]:
    """Saturday noon (or moved): the deadline round, alerting leads and then department contacts."""
    return await run_week_step(ctx, "deadline")


STEP_CRONS = {"prompt": prompt_cron, "reminder": reminder_cron, "deadline": deadline_cron}


def cron_jobs(settings: Settings) -> list[CronJob]:
    """The calendar's crons at the configured times of day (the worker evaluates them in TIMEZONE)."""
    from notifier.jobs.alerts import alerts_cron

    jobs = []
    for step, (field, _) in WEEKLY_TARGETS.items():
        _, at = parse_weekly(getattr(settings, field))
        jobs.append(cron(STEP_CRONS[step], hour={at.hour}, minute={at.minute}, second={0}, unique=True))  # type: ignore[arg-type]
    at = parse_daily(settings.schedule_alerts)
    jobs.append(cron(alerts_cron, hour={at.hour}, minute={at.minute}, second={0}, unique=True))  # type: ignore[arg-type]
    return jobs
