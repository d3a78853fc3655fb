"""The rates' pure helpers at their edges, black_list (what the alerts read) with its time schedule
mode, year and lag limit, and the per-unit figures behind rankings and lists."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Channel, Person, ProgressReport, Project, Role, Stage, Unit, UnitKind
from notifier.core.settings import load_settings
from notifier.numbers.rates import (
    ScopeRates,
    UnitRates,
    black_list,
    compute_numbers,
    fraction,
    not_reported,
    points,
    rank_units,
    ranked,
    ratio,
    time_schedule,
    week_activity,
    window,
)
from notifier.numbers.weeks import week_sunday

SETTINGS = load_settings(_env_file=None, holiday_calendar="none")


@pytest.mark.parametrize(
    ("as_of", "mode", "expected"),
    [
        (date(2026, 6, 29), "months", Decimal(5) / 12),
        (date(2026, 6, 30), "months", Decimal(6) / 12),
        (date(2026, 1, 1), "months", Decimal(0)),
        (date(2026, 1, 31), "months", Decimal(1) / 12),
        (date(2026, 12, 31), "months", Decimal(1)),
        (date(2028, 2, 28), "months", Decimal(1) / 12),  # leap year: February ends on the 29th
        (date(2028, 2, 29), "months", Decimal(2) / 12),
        (date(2026, 1, 1), "days", Decimal(1) / 365),
        (date(2026, 12, 31), "days", Decimal(1)),
        (date(2028, 12, 31), "days", Decimal(1)),
        (date(2028, 3, 1), "days", Decimal(61) / 366),
    ],
)
def test_time_schedule(as_of: date, mode: str, expected: Decimal) -> None:
    assert time_schedule(as_of, mode) == expected


def test_ratio_points_and_fraction_edges() -> None:
    assert ratio(1, 0) is None and ratio(Decimal(0), Decimal(0)) is None
    assert ratio(0, 4) == Decimal(0) and ratio(3, 4) == Decimal("0.75")
    assert points(None, Decimal("0.5")) is None
    assert points(Decimal("0.30005"), Decimal("0.5")) == Decimal("-20.0")
    assert points(Decimal("0.5005"), Decimal("0.5")) == Decimal("0.1")  # half up, not to even
    assert points(Decimal("0.5"), Decimal("0.5")) == Decimal("0.0")
    assert fraction(None) is None
    assert fraction(Decimal("0.75125")) == 0.7513 and fraction(Decimal("0.75124")) == 0.7512


def test_window_counts_dates_up_to_the_list_year_s_end() -> None:
    assert window(date(2027, 1, 5), 2026).day == date(2026, 12, 31)
    assert window(date(2026, 6, 30)).day == date(2026, 6, 30) and window(date(2026, 6, 30)).year == 2026
    assert window(date(2026, 6, 30), 2026).start == date(2026, 1, 1)


def _unit(code: str, started: int, projects: int = 4) -> UnitRates:
    return UnitRates(code=code, name=code, short_name=code, unit_id=0,
                     rates=ScopeRates(projects, started, 0, 0, Decimal(0), Decimal(0)))  # fmt: skip


def test_ranks_share_ties_skip_after_them_and_leave_unrated_units_last() -> None:
    units = [_unit("D", 1), _unit("B", 3), _unit("A", 3), _unit("C", 0, projects=0), _unit("E", 2)]
    rank_units(units)
    assert {u.code: u.rank["start_rate"] for u in units} == {"A": 1, "B": 1, "E": 3, "D": 4, "C": None}
    assert [u.code for u in ranked(units, "start_rate")] == ["A", "B", "E", "D", "C"]
    assert {u.code: u.rank["investment_rate"] for u in units} == dict.fromkeys("ABCDE")


# --- black_list, as the alerts read it ------------------------------------------------------------


async def _project(session: AsyncSession, *, code: str = "P", year: int = 2026, **values: Any) -> Project:
    unit = Unit(code=f"U{code}", name=f"单位{code}", kind=UnitKind.BANNER)
    lead = Person(name=f"负责人{code}", phone=f"+86139048300{len(code)}{ord(code[-1]) % 10}", role=Role.LEAD)
    session.add_all([unit, lead])
    await session.flush()
    fields: dict[str, Any] = {"code": code, "name": f"项目{code}", "year": year, "stage": Stage.NEW,
                              "annual_plan": Decimal(1000), "unit_id": unit.id, "lead_id": lead.id}  # fmt: skip
    project = Project(**(fields | values))
    session.add(project)
    await session.flush()
    return project


async def test_black_list_uses_the_configured_schedule_mode_and_lag(session: AsyncSession) -> None:
    """As of 2026-06-29, 250 of 1000 done: 16.7 points behind by whole months (5/12), 24.3 by days
    (180/365)."""
    await _project(session, actual_start=date(2026, 2, 1), ytd_base=Decimal(250))
    day = date(2026, 6, 29)
    assert await black_list(session, settings=SETTINGS, as_of=day) == []
    by_days = SETTINGS.model_copy(update={"time_schedule_mode": "days"})
    [entry] = await black_list(session, settings=by_days, as_of=day)
    assert (entry.code, entry.name, entry.unit_code, entry.reason) == (
        "P",
        "项目P",
        "UP",
        "落后序时24.3个百分点",
    )
    stricter = SETTINGS.model_copy(update={"black_list_lag_points": 16.6})
    assert [e.reason for e in await black_list(session, settings=stricter, as_of=day)] == [
        "落后序时16.7个百分点"
    ]


async def test_black_list_of_a_closing_year_is_measured_at_its_end(session: AsyncSession) -> None:
    """In January the closing year's list is measured against the full year (schedule 100%)."""
    await _project(session, actual_start=date(2026, 2, 1), ytd_base=Decimal(790))
    assert await black_list(session, settings=SETTINGS, as_of=date(2027, 1, 5)) == []  # 2027's list: empty
    [entry] = await black_list(session, settings=SETTINGS, as_of=date(2027, 1, 5), year=2026)
    assert entry.reason == "落后序时21.0个百分点"
    assert await black_list(session, settings=SETTINGS, as_of=date(2026, 12, 30)) == []  # 11/12: 12.7 behind


