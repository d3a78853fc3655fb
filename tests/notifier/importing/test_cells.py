"""Cell conversion tables: dates, counts, amounts, stages, kinds, roles, phones."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest

from models import LeaderLevel, Role, Stage, UnitKind
from notifier.importing.cells import (
    CellError,
    cell_text,
    label_key,
    month_only,
    parse_amount_cell,
    parse_count,
    parse_date,
    parse_kind,
    parse_level,
    parse_phone_cell,
    parse_positive_id,
    parse_role,
    parse_stage,
    parse_week_cell,
    role_level,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, ""), ("  a b ", "a b"), (13904830001.0, "13904830001"), (1.5, "1.5"), (7, "7"),
     (datetime(2026, 3, 1), "2026-03-01"), (date(2026, 3, 1), "2026-03-01"), ("\u3000甲\u3000", "甲")],
)  # fmt: skip
def test_cell_text(value: Any, expected: str) -> None:
    assert cell_text(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [("2026-03-01", date(2026, 3, 1)), ("2026/3/1", date(2026, 3, 1)), ("2026.3.1", date(2026, 3, 1)),
     ("2026年3月1日", date(2026, 3, 1)), ("20260301", date(2026, 3, 1)), ("2026-03-01 00:00:00", date(2026, 3, 1)),
     (datetime(2026, 3, 1, 0, 0), date(2026, 3, 1)), (46082, date(2026, 3, 1)), ("46082", date(2026, 3, 1)),
     ("２０２６／３／１", date(2026, 3, 1)), ("", None), (None, None)],
)  # fmt: skip
def test_parse_date(value: Any, expected: date | None) -> None:
    assert parse_date(value) == expected


@pytest.mark.parametrize(
    "value", ["2026-13-01", "2026-02-30", "明年三月", "3/1/2026", 12, -1.0, float("nan"), "1e9"]
)
def test_parse_date_refuses(value: Any) -> None:
    with pytest.raises(CellError, match="日期无效"):
        parse_date(value)


@pytest.mark.parametrize(
    ("value", "expected"), [("", 0), (None, 0), ("5", 5), (5, 5), (5.0, 5), ("5项", 5), ("５", 5), ("8个", 8)]
)
def test_parse_count(value: Any, expected: int) -> None:
    assert parse_count(value) == expected


@pytest.mark.parametrize("value", ["-1", "2.5", "五", "1e3", 2.5])
def test_parse_count_refuses(value: Any) -> None:
    with pytest.raises(CellError, match="数量无效"):
        parse_count(value)


@pytest.mark.parametrize(
    ("value", "scale", "expected"),
    [("30000000", 1, "30000000.00"), ("3,000", 10_000, "30000000.00"), (3000, 10_000, "30000000.00"),
     (0.5, 100_000_000, "50000000.00"), ("3000万", 10_000, "30000000.00"), ("1.2亿", 1, "120000000.00"),
     ("", 1, None), (None, 1, None)],
)  # fmt: skip
def test_parse_amount_cell(value: Any, scale: int, expected: str | None) -> None:
    result = parse_amount_cell(value, scale=Decimal(scale))
    assert result == (Decimal(expected) if expected else None)


@pytest.mark.parametrize("value", ["abc", "-5", -5, "1e3", float("inf"), 1e20, "3000万万"])
def test_parse_amount_cell_refuses(value: Any) -> None:
    with pytest.raises(CellError, match="金额无效"):
        parse_amount_cell(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("前期", Stage.PREPARATORY), ("新开工", Stage.NEW), ("续建", Stage.CONTINUING),
     ("竣工投产", Stage.COMPLETED),
     (" New ", Stage.NEW), ("COMPLETED", Stage.COMPLETED), ("前 期", Stage.PREPARATORY)],
)  # fmt: skip
def test_parse_stage(value: str, expected: Stage) -> None:
    assert parse_stage(value) == expected


@pytest.mark.parametrize("value", ["", "开工", "started", 3])
def test_parse_stage_refuses(value: Any) -> None:
    with pytest.raises(CellError, match="建设性质无效"):
        parse_stage(value)


@pytest.mark.parametrize(
    ("parse", "value", "expected"),
    [(parse_kind, "旗", UnitKind.BANNER), (parse_kind, "园区", UnitKind.PARK), (parse_kind, "department",
     UnitKind.DEPARTMENT), (parse_role, "项目负责人", Role.LEAD), (parse_role, "leader", Role.LEADER),
     (parse_role, "部门联系人", Role.STAFF), (parse_level, "盟级", LeaderLevel.LEAGUE)],
)  # fmt: skip
def test_labels(parse: Any, value: str, expected: object) -> None:
    assert parse(value) == expected


def test_label_key_folds_traditional_width_spaces_and_case() -> None:
    assert label_key(" 项目 编号 ") == label_key("项目编号") == "项目编号"
    assert label_key("Total_Investment") == "totalinvestment"


@pytest.mark.parametrize(
    ("value", "expected"),
    [("13904830001", "+8613904830001"), (13904830001, "+8613904830001"), (13904830001.0, "+8613904830001"),
     ("139 0483 0001", "+8613904830001"), ("", None)],
)  # fmt: skip
def test_parse_phone_cell(value: Any, expected: str | None) -> None:
    assert parse_phone_cell(value) == expected


def test_a_landline_is_refused_at_import_with_the_reason() -> None:
    """SMS reaches mobiles only: 0483-8312345 (an Alxa League landline) is a valid number, and refused."""
    with pytest.raises(CellError, match="固定电话.*FIXED_LINE"):
        parse_phone_cell("0483-8312345")


@pytest.mark.parametrize("value", ["12345", "phone", "+86 139"])
def test_parse_phone_cell_refuses(value: str) -> None:
    with pytest.raises(CellError, match="手机号无效"):
        parse_phone_cell(value)


@pytest.mark.parametrize(
    ("value", "expected"), [("", None), ("123456789", 123456789), (123456789.0, 123456789)]
)
def test_parse_positive_id(value: Any, expected: int | None) -> None:
    assert parse_positive_id(value) == expected


@pytest.mark.parametrize("value", ["-5", "abc", "0", "1" * 30])
def test_parse_positive_id_refuses(value: str) -> None:
    with pytest.raises(CellError, match="Telegram"):
        parse_positive_id(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("2026-W47", "2026-W47"), ("2026-w7", "2026-W07"), ("2026W47", "2026-W47"), ("2026年第47周", "2026-W47"),
     ("2026年47周", "2026-W47"), (date(2026, 11, 22), "2026-W47"), (datetime(2026, 11, 16, 9), "2026-W47"),
     ("2026-11-16", "2026-W47"), ("2027/1/1", "2026-W53")],
)  # fmt: skip
def test_parse_week_cell(value: Any, expected: str) -> None:
    assert parse_week_cell(value) == expected


@pytest.mark.parametrize("value", ["", "2025-W53", "2026-W00", "第47周", "W47", 47, "2026-13-01"])
def test_parse_week_cell_refuses(value: Any) -> None:
    with pytest.raises(CellError, match="周次无效|日期无效"):
        parse_week_cell(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("2025年4月", date(2025, 4, 1)), ("2025 年 12 月份", date(2025, 12, 1)), ("2025.4", date(2025, 4, 1)),
     ("2025.10", date(2025, 10, 1)), ("2025-04", date(2025, 4, 1)), ("2025/4", date(2025, 4, 1)),
     ("２０２５年４月", date(2025, 4, 1)), (2025.4, date(2025, 4, 1)), (2025.12, date(2025, 12, 1))],
)  # fmt: skip
def test_month_only_dates_are_the_first_of_the_month(value: Any, expected: date) -> None:
    assert parse_date(value) == expected
    assert month_only(value)


@pytest.mark.parametrize("value", ["2025-04-02", "2025年4月2日", datetime(2025, 4, 1), 46082, "", None])
def test_full_dates_are_not_month_only(value: Any) -> None:
    assert not month_only(value)


@pytest.mark.parametrize(("value", "message"), [("2025年13月", "日期无效"), ("2025.0", "日期无效"),
                                                (2025.1, "可能是 2025年1月,也可能是 2025年10月"),
                                                (2025.123, "日期无效")])  # fmt: skip
def test_bad_months_are_refused(value: Any, message: str) -> None:
    with pytest.raises(CellError, match=message):
        parse_date(value)


@pytest.mark.parametrize(
    ("value", "role", "level"),
    [("盟领导", Role.LEADER, LeaderLevel.LEAGUE), ("包联盟领导", Role.LEADER, LeaderLevel.LEAGUE),
     ("旗区领导", Role.LEADER, LeaderLevel.UNIT), ("部门领导", Role.LEADER, LeaderLevel.DEPARTMENT),
     ("部门联系人", Role.STAFF, None), ("项目负责人", Role.LEAD, None), ("领导", Role.LEADER, None)],
)  # fmt: skip
def test_office_role_names(value: str, role: Role, level: LeaderLevel | None) -> None:
    assert (parse_role(value), role_level(value)) == (role, level)
