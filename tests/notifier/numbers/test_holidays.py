"""Holiday-aware scheduling on China's real 2026 calendar (public holidays and 调休 working days)."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from notifier.numbers.holidays import covered, is_workday, next_workday, week_schedule

TZ = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(
    ("day", "workday"),
    [
        (date(2026, 11, 24), True),  # an ordinary Tuesday
        (date(2026, 11, 28), False),  # an ordinary Saturday
        (date(2026, 10, 1), False),  # National Day, a Thursday
        (date(2026, 10, 10), True),  # 调休: a working Saturday
        (date(2026, 2, 14), True),  # 调休 before the Spring Festival
        (date(2026, 2, 17), False),  # Spring Festival
        (date(2026, 5, 1), False),  # Labour Day, a Friday
        (date(2026, 9, 20), True),  # 调休: a working Sunday
    ],
)
def test_workdays_follow_the_official_table(day: date, workday: bool) -> None:
    assert is_workday(day) is workday


def test_ignoring_holidays_is_plain_monday_to_friday() -> None:
    assert is_workday(date(2026, 10, 1), holidays=False)
    assert not is_workday(date(2026, 10, 10), holidays=False)


def test_next_workday_skips_the_golden_week() -> None:
    assert next_workday(date(2026, 10, 1)) == date(2026, 10, 8)
    assert next_workday(date(2026, 11, 24)) == date(2026, 11, 24)


def test_an_ordinary_week_is_unchanged() -> None:
    s = week_schedule("2026-W48", prompt="thu 09:00", reminder="fri 09:00", deadline="sat 12:00", tz=TZ)
    assert s.prompt == datetime(2026, 11, 26, 9, 0, tzinfo=TZ)
    assert s.reminder == datetime(2026, 11, 27, 9, 0, tzinfo=TZ)
    assert s.deadline == datetime(2026, 11, 28, 12, 0, tzinfo=TZ)
    assert s.moved_days == 0


def test_prompt_on_national_day_moves_and_the_deadline_moves_with_it() -> None:
    # Thursday 2026-10-01 is National Day; the holiday runs to 10-07, 10-08 is the next working day.
    s = week_schedule("2026-W40", prompt="thu 09:00", reminder="fri 09:00", deadline="sat 12:00", tz=TZ)
    assert s.prompt == datetime(2026, 10, 8, 9, 0, tzinfo=TZ)
    assert s.moved_days == 7
    assert s.deadline == datetime(2026, 10, 10, 12, 0, tzinfo=TZ)
    assert s.reminder == datetime(2026, 10, 9, 9, 0, tzinfo=TZ)


def test_a_saturday_send_stays_on_a_tiaoxiu_working_saturday() -> None:
    # 2026-10-10 is a 调休 working Saturday: a Saturday job that week is not moved...
    s = week_schedule("2026-W41", prompt="sat 09:00", reminder="sat 10:00", deadline="sun 12:00", tz=TZ)
    assert s.prompt == datetime(2026, 10, 10, 9, 0, tzinfo=TZ)
    # ...while on an ordinary Saturday it moves to Monday.
    s = week_schedule("2026-W48", prompt="sat 09:00", reminder="sat 10:00", deadline="sun 12:00", tz=TZ)
    assert s.prompt == datetime(2026, 11, 30, 9, 0, tzinfo=TZ)
    assert s.deadline == datetime(2026, 12, 1, 12, 0, tzinfo=TZ)


def test_years_beyond_the_table_fall_back_to_weekdays() -> None:
    far = date(2099, 1, 1)
    assert not covered(far)
    assert is_workday(far) is (far.weekday() < 5)


def test_settings_can_turn_holidays_off() -> None:
    from notifier.core.settings import load_settings
    from notifier.numbers.holidays import schedule_for_week

    on = schedule_for_week(load_settings(_env_file=None), "2026-W40")
    off = schedule_for_week(load_settings(_env_file=None, holiday_calendar="none"), "2026-W40")
    assert on.prompt.date() == date(2026, 10, 8)
    assert off.prompt.date() == date(2026, 10, 1)