async def test_black_list_of_an_unstarted_project_names_its_lead(session: AsyncSession) -> None:
    project = await _project(session, planned_start=date(2026, 3, 1))
    [entry] = await black_list(session, settings=SETTINGS, as_of=date(2026, 3, 1))
    assert (entry.project_id, entry.lead_id, entry.reason) == (project.id, project.lead_id, "逾期未开工")
    assert await black_list(session, settings=SETTINGS, as_of=date(2026, 2, 28)) == []


# --- per unit -------------------------------------------------------------------------------------


def _report(project: Project, week: str, investment: int, *, current: bool = True, version: int = 1,
            procedures: int = 0) -> ProgressReport:  # fmt: skip
    return ProgressReport(project_id=project.id or 0, week=week, year=int(week[:4]), week_end=week_sunday(week),
                          channel=Channel.TELEGRAM, investment=Decimal(investment), stage=Stage.NEW,
                          is_current=current, version=version, procedures_completed=procedures,
                          submitted_at=datetime(2026, 1, 1, tzinfo=UTC))  # fmt: skip


async def test_unit_figures_count_only_current_reports_of_the_year_up_to_the_date(
    session: AsyncSession,
) -> None:
    a = await _project(session, code="A", actual_start=date(2026, 2, 1), ytd_base=Decimal(100),
                       procedures_required=4, procedures_base=1)  # fmt: skip
    b = await _project(session, code="B", planned_start=date(2026, 9, 1), annual_plan=Decimal(3000),
                       procedures_required=2)  # fmt: skip
    await _project(session, code="C", year=2025, actual_start=date(2025, 2, 1), ytd_base=Decimal(999))
    await _project(session, code="D", active=False, actual_start=date(2026, 2, 1), ytd_base=Decimal(999))
    session.add_all([
        _report(a, "2026-W10", 300, current=False, procedures=2),
        _report(a, "2026-W10", 200, version=2, procedures=1),
        _report(a, "2026-W27", 50),  # ends 2026-07-05: after the date
        _report(a, "2025-W50", 70),  # last year's
        _report(b, "2026-W12", 600, procedures=1),
    ])  # fmt: skip
    await session.flush()
    numbers = await compute_numbers(session, settings=SETTINGS, as_of=date(2026, 6, 30))
    figures = {u.code: u.rates for u in numbers.units}
    assert figures["UA"] == ScopeRates(1, 1, 2, 4, Decimal("300.00"), Decimal("1000.00"))
    assert figures["UB"] == ScopeRates(1, 0, 1, 2, Decimal("600.00"), Decimal("3000.00"))
    assert figures["UC"] == figures["UD"] == ScopeRates(0, 0, 0, 0, Decimal(0), Decimal(0))
    assert numbers.overall == ScopeRates(2, 1, 3, 6, Decimal("900.00"), Decimal("4000.00"))
    assert numbers.unit("UA") is not None and numbers.unit("UA").code == "UA"  # type: ignore[union-attr]
    assert numbers.unit("nope") is None
    data = numbers.to_json()
    assert data["overall"] == {
        "projects": 2,
        "start_rate": 0.5,
        "procedure_rate": 0.5,
        "investment_rate": 0.225,
    }
    assert data["text"]["overall"] == {
        "start_rate": "50.0%",
        "procedure_rate": "50.0%",
        "investment_rate": "22.5%",
    }
    assert data["text"]["units"]["UB"]["investment_rate"] == "20.0%"
    assert data["text"]["time_schedule"] == "50.0%" and data["time_schedule"] == 0.5
    [ua] = [u for u in data["units"] if u["code"] == "UA"]
    assert ua["rank"] == {"start": 1, "procedure": 1, "investment": 1} and ua["name"] == "单位A"


