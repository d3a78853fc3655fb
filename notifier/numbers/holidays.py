"""China's public holidays and adjusted working days (调休), from the `chinesecalendar` package.

A weekly prompt, reminder or bulletin that falls on a rest day moves to the next working day,
and the week's deadline moves with the prompt. Years the package does not cover yet fall back
to Monday–Friday (and `covered` says so, so callers can warn).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import chinese_calendar

from notifier.numbers.weeks import at_weekday

if TYPE_CHECKING:
    from notifier.core.settings import Settings


def covered(day: date) -> bool:
    """True when the official holiday table covers this day's year."""
    try:
        chinese_calendar.is_workday(day)
    except NotImplementedError:
        return False
    return True


def is_workday(day: date, *, holidays: bool = True) -> bool:
    """A working day: Mon–Fri unless a public holiday, plus adjusted working weekends."""
    if holidays and covered(day):
        return bool(chinese_calendar.is_workday(day))
    return day.weekday() < 5


def next_workday(day: date, *, holidays: bool = True) -> date:
    """`day` itself when it is a working day, else the next working day."""
    while not is_workday(day, holidays=holidays):
        day += timedelta(days=1)
    return day


def shift_to_workday(moment: datetime, *, holidays: bool = True) -> datetime:
    """Keep the time of day, move the date to the next working day."""
    return moment.replace(
        year=(d := next_workday(moment.date(), holidays=holidays)).year, month=d.month, day=d.day
    )


@dataclass(frozen=True)
class WeekSchedule:
    """When a week's prompt, reminder and deadline fall, after moving off rest days."""

    week: str
    prompt: datetime
    reminder: datetime | None
    deadline: datetime
    moved_days: int


@lru_cache(maxsize=1024)  # a pure function of its arguments, asked on every report step
def week_schedule(
    week: str, *, prompt: str, reminder: str, deadline: str, tz: ZoneInfo, holidays: bool = True
) -> WeekSchedule:
    """The week's times from weekly specs ("thu 09:00"); the deadline moves as far as the prompt did."""
    base_prompt = at_weekday(week, prompt, tz)
    moved_prompt = shift_to_workday(base_prompt, holidays=holidays)
    offset = moved_prompt.date() - base_prompt.date()
    moved_deadline = at_weekday(week, deadline, tz) + offset
    moved_reminder: datetime | None = shift_to_workday(
        at_weekday(week, reminder, tz) + offset, holidays=holidays
    )
    if moved_reminder is not None and not moved_prompt < moved_reminder < moved_deadline:
        moved_reminder = None  # no working day left between prompt and deadline for a reminder
    return WeekSchedule(week=week, prompt=moved_prompt, reminder=moved_reminder, deadline=moved_deadline,
                        moved_days=offset.days)  # fmt: skip


def schedule_for_week(settings: Settings, week: str) -> WeekSchedule:
    """The week's prompt, reminder and deadline under the office's settings."""
    return week_schedule(
        week,
        prompt=settings.schedule_prompt,
        reminder=settings.schedule_reminder,
        deadline=settings.schedule_deadline,
        tz=settings.tz,
        holidays=settings.holiday_calendar == "cn",
    )
