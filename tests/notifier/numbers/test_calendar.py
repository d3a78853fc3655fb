"""The dispatch calendar's next-run times (pure), holiday moves included."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from notifier.core.errors import SettingsError
from notifier.core.settings import Settings, load_settings
from notifier.numbers.calendar import (
    next_daily,
    next_monthly,
    next_runs,
    next_week_step,
    next_weekly,
    parse_daily,
    weekly_due,
)

TZ = ZoneInfo("Asia/Shanghai")


def _local(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=TZ)


def _settings(**overrides: object) -> Settings:
    return load_settings(_env_file=None, **overrides)


@pytest.mark.parametrize(
    ("spec", "after", "expected"),
    [
        ("mon 09:00", _local(2026, 11, 24, 10, 0), _local(2026, 11, 30, 9, 0)),  # Tue -> next Mon
        ("mon 09:00", _local(2026, 11, 30, 8, 59), _local(2026, 11, 30, 9, 0)),  # same day, later
        ("mon 09:00", _local(2026, 11, 30, 9, 0), _local(2026, 12, 7, 9, 0)),  # strictly after
        ("thu 09:00", datetime(2026, 11, 26, 0, 59, tzinfo=UTC), _local(2026, 11, 26, 9, 0)),  # 08:59 local
        ("thu 09:00", datetime(2026, 11, 26, 1, 0, tzinfo=UTC), _local(2026, 12, 3, 9, 0)),  # 09:00 local
        ("sat 12:00", _local(2026, 12, 31, 13, 0), _local(2027, 1, 2, 12, 0)),  # across the year
    ],
)
def test_next_weekly(spec: str, after: datetime, expected: datetime) -> None:
    assert next_weekly(spec, after=after, tz=TZ) == expected


@pytest.mark.parametrize(
    ("spec", "after", "expected"),
    [
        ("10 09:00", _local(2026, 11, 24, 10, 0), _local(2026, 12, 10, 9, 0)),
        ("10 09:00", _local(2026, 12, 10, 8, 0), _local(2026, 12, 10, 9, 0)),
        ("10 09:00", _local(2026, 12, 10, 9, 0), _local(2027, 1, 10, 9, 0)),
        ("1 09:00", _local(2026, 12, 31, 23, 0), _local(2027, 1, 1, 9, 0)),
        ("20 09:00", datetime(2026, 2, 20, 0, 30, tzinfo=UTC), _local(2026, 2, 20, 9, 0)),
    ],
)
def test_next_monthly(spec: str, after: datetime, expected: datetime) -> None:
    assert next_monthly(spec, after=after, tz=TZ) == expected


@pytest.mark.parametrize(
    ("spec", "after", "expected"),
    [
        ("09:30", _local(2026, 11, 24, 9, 29), _local(2026, 11, 24, 9, 30)),
        ("09:30", _local(2026, 11, 24, 9, 30), _local(2026, 11, 25, 9, 30)),
        ("00:00", _local(2026, 12, 31, 12, 0), _local(2027, 1, 1, 0, 0)),
    ],
)
def test_next_daily(spec: str, after: datetime, expected: datetime) -> None:
    assert next_daily(spec, after=after, tz=TZ) == expected


@pytest.mark.parametrize(
    ("step", "today", "weeks"),
    [
        ("prompt", date(2026, 11, 26), ["2026-W48"]),  # an ordinary Thursday
        ("prompt", date(2026, 11, 25), []),
        ("deadline", date(2026, 11, 28), ["2026-W48"]),
        # National Day: W40's Thursday prompt (Oct 1) moves to Thu Oct 8, W41's own prompt day.
        ("prompt", date(2026, 10, 1), []),
        ("prompt", date(2026, 10, 8), ["2026-W40", "2026-W41"]),
        ("reminder", date(2026, 10, 9), ["2026-W40", "2026-W41"]),
        # W40's deadline moves with its prompt: Sat Oct 10, an adjusted working day (调休).
        ("deadline", date(2026, 10, 10), ["2026-W40", "2026-W41"]),
        ("deadline", date(2026, 10, 3), []),
    ],
)
def test_weekly_due_follows_holiday_moves(step: str, today: date, weeks: list[str]) -> None:
    assert weekly_due(_settings(), step, today=today) == weeks


def test_weekly_due_without_holidays_keeps_the_plain_weekday() -> None:
    assert weekly_due(_settings(holiday_calendar="none"), "prompt", today=date(2026, 10, 1)) == ["2026-W40"]


@pytest.mark.parametrize(
    ("step", "after", "week", "at"),
    [
        ("prompt", _local(2026, 11, 24, 10, 0), "2026-W48", _local(2026, 11, 26, 9, 0)),
        ("prompt", _local(2026, 9, 25, 10, 0), "2026-W40", _local(2026, 10, 8, 9, 0)),
        ("deadline", _local(2026, 10, 5, 10, 0), "2026-W40", _local(2026, 10, 10, 12, 0)),
    ],
)
def test_next_week_step(step: str, after: datetime, week: str, at: datetime) -> None:
    assert next_week_step(_settings(), step, after=after) == (week, at)


def test_next_runs_table() -> None:
    runs = next_runs(_settings(), after=_local(2026, 11, 24, 10, 0))
    assert [(r.name, r.at, r.period) for r in runs] == [
        ("alerts", _local(2026, 11, 25, 9, 30), "2026-11-25"),
        ("prompt", _local(2026, 11, 26, 9, 0), "2026-W48"),
        ("reminder", _local(2026, 11, 27, 9, 0), "2026-W48"),
        ("deadline", _local(2026, 11, 28, 12, 0), "2026-W48"),
        ("weekly_bulletin", _local(2026, 11, 30, 9, 0), "2026-W49"),
        ("monthly_report", _local(2026, 12, 1, 9, 0), "2026-12"),
        ("procedures_dispatch", _local(2026, 12, 10, 9, 0), "2026-12"),
        ("investment_dispatch", _local(2026, 12, 20, 9, 0), "2026-12"),
    ]


def test_next_runs_follow_configured_times() -> None:
    settings = _settings(
        schedule_prompt="tue 15:30", schedule_alerts="07:05", schedule_monthly_report="2 08:00"
    )
    runs = {r.name: r.at for r in next_runs(settings, after=_local(2026, 11, 24, 10, 0))}
    assert runs["prompt"] == _local(2026, 11, 24, 15, 30)  # later the same Tuesday
    assert runs["alerts"] == _local(2026, 11, 25, 7, 5)
    assert runs["monthly_report"] == _local(2026, 12, 2, 8, 0)


@pytest.mark.parametrize("spec", ["24:00", "9", "9:5", "09:60", "mon 09:00", ""])
def test_bad_daily_spec_is_refused(spec: str) -> None:
    with pytest.raises(ValueError, match="09:30"):
        parse_daily(spec)


def test_bad_alert_time_setting_names_the_setting() -> None:
    with pytest.raises(SettingsError, match="SCHEDULE_ALERTS"):
        _settings(schedule_alerts="half past nine")