# --- date edges of the start rule and of the reports that count --------------------------------------


async def _started(session: AsyncSession, as_of: date) -> int:
    numbers = await compute_numbers(session, settings=SETTINGS, as_of=as_of)
    return numbers.overall.started


async def test_a_start_or_resume_on_new_year_s_day_counts(session: AsyncSession) -> None:
    await _project(session, code="A", actual_start=date(2026, 1, 1))
    await _project(session, code="B", stage=Stage.CONTINUING, actual_start=date(2025, 1, 1),
                   resumed_on=date(2026, 1, 1))  # fmt: skip
    await _project(session, code="C", stage=Stage.CONTINUING, actual_start=date(2025, 12, 31),
                   resumed_on=date(2025, 12, 31))  # fmt: skip
    assert await _started(session, date(2026, 1, 1)) == 2


async def test_a_report_counts_from_the_sunday_its_week_ends(session: AsyncSession) -> None:
    project = await _project(session, stage=Stage.CONTINUING, actual_start=date(2025, 3, 1))
    session.add(_report(project, "2026-W10", 5))  # ends Sunday 2026-03-08
    await session.flush()
    assert await _started(session, date(2026, 3, 7)) == 0
    assert await _started(session, date(2026, 3, 8)) == 1
    numbers = await compute_numbers(session, settings=SETTINGS, as_of=date(2026, 3, 8))
    assert numbers.overall.investment_done == Decimal("5.00")


async def test_a_continuing_report_of_the_year_resumes_without_investment(session: AsyncSession) -> None:
    project = await _project(session, stage=Stage.CONTINUING, actual_start=date(2025, 3, 1))
    report = _report(project, "2026-W10", 0)
    report.stage = Stage.CONTINUING
    other = await _project(session, code="Q", stage=Stage.CONTINUING, actual_start=date(2025, 3, 1))
    session.add_all([report, _report(other, "2026-W10", 0)])  # the other reports stage 新建
    await session.flush()
    assert await _started(session, date(2026, 3, 8)) == 1


