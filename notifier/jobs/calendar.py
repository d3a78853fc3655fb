"""arq crons of the dispatch calendar: the weekly prompt, reminder and deadline round, and the
daily alert check (the bulletin crons live in `notifier.jobs.bulletins`).

Each weekly cron fires every day at its spec's time of day; the job runs the week(s) whose
holiday-moved step falls on today. `run_once` with the week in the key makes a second firing
(another worker, a restart) a no-op.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Any

from arq import cron
from arq.cron import CronJob

from notifier.calendar import parse_daily, weekly_due
from notifier.jobruns import finish, run_once
from notifier.settings import Settings
from notifier.weeks import parse_weekly

log = logging.getLogger("guatu.jobs.calendar")

# step -> (settings field with its spec, module and function of the job that does the work)
WEEKLY_TARGETS: dict[str, tuple[str, str, str]] = {
    "prompt": ("schedule_prompt", "notifier.jobs.bot", "weekly_prompt"),
    "reminder": ("schedule_reminder", "notifier.jobs.bot", "remind_leads"),
    "deadline": ("schedule_deadline", "notifier.jobs.bot", "deadline_round"),
}

WeekJob = Callable[[dict[str, Any], str], Awaitable[Any]]


def find_target(module: str, name: str) -> WeekJob | None:
    """The job function that does a step's work, or None while it is not built yet."""
    try:
        found = getattr(importlib.import_module(module), name, None)
    except ModuleNotFoundError as exc:
        if exc.name != module:
            raise  # the module exists but something it needs is missing: a real error, not "not built"
        return None
    return found if callable(found) else None


async def run_week_step(ctx: dict[str, Any], step: str, *, today: date | None = None) -> list[str]:
    """Run `step` for every week whose (moved) step falls on `today` (the office's today by default);
    returns what happened per week."""
    settings: Settings = ctx["settings"]
    _, module, name = WEEKLY_TARGETS[step]
    today = today or datetime.now(settings.tz).date()
    outcomes = []
    for week in weekly_due(settings, step, today=today):
        target = find_target(module, name)
        if target is None:
            log.warning("%s for %s: %s.%s not built yet / 尚未实现", step, week, module, name)
            outcomes.append(f"{week}: not built yet")
            continue
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
    for step, (field, _, _) in WEEKLY_TARGETS.items():
        _, at = parse_weekly(getattr(settings, field))
        jobs.append(cron(STEP_CRONS[step], hour={at.hour}, minute={at.minute}, second={0}, unique=True))  # type: ignore[arg-type]
    at = parse_daily(settings.schedule_alerts)
    jobs.append(cron(alerts_cron, hour={at.hour}, minute={at.minute}, second={0}, unique=True))  # type: ignore[arg-type]
    return jobs
