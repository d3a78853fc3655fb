"""Every definition of the numbers on a small hand-computed dataset (DESIGN.md, "Numbers").

Year 2026, as of 2026-06-30 (the last day of June: 6 whole months, time schedule 0.5).

Unit A: P1 continuing, resumed 2026-03-01, plan 1000, base 300 + reports 100 + 200 = 600 (0.6);
        procedures 4 required, 2 before + 1 + 3 reported = min(4, 6) = 4.
        P2 new, planned 2026-04-01, not started; plan 1000, nothing done; procedures 1 of 6.
Unit B: P3 new, started 2026-02-01, plan 2000, base 1000 + 0 + 200 (a late report still counts) = 1200;
        prompted W24 (no report) and W25 (report after the deadline): two misses running.
        P4 continuing, started 2025 and not resumed this year: not started; plan 0; procedures 2 of 2;
        prompted for W26 and silent.
Unit C: no projects.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Channel, Person, ProgressReport, Project, Role, Stage, Unit, UnitKind, WeekPrompt
from notifier.core.settings import load_settings
from notifier.numbers.rates import (
    compute_numbers,
    points,
    project_figures,
    rank_units,
    ratio,
    scope_rates,
    time_schedule,
)
from notifier.numbers.weeks import week_sunday

AS_OF = date(2026, 6, 30)
SETTINGS = load_settings(_env_file=None, holiday_calendar="none")


def _report(
    project: Project, week: str, investment: int, procedures: int, submitted: datetime
) -> ProgressReport:
    return ProgressReport(project_id=project.id or 0, week=week, year=2026, week_end=week_sunday(week),
                          channel=Channel.TELEGRAM, investment=Decimal(investment), procedures_completed=procedures,
                          stage=project.stage, submitted_at=submitted)  # fmt: skip


def _at(day: str, hour: int = 9) -> datetime:
    return datetime.fromisoformat(f"{day}T{hour:02d}:00:00").replace(tzinfo=UTC)


async def _dataset(session: AsyncSession) -> dict[str, Project]:
    units = {code: Unit(code=code, name=f"单位{code}", kind=UnitKind.BANNER, sort_order=i)
             for i, code in enumerate("ABC")}  # fmt: skip
    session.add_all(units.values())
    await session.flush()
    lead = Person(name="负责人", phone="+8613904830001", role=Role.LEAD)
    session.add(lead)
    await session.flush()

    def project(code: str, unit: str, stage: Stage, **kw: object) -> Project:
        values: dict[str, object] = {"year": 2026, **kw}
        return Project(code=code, name=f"项目{code}", unit_id=units[unit].id or 0, stage=stage,
                       lead_id=lead.id, **values)  # type: ignore[arg-type]  # fmt: skip

    p = {
        "P1": project("P1", "A", Stage.CONTINUING, actual_start=date(2025, 5, 1), resumed_on=date(2026, 3, 1),
                      annual_plan=Decimal(1000), ytd_base=Decimal(300), procedures_required=4, procedures_base=2),
        "P2": project("P2", "A", Stage.NEW, planned_start=date(2026, 4, 1), annual_plan=Decimal(1000),
                      procedures_required=6, procedures_base=1),
        "P3": project("P3", "B", Stage.NEW, actual_start=date(2026, 2, 1), annual_plan=Decimal(2000),
                      ytd_base=Decimal(1000)),
        "P4": project("P4", "B", Stage.CONTINUING, actual_start=date(2025, 6, 1), procedures_required=2,
                      procedures_base=2),
        # Another year's list and an inactive project never count.
        "OLD": project("OLD", "C", Stage.NEW, year=2025, annual_plan=Decimal(5000)),
        "OFF": project("OFF", "C", Stage.NEW, active=False, annual_plan=Decimal(5000)),
    }  # fmt: skip
    session.add_all(p.values())
    await session.flush()
    session.add_all([
        _report(p["P1"], "2026-W10", 100, 1, _at("2026-03-05")),
        _report(p["P1"], "2026-W20", 200, 3, _at("2026-05-14")),
        _report(p["P3"], "2026-W20", 0, 0, _at("2026-05-14")),
        _report(p["P3"], "2026-W25", 200, 0, _at("2026-06-22")),  # after the W25 deadline
        _report(p["P1"], "2026-W27", 999, 0, _at("2026-07-02")),  # after the as-of date: not counted
        WeekPrompt(project_id=p["P3"].id or 0, week="2026-W24", prompted_at=_at("2026-06-11"),
                   deadline=_at("2026-06-13", 4)),
        WeekPrompt(project_id=p["P3"].id or 0, week="2026-W25", prompted_at=_at("2026-06-18"),
                   deadline=_at("2026-06-20", 4)),
        WeekPrompt(project_id=p["P4"].id or 0, week="2026-W26", prompted_at=_at("2026-06-25"),
                   deadline=_at("2026-06-27", 4)),
    ])  # fmt: skip
    await session.commit()
    return p


@pytest.mark.parametrize(
    ("day", "mode", "expected"),
    [
        (date(2026, 11, 24), "months", Decimal(10) / 12),
        (date(2026, 11, 30), "months", Decimal(11) / 12),
        (date(2026, 1, 15), "months", Decimal(0)),
        (date(2026, 12, 31), "months", Decimal(1)),
        (date(2026, 3, 1), "days", Decimal(60) / 365),
        (date(2024, 2, 29), "days", Decimal(60) / 366),  # leap year
        (date(2024, 12, 31), "days", Decimal(1)),
    ],
)
def test_time_schedule(day: date, mode: str, expected: Decimal) -> None:
    assert time_schedule(day, mode) == expected


def test_zero_denominator_has_no_rate() -> None:
    assert ratio(5, 0) is None
    assert ratio(Decimal(0), Decimal(0)) is None
    assert ratio(0, 4) == 0
    assert points(None, Decimal("0.5")) is None
    assert points(Decimal("0.6"), Decimal("0.5")) == Decimal("10.0")


async def test_rates_rankings_and_lists(session: AsyncSession) -> None:
    await _dataset(session)
    numbers = await compute_numbers(session, settings=SETTINGS, as_of=AS_OF)
    data = numbers.to_json()
    assert data["time_schedule"] == 0.5
    assert data["overall"] == {
        "projects": 4,
        "start_rate": 0.5,
        "procedure_rate": 0.5833,
        "investment_rate": 0.45,
    }
    units = {u["code"]: u for u in data["units"]}
    assert units["A"] == {"code": "A", "name": "单位A", "projects": 2, "start_rate": 0.5, "procedure_rate": 0.5,
                          "investment_rate": 0.3, "rank": {"start": 1, "procedure": 2, "investment": 2}}  # fmt: skip
    assert units["B"] == {"code": "B", "name": "单位B", "projects": 2, "start_rate": 0.5, "procedure_rate": 1.0,
                          "investment_rate": 0.6, "rank": {"start": 1, "procedure": 1, "investment": 1}}  # fmt: skip
    # A unit with no projects has no rates and no rank.
    assert units["C"]["projects"] == 0
    assert units["C"]["rank"] == {"start": None, "procedure": None, "investment": None}
    assert units["C"]["start_rate"] is None

    assert [(e["code"], e["reason"]) for e in data["red_list"]] == [("P1", "超序时10.0个百分点")]
    assert [(e["code"], e["reason"]) for e in data["black_list"]] == [
        ("P2", "逾期未开工;落后序时50.0个百分点"),
        ("P3", "连续两周未报送"),
    ]
    assert data["report_week"] == "2026-W26"
    assert [n["code"] for n in data["not_reported"]] == ["P4"]


async def test_as_of_before_the_reports(session: AsyncSession) -> None:
    await _dataset(session)
    numbers = await compute_numbers(session, settings=SETTINGS, as_of=date(2026, 3, 1))
    a = numbers.unit("A")
    assert a is not None
    # Only P1's base counts before its first report week ends (2026-03-08); it resumed on 03-01.
    assert a.rates.investment_done == Decimal("300.00")
    assert a.rates.started == 1
    assert numbers.overall.started == 2  # P3 started 02-01
    assert numbers.time_schedule == Decimal(2) / 12


@pytest.mark.parametrize("as_of", [date(2026, 3, 1), AS_OF, date(2026, 12, 31)])
async def test_per_project_sums_match_the_sql_aggregation(session: AsyncSession, as_of: date) -> None:
    """The per-project rows (lists, wall, workbook) add up to the SQL aggregation of the scopes."""
    await _dataset(session)
    overall, per_unit = await scope_rates(session, as_of=as_of)
    figures = await project_figures(session, as_of=as_of)
    assert overall.projects == len(figures) == sum(s.projects for s in per_unit.values())
    assert overall.started == sum(1 for f in figures if f.started)
    assert overall.procedures_done == sum(f.procedures_done for f in figures)
    assert overall.investment_done == sum((f.investment_done for f in figures), Decimal(0))
    assert overall.investment_plan == sum((f.annual_plan for f in figures), Decimal(0))


async def test_unit_scope_narrows_lists(session: AsyncSession) -> None:
    await _dataset(session)
    numbers = await compute_numbers(session, settings=SETTINGS, as_of=AS_OF, unit_code="B")
    assert [e.code for e in numbers.black_list] == ["P3"]
    assert numbers.red_list == []
    assert [n.code for n in numbers.not_reported] == ["P4"]
    assert len(numbers.units) == 3  # the ranking still covers every unit


def test_ties_share_a_rank_and_list_by_code() -> None:
    from notifier.numbers.rates import ScopeRates, UnitRates, ranked

    def unit(code: str, started: int) -> UnitRates:
        return UnitRates(code=code, name=code, short_name=code, unit_id=0,
                         rates=ScopeRates(4, started, 0, 0, Decimal(0), Decimal(0)))  # fmt: skip

    units = [unit("Z", 2), unit("B", 4), unit("A", 2), unit("M", 1)]
    rank_units(units)
    assert [(u.code, u.rank["start_rate"]) for u in ranked(units, "start_rate")] == [
        ("B", 1), ("A", 2), ("Z", 2), ("M", 4)
    ]  # fmt: skip
    assert all(u.rank["procedure_rate"] is None for u in units)