async def test_a_started_project_without_reports_this_year_is_not_on_the_red_list(
    session: AsyncSession,
) -> None:
    await _project(session, actual_start=date(2026, 2, 1), ytd_base=Decimal(900), unit_leader_id=None)
    numbers = await compute_numbers(session, settings=SETTINGS, as_of=date(2026, 6, 30))
    assert numbers.red_list == [] and numbers.black_list == []


async def test_list_entries_carry_the_people_alerts_go_to(session: AsyncSession) -> None:
    leader = Person(name="旗领导", phone="+8613904839001", role=Role.LEADER)
    session.add(leader)
    await session.flush()
    ahead = await _project(session, code="A", actual_start=date(2026, 2, 1), ytd_base=Decimal(600),
                           unit_leader_id=leader.id)  # fmt: skip
    session.add(_report(ahead, "2026-W10", 0))
    late = await _project(session, code="L", planned_start=date(2026, 3, 1), unit_leader_id=leader.id)
    await session.flush()
    numbers = await compute_numbers(session, settings=SETTINGS, as_of=date(2026, 6, 30))
    [red] = numbers.red_list
    [black] = numbers.black_list
    assert (
        red.project_id,
        red.code,
        red.name,
        red.unit_code,
        red.lead_id,
        red.unit_leader_id,
        red.reason,
    ) == (ahead.id, "A", "项目A", "UA", ahead.lead_id, leader.id, "超序时10.0个百分点")
    assert (black.project_id, black.lead_id, black.unit_leader_id, black.unit_code) == (
        late.id,
        late.lead_id,
        leader.id,
        "UL",
    )


# --- misses: the end of the day ---------------------------------------------------------------------


async def test_a_week_is_missed_once_its_deadline_is_past_by_the_end_of_the_day(
    session: AsyncSession,
) -> None:
    """Deadlines at midnight Beijing after 06-29 (inside the day's end) and a second later."""
    from models import WeekPrompt

    project = await _project(session, actual_start=date(2026, 2, 1), ytd_base=Decimal(600))
    end_of_29th = datetime(2026, 6, 30, tzinfo=SETTINGS.tz)
    session.add_all([
        WeekPrompt(project_id=project.id or 0, week="2026-W25", deadline=end_of_29th - timedelta(days=7)),
        WeekPrompt(project_id=project.id or 0, week="2026-W26", deadline=end_of_29th),
    ])  # fmt: skip
    await session.flush()
    numbers = await compute_numbers(session, settings=SETTINGS, as_of=date(2026, 6, 29))
    assert [e.reason for e in numbers.black_list] == ["连续两周未报送"]
    prompt = (await session.exec(select(WeekPrompt).where(WeekPrompt.week == "2026-W26"))).one()
    prompt.deadline = end_of_29th + timedelta(seconds=1)
    session.add(prompt)
    await session.flush()
    numbers = await compute_numbers(session, settings=SETTINGS, as_of=date(2026, 6, 29))
    assert numbers.black_list == []


# --- the week's activity ----------------------------------------------------------------------------


