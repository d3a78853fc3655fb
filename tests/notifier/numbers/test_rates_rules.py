"""Each branch of the start rule for continuing (续建) projects, and the edges of the red and black
list rules (notifier.numbers.rates' docstring), one project at a time.

As of 2026-06-30 the time schedule is 0.5 (six whole months).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Channel, Person, ProgressReport, Project, Role, Stage, Unit, UnitKind, WeekPrompt
from notifier.core.settings import load_settings
from notifier.numbers.rates import compute_numbers, project_figures, scope_rates
from notifier.numbers.weeks import week_sunday

AS_OF = date(2026, 6, 30)
SETTINGS = load_settings(_env_file=None, holiday_calendar="none")


async def _world(session: AsyncSession) -> tuple[Unit, Person]:
    unit = Unit(code="U", name="单位U", kind=UnitKind.BANNER)
    lead = Person(name="负责人", phone="+8613904830001", role=Role.LEAD)
    session.add_all([unit, lead])
    await session.flush()
    return unit, lead


async def _project(session: AsyncSession, **values: Any) -> Project:
    unit, lead = await _world(session)
    fields: dict[str, Any] = {"code": "P", "name": "项目P", "year": 2026, "stage": Stage.CONTINUING,
                              "annual_plan": Decimal(1000), "unit_id": unit.id, "lead_id": lead.id}  # fmt: skip
    project = Project(**(fields | values))
    session.add(project)
    await session.flush()
    return project


def _report(project: Project, week: str, *, investment: int = 0, stage: Stage = Stage.CONTINUING,
            current: bool = True, version: int = 1, procedures: int = 0, at: datetime | None = None,
            ) -> ProgressReport:  # fmt: skip
    year = int(week[:4])
    return ProgressReport(project_id=project.id or 0, week=week, year=year, week_end=week_sunday(week),
                          channel=Channel.TELEGRAM, investment=Decimal(investment), stage=stage,
                          is_current=current, version=version, procedures_completed=procedures,
                          submitted_at=at or datetime(2026, 1, 1, tzinfo=UTC))  # fmt: skip


async def _started(session: AsyncSession, as_of: date = AS_OF) -> bool:
    [figures] = await project_figures(session, as_of=as_of)
    overall, _ = await scope_rates(session, as_of=as_of)
    assert overall.started == int(figures.started)
    return figures.started


async def _black(session: AsyncSession, as_of: date = AS_OF) -> list[str]:
    numbers = await compute_numbers(session, settings=SETTINGS, as_of=as_of)
    return [e.reason for e in numbers.black_list]


async def _red(session: AsyncSession, as_of: date = AS_OF) -> list[str]:
    numbers = await compute_numbers(session, settings=SETTINGS, as_of=as_of)
    return [e.reason for e in numbers.red_list]


# --- the start rule for continuing projects ------------------------------------------------------


async def test_continuing_with_this_years_investment_counts_as_started_without_a_report(
    session: AsyncSession,
) -> None:
    """The issue's case: under construction since 2025-03-10, 85.6% of this year's plan done."""
    await _project(session, actual_start=date(2025, 3, 10), planned_start=date(2026, 3, 1),
                   ytd_base=Decimal(856))  # fmt: skip
    assert await _started(session)
    assert await _black(session) == []


async def test_continuing_with_investment_reported_this_year(session: AsyncSession) -> None:
    project = await _project(session, actual_start=date(2025, 3, 10), planned_start=date(2026, 3, 1))
    session.add(_report(project, "2026-W10", investment=5, stage=Stage.PREPARATORY))
    await session.flush()
    assert await _started(session)
    assert not await _started(session, date(2026, 3, 7))  # the week ends on 03-08: not yet counted


async def test_continuing_with_a_resume_date_counts_from_that_date(session: AsyncSession) -> None:
    await _project(session, actual_start=date(2025, 3, 10), resumed_on=date(2026, 4, 1),
                   planned_start=date(2026, 5, 1))  # fmt: skip
    assert not await _started(session, date(2026, 3, 31))
    assert await _started(session, date(2026, 4, 1))
    assert await _black(session) == ["落后序时50.0个百分点"]  # started, nothing invested: behind, not late


async def test_a_resume_date_of_last_year_does_not_count(session: AsyncSession) -> None:
    await _project(session, actual_start=date(2024, 3, 10), resumed_on=date(2025, 3, 1),
                   planned_start=date(2026, 3, 1), annual_plan=Decimal(0))  # fmt: skip
    assert not await _started(session)
    assert await _black(session) == ["逾期未开工"]


async def test_continuing_with_a_continuing_report_this_year(session: AsyncSession) -> None:
    project = await _project(session, actual_start=date(2025, 3, 10), planned_start=date(2026, 3, 1))
    session.add(_report(project, "2026-W20"))  # 续建, nothing invested yet
    await session.flush()
    assert await _started(session)
    assert not await _started(session, date(2026, 5, 16))  # W20 ends 05-17


async def test_reports_of_other_stages_or_years_do_not_resume(session: AsyncSession) -> None:
    project = await _project(session, actual_start=date(2024, 3, 10), planned_start=date(2026, 3, 1),
                             annual_plan=Decimal(0))  # fmt: skip
    session.add_all([
        _report(project, "2025-W50"),  # 续建, but last year
        _report(project, "2026-W20", stage=Stage.PREPARATORY),
        _report(project, "2026-W21", stage=Stage.CONTINUING, current=False),  # replaced by the next line
        _report(project, "2026-W21", stage=Stage.PREPARATORY, version=2),
    ])  # fmt: skip
    await session.flush()
    assert not await _started(session)
    assert await _black(session) == ["逾期未开工"]


async def test_continuing_stage_without_a_start_date_resumes_by_investment(session: AsyncSession) -> None:
    await _project(session, ytd_base=Decimal(1), planned_start=date(2026, 3, 1))
    assert await _started(session)


async def test_a_new_project_does_not_start_by_investment_alone(session: AsyncSession) -> None:
    """Rule 3 is for continuing projects only: a new one starts when its start date is recorded."""
    await _project(session, stage=Stage.NEW, ytd_base=Decimal(1), planned_start=date(2026, 3, 1),
                   annual_plan=Decimal(0))  # fmt: skip
    assert not await _started(session)
    assert await _black(session) == ["逾期未开工"]


async def test_continuing_with_nothing_this_year(session: AsyncSession) -> None:
    """None of the three: late once its planned (re)start is on or before the date, not before."""
    await _project(session, actual_start=date(2025, 3, 10), planned_start=date(2026, 6, 30),
                   annual_plan=Decimal(0))  # fmt: skip
    assert not await _started(session)
    assert await _black(session, date(2026, 6, 29)) == []
    assert await _black(session, date(2026, 6, 30)) == ["逾期未开工"]


async def test_started_this_year(session: AsyncSession) -> None:
    await _project(session, stage=Stage.NEW, actual_start=date(2026, 6, 30), planned_start=date(2026, 6, 1))
    assert not await _started(session, date(2026, 6, 29))
    assert await _started(session, date(2026, 6, 30))


async def test_a_completed_project_is_never_late(session: AsyncSession) -> None:
    await _project(
        session, stage=Stage.COMPLETED, actual_start=date(2025, 3, 10), planned_start=date(2026, 3, 1)
    )
    assert not await _started(session)
    assert await _black(session) == []


# --- investment: current versions only -----------------------------------------------------------


async def test_superseded_versions_are_not_counted(session: AsyncSession) -> None:
    project = await _project(session, stage=Stage.NEW, actual_start=date(2026, 2, 1), procedures_required=4)
    session.add_all([
        _report(project, "2026-W10", investment=300, current=False, procedures=1),
        _report(project, "2026-W10", investment=200, version=2, procedures=2),
        _report(project, "2026-W11", investment=100),
    ])  # fmt: skip
    await session.flush()
    numbers = await compute_numbers(session, settings=SETTINGS, as_of=AS_OF)
    assert numbers.overall.investment_done == Decimal("300.00")
    assert numbers.overall.procedures_done == 2
    assert numbers.overall.investment_rate == Decimal("0.3")
    [figures] = await project_figures(session, as_of=AS_OF)
    assert (figures.investment_done, figures.procedures_done, figures.reports) == (Decimal("300.00"), 2, 2)


async def test_procedures_done_are_capped_at_required(session: AsyncSession) -> None:
    project = await _project(session, stage=Stage.NEW, actual_start=date(2026, 2, 1), procedures_required=3,
                             procedures_base=2)  # fmt: skip
    session.add(_report(project, "2026-W10", procedures=2))
    await session.flush()
    numbers = await compute_numbers(session, settings=SETTINGS, as_of=AS_OF)
    assert (numbers.overall.procedures_done, numbers.overall.procedures_required) == (3, 3)


# --- red and black list edges ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("done", "black", "red"),
    [
        (300, [], []),  # 30% vs 50%: exactly 20 points behind is not black-listed...
        (299, ["落后序时20.1个百分点"], []),  # ...20.1 is
        (500, [], ["与序时持平"]),  # level with the schedule: red
        (499, [], []),  # 0.1 behind: neither
        (501, [], ["超序时0.1个百分点"]),
    ],
)
async def test_lag_edges(session: AsyncSession, done: int, black: list[str], red: list[str]) -> None:
    project = await _project(session, stage=Stage.NEW, actual_start=date(2026, 2, 1))
    session.add(_report(project, "2026-W10", investment=done))
    await session.flush()
    numbers = await compute_numbers(session, settings=SETTINGS, as_of=AS_OF)
    assert [e.reason for e in numbers.black_list] == black
    assert [e.reason for e in numbers.red_list] == red


async def test_a_late_start_far_behind_gives_both_reasons(session: AsyncSession) -> None:
    await _project(session, stage=Stage.NEW, planned_start=date(2026, 3, 1))
    assert await _black(session) == ["逾期未开工;落后序时50.0个百分点"]


async def test_not_started_before_its_planned_start_is_on_neither_list(session: AsyncSession) -> None:
    await _project(session, stage=Stage.NEW, planned_start=date(2026, 7, 1), ytd_base=Decimal(0))
    assert await _black(session) == [] and await _red(session) == []


def _prompt(project: Project, week: str) -> WeekPrompt:
    sunday = week_sunday(week)
    return WeekPrompt(project_id=project.id or 0, week=week,
                      deadline=datetime(sunday.year, sunday.month, sunday.day, tzinfo=UTC))  # fmt: skip


@pytest.mark.parametrize(
    ("reported", "black", "red"),
    [
        ({"2026-W24", "2026-W25"}, [], ["超序时10.0个百分点"]),
        ({"2026-W24"}, [], []),  # missed only the latest: off the red list, not black
        ({"2026-W25"}, [], ["超序时10.0个百分点"]),  # missed only the one before
        (set(), ["连续两周未报送"], []),
    ],
)
async def test_missed_weeks(
    session: AsyncSession, reported: set[str], black: list[str], red: list[str]
) -> None:
    project = await _project(session, stage=Stage.NEW, actual_start=date(2026, 2, 1), ytd_base=Decimal(600))
    session.add_all(
        [_prompt(project, "2026-W24"), _prompt(project, "2026-W25"), _prompt(project, "2025-W52")]
    )
    session.add_all([_report(project, w, at=datetime(2026, 6, 1, tzinfo=UTC)) for w in sorted(reported)])
    await session.flush()
    assert await _black(session) == black
    assert await _red(session) == red


async def test_a_report_after_the_deadline_is_a_miss(session: AsyncSession) -> None:
    project = await _project(session, stage=Stage.NEW, actual_start=date(2026, 2, 1), ytd_base=Decimal(600))
    session.add_all([_prompt(project, "2026-W24"), _prompt(project, "2026-W25")])
    late = datetime(2026, 6, 21, 0, 0, 1, tzinfo=UTC)  # a second after the W25 deadline
    on_time = datetime(2026, 6, 14, tzinfo=UTC)  # the W24 deadline itself
    session.add_all([_report(project, "2026-W24", at=on_time), _report(project, "2026-W25", at=late)])
    await session.flush()
    assert await _red(session) == []  # W25 missed
    assert await _black(session) == []  # W24 was on time


async def test_last_years_prompts_do_not_count(session: AsyncSession) -> None:
    project = await _project(session, stage=Stage.NEW, actual_start=date(2026, 2, 1), ytd_base=Decimal(600))
    session.add_all([_prompt(project, "2025-W51"), _prompt(project, "2025-W52")])
    session.add(_report(project, "2026-W02"))
    await session.flush()
    assert await _black(session) == []
    assert await _red(session) == ["超序时10.0个百分点"]
