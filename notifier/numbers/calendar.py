"""The dispatch calendar: when each scheduled job next runs, in the office time zone (pure).

Weekly prompts, reminders and deadlines follow `holidays.schedule_for_week` (moved off public
holidays, 调休 working days honoured); bulletins, dispatches and the monthly report follow their
specs; the alert check runs daily. The arq crons in `notifier.jobs.calendar` fire at the spec's
time of day and ask `weekly_due` whether today is the (moved) day.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from notifier.core.settings import Settings
from notifier.numbers.holidays import schedule_for_week
from notifier.numbers.weeks import parse_monthly, parse_weekly, previous_week, week_key, week_monday

_DAILY_RE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*$")

# Weekly steps of the report cycle, each a field of holidays.WeekSchedule.
WEEK_STEPS = ("prompt", "reminder", "deadline")


def parse_daily(spec: str) -> time:
    """ "09:30" -> 09:30."""
    match = _DAILY_RE.match(spec)
    if not match or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        raise ValueError(f"expected a time of day like '09:30', got {spec!r}")
    return time(int(match.group(1)), int(match.group(2)))


def next_daily(spec: str, *, after: datetime, tz: ZoneInfo) -> datetime:
    """The first instant strictly after `after` at the spec's time of day, in `tz`."""
    local = after.astimezone(tz)
    at = datetime.combine(local.date(), parse_daily(spec), tzinfo=tz)
    return at if at > local else datetime.combine(local.date() + timedelta(days=1), at.timetz())


def next_weekly(spec: str, *, after: datetime, tz: ZoneInfo) -> datetime:
    """The first instant strictly after `after` on the spec's weekday and time ("mon 09:00"), in `tz`."""
    weekday, at = parse_weekly(spec)
    local = after.astimezone(tz)
    day = local.date() + timedelta(days=(weekday - local.weekday()) % 7)
    moment = datetime.combine(day, at, tzinfo=tz)
    return moment if moment > local else datetime.combine(day + timedelta(days=7), at, tzinfo=tz)


def next_monthly(spec: str, *, after: datetime, tz: ZoneInfo) -> datetime:
    """The first instant strictly after `after` on the spec's day of month and time ("10 09:00")."""
    day, at = parse_monthly(spec)
    local = after.astimezone(tz)
    moment = datetime.combine(local.date().replace(day=day), at, tzinfo=tz)
    if moment > local:
        return moment
    year, month = (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
    return datetime.combine(date(year, month, day), at, tzinfo=tz)


def next_week_step(settings: Settings, step: str, *, after: datetime) -> tuple[str, datetime]:
    """The next (week, instant) of a weekly step ("prompt", "reminder", "deadline") after `after`,
    holidays moved; weeks whose reminder was dropped (no working day left) are passed over."""
    week = previous_week(week_key(after.astimezone(settings.tz).date()))
    for _ in range(60):  # a moved step is never weeks away; the bound only guards against a bad table
        moment = getattr(schedule_for_week(settings, week), step)
        if moment is not None and moment > after:
            return week, moment
        week = week_key(week_monday(week) + timedelta(days=7))
    raise ValueError(f"no {step} found within 60 weeks after {after.isoformat()}")


def weekly_due(settings: Settings, step: str, *, today: date) -> list[str]:
    """The ISO weeks whose (holiday-moved) `step` falls on `today`, oldest first.

    Usually zero or one; a step moved across a long holiday can share a day with the next week's.
    """
    this_week = week_key(today)
    weeks = [previous_week(previous_week(this_week)), previous_week(this_week), this_week]
    due = []
    for week in weeks:
        moment = getattr(schedule_for_week(settings, week), step)
        if moment is not None and moment.date() == today:
            due.append(week)
    return due


@dataclass(frozen=True)
class CalendarEntry:
    """One scheduled job's next run: what, when (office time), and for which period."""

    name: str
    at: datetime
    period: str


def next_runs(settings: Settings, *, after: datetime) -> list[CalendarEntry]:
    """Every calendar job's next run after `after`, soonest first."""
    tz = settings.tz
    entries = [
        CalendarEntry(step, moment, week)
        for step in WEEK_STEPS
        for week, moment in [next_week_step(settings, step, after=after)]
    ]
    bulletin = next_weekly(settings.schedule_bulletin, after=after, tz=tz)
    entries.append(CalendarEntry("weekly_bulletin", bulletin, week_key(bulletin.date())))
    for name, spec in (("procedures_dispatch", settings.schedule_procedures_dispatch),
                       ("investment_dispatch", settings.schedule_investment_dispatch),
                       ("monthly_report", settings.schedule_monthly_report)):  # fmt: skip
        moment = next_monthly(spec, after=after, tz=tz)
        entries.append(CalendarEntry(name, moment, f"{moment.year}-{moment.month:02d}"))
    alerts = next_daily(settings.schedule_alerts, after=after, tz=tz)
    entries.append(CalendarEntry("alerts", alerts, alerts.date().isoformat()))
    return sorted(entries, key=lambda e: (e.at, e.name))