async def test_the_week_s_activity(session: AsyncSession) -> None:
    """W26 runs Mon 06-22 to Sun 06-28: starts and resumptions on those days count, current reports of
    the week are summed."""
    await _project(session, code="A", actual_start=date(2026, 6, 22))
    await _project(session, code="B", stage=Stage.CONTINUING, actual_start=date(2025, 1, 1),
                   resumed_on=date(2026, 6, 28))  # fmt: skip
    await _project(session, code="C", actual_start=date(2026, 6, 21))
    await _project(session, code="D", actual_start=date(2026, 6, 29))
    await _project(session, code="E", stage=Stage.CONTINUING, actual_start=date(2025, 1, 1),
                   resumed_on=date(2026, 6, 29))  # fmt: skip
    await _project(session, code="F", year=2025, actual_start=date(2026, 6, 23))
    await _project(session, code="H", stage=Stage.CONTINUING, actual_start=date(2025, 1, 1),
                   resumed_on=date(2026, 6, 22))  # fmt: skip
    await _project(session, code="I", stage=Stage.CONTINUING, actual_start=date(2025, 1, 1),
                   resumed_on=date(2026, 6, 21))  # fmt: skip
    e = await _project(session, code="G", actual_start=date(2026, 2, 1))
    session.add_all([
        _report(e, "2026-W26", 300, current=False, procedures=5),
        _report(e, "2026-W26", 200, version=2, procedures=2),
        _report(e, "2026-W25", 1000, procedures=9),
    ])  # fmt: skip
    await session.flush()
    numbers = await compute_numbers(session, settings=SETTINGS, as_of=date(2026, 6, 29))
    assert numbers.report_week == "2026-W26"
    assert numbers.week.to_json() == {"week": "2026-W26", "new_starts": 3, "investment": "200.00",
                                      "procedures": 2, "reports": 1}  # fmt: skip
    # Saturday after W26's deadline: the week so far (B resumes on Sunday).
    saturday = await compute_numbers(session, settings=SETTINGS, as_of=date(2026, 6, 27))
    assert (saturday.report_week, saturday.week.new_starts) == ("2026-W26", 2)
    closing = await week_activity(session, week="2026-W26", as_of=date(2026, 6, 29), year=2025)
    assert closing.new_starts == 1  # F, on 2025's list
    quiet = await week_activity(session, week="2026-W20", as_of=date(2026, 6, 29))
    assert quiet.to_json() == {"week": "2026-W20", "new_starts": 0, "investment": "0.00", "procedures": 0,
                               "reports": 0}  # fmt: skip
    friday = await compute_numbers(session, settings=SETTINGS, as_of=date(2026, 6, 26))  # before the deadline
    assert friday.week.to_json() == {"week": "2026-W25", "new_starts": 2, "investment": "1000.00",
                                     "procedures": 9, "reports": 1}  # fmt: skip


# --- the bulletin JSON ------------------------------------------------------------------------------


def test_the_numbers_json_with_lists() -> None:
    from notifier.numbers.rates import ListEntry, NotReported, Numbers, WeekActivity

    units = [_unit("A", 3), _unit("B", 1)]
    rank_units(units)
    numbers = Numbers(as_of=date(2026, 6, 30), year=2026, time_schedule=Decimal("0.5"),
                      overall=ScopeRates(8, 4, 1, 3, Decimal("1.5"), Decimal("2")), units=units,
                      red_list=[ListEntry(1, "R", "红", "A", "与序时持平")],
                      black_list=[ListEntry(2, "K", "黑", "B", "逾期未开工")], report_week="2026-W26",
                      not_reported=[NotReported(3, "N", "未", "B", "王伟")],
                      week=WeekActivity("2026-W26", 1, Decimal("2.50"), 2, 3))  # fmt: skip
    assert numbers.to_json() == {
        "as_of": "2026-06-30",
        "time_schedule": 0.5,
        "overall": {"projects": 8, "start_rate": 0.5, "procedure_rate": 0.3333, "investment_rate": 0.75},
        "units": [
            {"code": "A", "name": "A", "projects": 4, "start_rate": 0.75, "procedure_rate": None,
             "investment_rate": None, "rank": {"start": 1, "procedure": None, "investment": None}},
            {"code": "B", "name": "B", "projects": 4, "start_rate": 0.25, "procedure_rate": None,
             "investment_rate": None, "rank": {"start": 2, "procedure": None, "investment": None}},
        ],
        "red_list": [{"code": "R", "name": "红", "unit": "A", "reason": "与序时持平"}],
        "black_list": [{"code": "K", "name": "黑", "unit": "B", "reason": "逾期未开工"}],
        "report_week": "2026-W26",
        "not_reported": [{"code": "N", "name": "未", "unit": "B", "lead": "王伟"}],
        "week": {"week": "2026-W26", "new_starts": 1, "investment": "2.50", "procedures": 2, "reports": 3},
        "text": {
            "time_schedule": "50.0%",
            "overall": {"start_rate": "50.0%", "procedure_rate": "33.3%", "investment_rate": "75.0%"},
            "units": {"A": {"start_rate": "75.0%", "procedure_rate": "—", "investment_rate": "—"},
                      "B": {"start_rate": "25.0%", "procedure_rate": "—", "investment_rate": "—"}},
        },
    }  # fmt: skip


