"""Week-over-week changes and rank movements on hand-made bulletin numbers."""

import pytest

from notifier.numbers.trends import RateChange, overall_changes, points_change, rank_movement, unit_movements


@pytest.mark.parametrize(
    ("previous", "current", "expected"),
    [(3, 1, "↑2"), (1, 2, "↓1"), (2, 2, "–"), (None, 4, "新"), (2, None, "")],
)
def test_rank_movement(previous: int | None, current: int | None, expected: str) -> None:
    assert rank_movement(previous, current) == expected


@pytest.mark.parametrize(
    ("previous", "current", "points", "zh"),
    [(0.80, 0.85, 5.0, "+5.0个百分点"), (0.5, 0.473, -2.7, "-2.7个百分点"), (0.5, 0.5, 0.0, "持平"),
     (None, 0.5, None, "—")],
)  # fmt: skip
def test_points_change(previous: float | None, current: float | None, points: float | None, zh: str) -> None:
    assert points_change(previous, current) == points
    assert RateChange("start_rate", points).render() == zh


def test_bulletin_comparison() -> None:
    previous = {
        "overall": {"start_rate": 0.90, "procedure_rate": 0.70, "investment_rate": None},
        "units": [{"code": "ALZQ", "rank": {"start": 2, "procedure": 1, "investment": None}},
                  {"code": "EJNQ", "rank": {"start": 1, "procedure": 2, "investment": 1}}],
    }  # fmt: skip
    current = {
        "overall": {"start_rate": 0.94, "procedure_rate": 0.70, "investment_rate": 0.60},
        "units": [{"code": "ALZQ", "rank": {"start": 1, "procedure": 2, "investment": 1}},
                  {"code": "EJNQ", "rank": {"start": 2, "procedure": 1, "investment": 2}},
                  {"code": "TGL", "rank": {"start": 3, "procedure": 3, "investment": None}}],
    }  # fmt: skip
    changes = overall_changes(previous, current)
    assert [c.render() for c in changes.values()] == ["+4.0个百分点", "持平", "—"]
    assert unit_movements(previous, current) == {
        "ALZQ": {"start_rate": "↑1", "procedure_rate": "↓1", "investment_rate": "新"},
        "EJNQ": {"start_rate": "↓1", "procedure_rate": "↑1", "investment_rate": "↓1"},
        "TGL": {"start_rate": "新", "procedure_rate": "新", "investment_rate": ""},
    }
    assert all(c.points is None for c in overall_changes(None, current).values())
