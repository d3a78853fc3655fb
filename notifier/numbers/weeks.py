"""ISO weeks in the office time zone, and the weekly/monthly schedule specs ("thu 09:00", "10 09:00")."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

WEEKDAYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}
_WEEK_RE = re.compile(r"^(\d{4})-W(\d{2})$")
_WEEKLY_RE = re.compile(r"^\s*(mon|tue|wed|thu|fri|sat|sun)\s+(\d{1,2}):(\d{2})\s*$", re.I)
_MONTHLY_RE = re.compile(r"^\s*(\d{1,2})\s+(\d{1,2}):(\d{2})\s*$")


def week_key(day: date) -> str:
    """ISO week of a date: 2026-11-24 -> "2026-W48"."""
    iso = day.isocalendar()
    return f"{iso.year}-W{iso.week:02d}"


def week_of(moment: datetime, tz: ZoneInfo) -> str:
    """ISO week of an instant, in the office time zone."""
    return week_key(moment.astimezone(tz).date())


def parse_week(key: str) -> tuple[int, int]:
    match = _WEEK_RE.match(key)
    if not match:
        raise ValueError(f"not an ISO week: {key!r} (expected like 2026-W47)")
    year, week = int(match.group(1)), int(match.group(2))
    date.fromisocalendar(year, week, 1)  # raises ValueError for week 53 of a 52-week year
    return year, week


def week_monday(key: str) -> date:
    year, week = parse_week(key)
    return date.fromisocalendar(year, week, 1)


def week_sunday(key: str) -> date:
    return week_monday(key) + timedelta(days=6)


def previous_week(key: str) -> str:
    return week_key(week_monday(key) - timedelta(days=7))


def parse_weekly(spec: str) -> tuple[int, time]:
    """ "thu 09:00" -> (3, 09:00)."""
    match = _WEEKLY_RE.match(spec)
    if not match:
        raise ValueError(f"expected a weekday and time like 'thu 09:00', got {spec!r}")
    hour, minute = int(match.group(2)), int(match.group(3))
    return WEEKDAYS[match.group(1).lower()], time(hour, minute)


def parse_monthly(spec: str) -> tuple[int, time]:
    """ "10 09:00" -> (10, 09:00)."""
    match = _MONTHLY_RE.match(spec)
    if not match or not 1 <= int(match.group(1)) <= 28:
        raise ValueError(f"expected a day of month (1-28) and time like '10 09:00', got {spec!r}")
    return int(match.group(1)), time(int(match.group(2)), int(match.group(3)))


def at_weekday(key: str, spec: str, tz: ZoneInfo) -> datetime:
    """The instant within ISO week `key` given by a weekly spec, in `tz`."""
    weekday, at = parse_weekly(spec)
    day = week_monday(key) + timedelta(days=weekday)
    return datetime.combine(day, at, tzinfo=tz)


_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def week_label(key: str, lang: str = "zh", *, dates: bool = True) -> str:
    """How people name an ISO week: "2026-W49" -> "12月第1周 11月30日–12月6日" ("12月第1周" without
    `dates`, as the bulletins' SMS say it).

    A week belongs to the month of its Thursday (the ISO rule, so every week has exactly one month);
    it is that month's n-th week counting from the first week whose Thursday falls in it."""
    monday = week_monday(key)
    sunday = monday + timedelta(days=6)
    thursday = monday + timedelta(days=3)
    nth = (thursday.day - 1) // 7 + 1
    if lang == "en":
        month = _MONTHS_EN[thursday.month - 1]
        if not dates:
            return f"{month} week {nth}"
        return (f"{month} week {nth}, {monday.day} {_MONTHS_EN[monday.month - 1]}–"
                f"{sunday.day} {_MONTHS_EN[sunday.month - 1]}")  # fmt: skip
    if not dates:
        return f"{thursday.month}月第{nth}周"
    return f"{thursday.month}月第{nth}周 {monday.month}月{monday.day}日–{sunday.month}月{sunday.day}日"