# --- who did not report -----------------------------------------------------------------------------


async def test_not_reported_lists_prompted_projects_without_a_report_by_the_deadline(
    session: AsyncSession,
) -> None:
    from models import WeekPrompt

    units = [
        Unit(code="UA", name="单位A", kind=UnitKind.BANNER),
        Unit(code="UB", name="单位B", kind=UnitKind.BANNER),
    ]
    people = [Person(name="王伟", phone="+8613904831001", role=Role.LEAD),
              Person(name="李娜", phone="+8613904831002", role=Role.LEAD),
              Person(name="旗领导", phone="+8613904831003", role=Role.LEADER)]  # fmt: skip
    session.add_all([*units, *people])
    await session.flush()
    wang, li, leader = people

    def project(code: str, unit: Unit, lead: Person, **values: Any) -> Project:
        return Project(code=code, name=f"项目{code}", year=2026, stage=Stage.NEW, annual_plan=Decimal(1000),
                       unit_id=unit.id or 0, lead_id=lead.id, unit_leader_id=leader.id, **values)  # fmt: skip

    projects = {
        "Z1": project("Z1", units[0], wang),  # silent
        "A1": project("A1", units[1], li),  # reported after the deadline
        "A2": project("A2", units[1], li),  # reported on time
        "A3": project("A3", units[1], li, active=False),
        "A4": project("A4", units[1], li),  # its deadline is after the day
        "A0": project("A0", units[1], li),  # prompted for another week
        "A00": project("A00", units[1], li),  # silent, listed before A1 by code
        "A5": project("A5", units[1], li),  # its deadline is the very end of the day
    }
    session.add_all(projects.values())
    await session.flush()
    deadline = datetime(2026, 6, 27, 12, 0, tzinfo=SETTINGS.tz)

    def prompt(code: str, week: str = "2026-W26", at: datetime = deadline) -> WeekPrompt:
        return WeekPrompt(project_id=projects[code].id or 0, week=week, deadline=at)

    session.add_all([prompt("Z1"), prompt("A1"), prompt("A2"), prompt("A3"), prompt("A0", "2026-W25"), prompt("A00"),
                     prompt("A5", at=datetime(2026, 6, 30, tzinfo=SETTINGS.tz)),
                     prompt("A4", at=datetime(2026, 6, 30, 0, 0, 1, tzinfo=SETTINGS.tz))])  # fmt: skip
    late, on_time = _report(projects["A1"], "2026-W26", 0), _report(projects["A2"], "2026-W26", 0)
    late.submitted_at, on_time.submitted_at = deadline + timedelta(seconds=1), deadline
    session.add_all([late, on_time])
    await session.flush()
    numbers = await compute_numbers(session, settings=SETTINGS, as_of=date(2026, 6, 29))
    assert numbers.report_week == "2026-W26"
    assert [(n.code, n.name, n.unit_code, n.lead_name) for n in numbers.not_reported] == [
        ("Z1", "项目Z1", "UA", "王伟"),
        ("A00", "项目A00", "UB", "李娜"),
        ("A1", "项目A1", "UB", "李娜"),
        ("A5", "项目A5", "UB", "李娜"),
    ]
    assert numbers.not_reported[0].project_id == projects["Z1"].id
    assert (
        await not_reported(session, settings=SETTINGS, week="2026-W26", as_of=date(2026, 6, 29), year=2025)
        == []
    )
    assert len(await not_reported(session, settings=SETTINGS, week="2026-W26", as_of=date(2026, 6, 29))) == 4


