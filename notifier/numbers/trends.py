"""Week over week: each rate's change against the previous bulletin and each unit's rank movement.

Works on the bulletin JSON shape (`overall` and `units` with rates as fractions and `rank`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

RATES = ("start_rate", "procedure_rate", "investment_rate")
RANKS = {"start_rate": "start", "procedure_rate": "procedure", "investment_rate": "investment"}


@dataclass(frozen=True)
class RateChange:
    """Change in percentage points (None when either side has no rate)."""

    rate: str
    points: float | None

    def render(self) -> str:
        if self.points is None:
            return "—"
        if abs(self.points) < 0.05:
            return "持平"
        return f"{'+' if self.points > 0 else '-'}{abs(self.points):.1f}个百分点"

    def render_en(self) -> str:
        if self.points is None:
            return "—"
        if abs(self.points) < 0.05:
            return "unchanged"
        return f"{self.points:+.1f} pts"


def points_change(previous: float | None, current: float | None) -> float | None:
    if previous is None or current is None:
        return None
    return round((current - previous) * 100, 1)


def rank_movement(previous: int | None, current: int | None) -> str:
    """↑2 (moved up two places), ↓1, – (same), "新" when not ranked before, "" when not ranked now."""
    if current is None:
        return ""
    if previous is None:
        return "新"
    if current < previous:
        return f"↑{previous - current}"
    if current > previous:
        return f"↓{current - previous}"
    return "–"


def overall_changes(previous: dict[str, Any] | None, current: dict[str, Any]) -> dict[str, RateChange]:
    """The overall rates' changes; all None when there is no previous bulletin."""
    before = (previous or {}).get("overall", {})
    now = current.get("overall", {})
    return {rate: RateChange(rate, points_change(before.get(rate), now.get(rate)) if previous else None)
            for rate in RATES}  # fmt: skip


def unit_movements(previous: dict[str, Any] | None, current: dict[str, Any]) -> dict[str, dict[str, str]]:
    """unit code -> {rate: movement} for every unit in the current bulletin."""
    before = {u["code"]: u for u in (previous or {}).get("units", [])}
    moves: dict[str, dict[str, str]] = {}
    for unit in current.get("units", []):
        old = before.get(unit["code"])
        moves[unit["code"]] = {
            rate: rank_movement(
                (old or {}).get("rank", {}).get(key) if old else None, unit.get("rank", {}).get(key)
            )
            for rate, key in RANKS.items()
        }
    return moves
