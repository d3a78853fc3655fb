"""Quiet hours (22:00–08:00 by default, office time zone): non-urgent messages wait for the morning."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from notifier.core.settings import Settings


def in_window(moment: time, start: time, end: time) -> bool:
    if start <= end:
        return start <= moment < end
    return moment >= start or moment < end  # the window crosses midnight


def quiet_until(now: datetime, settings: Settings) -> datetime | None:
    """When the quiet window that holds `now` ends, or None when sending is allowed now."""
    window = settings.quiet_window
    if window is None:
        return None
    start, end = window
    local = now.astimezone(settings.tz)
    if not in_window(local.time(), start, end):
        return None
    day = local.date() if local.time() < end else local.date() + timedelta(days=1)
    return datetime.combine(day, end, tzinfo=settings.tz)