async def test_a_closing_year_s_numbers_in_january_cover_its_list_throughout(session: AsyncSession) -> None:
    """As of 2027-01-05 over 2026's list: the lists, the misses of weeks 52 and 53, the non-reporters
    of week 53 (the latest week whose deadline passed) and its activity are 2026's."""
    from models import WeekPrompt

    late = await _project(session, code="L", planned_start=date(2026, 3, 1))
    started = await _project(session, code="S", actual_start=date(2026, 12, 28), ytd_base=Decimal(1000))
    await _project(session, code="N", year=2027, planned_start=date(2027, 1, 1))
    for week, deadline in (("2026-W52", datetime(2026, 12, 26, 12, tzinfo=SETTINGS.tz)),
                           ("2026-W53", datetime(2027, 1, 2, 12, tzinfo=SETTINGS.tz))):  # fmt: skip
        session.add_all(
            [WeekPrompt(project_id=p.id or 0, week=week, deadline=deadline) for p in (late, started)]
        )
    session.add(_report(started, "2026-W52", 0))
    await session.flush()
    numbers = await compute_numbers(session, settings=SETTINGS, as_of=date(2027, 1, 5), year=2026)
    assert (numbers.year, numbers.report_week, numbers.time_schedule) == (2026, "2026-W53", Decimal(1))
    assert [(e.code, e.reason) for e in numbers.black_list] == [
        ("L", "逾期未开工;落后序时100.0个百分点;连续两周未报送")
    ]
    assert [n.code for n in numbers.not_reported] == ["L", "S"]
    assert numbers.week.new_starts == 1  # S started on Monday of week 53
    assert numbers.overall.projects == 2


async def test_units_are_listed_by_their_order_then_code_and_the_schedule_mode_applies(
    session: AsyncSession,
) -> None:
    session.add_all([Unit(code="C", name="丙", kind=UnitKind.BANNER, sort_order=0),
                     Unit(code="B", name="乙", kind=UnitKind.BANNER, sort_order=1),
                     Unit(code="A", name="甲", kind=UnitKind.BANNER, sort_order=1)])  # fmt: skip
    await session.flush()
    numbers = await compute_numbers(session, settings=SETTINGS, as_of=date(2026, 6, 29))
    assert [u.code for u in numbers.units] == ["C", "A", "B"]
    assert numbers.time_schedule == Decimal(5) / 12
    by_days = await compute_numbers(session, settings=SETTINGS.model_copy(update={"time_schedule_mode": "days"}),
                                    as_of=date(2026, 6, 29))  # fmt: skip
    assert by_days.time_schedule == Decimal(180) / 365


async def test_project_figures_come_by_unit_then_code_with_their_own_counts(session: AsyncSession) -> None:
    from notifier.numbers.rates import project_figures

    units = {code: Unit(code=code, name=code, kind=UnitKind.BANNER) for code in ("UB", "UA")}
    session.add_all(units.values())
    await session.flush()
    for code, unit, required in (("P9", "UA", 4), ("P1", "UB", 2), ("P2", "UA", 3)):
        session.add(Project(code=code, name=code, year=2026, stage=Stage.NEW, annual_plan=Decimal(1000),
                            unit_id=units[unit].id or 0, procedures_required=required))  # fmt: skip
    await session.flush()
    figures = await project_figures(session, as_of=date(2026, 6, 30))
    assert [(f.unit_code, f.code, f.procedures_required, f.reports) for f in figures] == [
        ("UA", "P2", 3, 0),
        ("UA", "P9", 4, 0),
        ("UB", "P1", 2, 0),
    ]
