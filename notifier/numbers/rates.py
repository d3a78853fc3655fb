"""The three rates (三率), the time schedule (序时进度), unit rankings, red and black lists.

Definitions (the contract of every bulletin), for a scope as of a date D over the active projects
of year Y's list (Y is D's year unless the caller names the closing year: a report composed in
January about December or ISO week 53). Dates are taken up to E = min(D, Y-12-31); a report
counts when it is the current version of a report of an ISO week of Y whose Sunday is at most D.

- 开复工率 start rate = projects started or resumed in Y / projects in the list. A project has
  started or resumed when any of these holds:
  1. it started this year: actual_start in [Y-01-01, E];
  2. it has a resume date (复工时间, imported or set by its first 续建 report) in [Y-01-01, E];
  3. it is a continuing project (actual_start before Y-01-01, or stage 续建 with no start date)
     and either this year's investment (before reporting + reported) is above zero, or one of its
     reports of Y says stage 续建.
  A project with none of these is not started: on the black list once its planned (re)start
  date is on or before E (逾期未开工), not late before it.
- 手续办结率 procedure rate = Σ min(required, procedures done before reporting + procedures
  reported done in the reports that count) / Σ required.
- 投资计划完成率 investment rate = Σ (investment done before reporting + investment in the
  reports that count) / Σ annual plan.
- A zero denominator gives no rate (None, shown "—").
- 序时进度 time schedule = whole months elapsed by the end of E / 12, or day of year / days in Y.
- Ranking: units by each rate, descending; ties share a rank and are listed by unit code; units
  without a rate come last with rank None.
- A project "missed" week W when its lead was prompted for W (a WeekPrompt row), W's deadline is
  past by the end of D, and no version of its report was submitted by that deadline.
- Red list: started, reporting (did not miss its latest prompted week, and reported this year),
  and its investment rate at or ahead of the time schedule.
- Black list: past its planned start and not started; or started (or past its planned start)
  and more than BLACK_LIST_LAG_POINTS behind the time schedule; or missed its two latest
  prompted weeks running.

Everything is aggregated in SQL; Python only ranks the (few) units and formats.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import Integer, and_, case, exists, func, or_
from sqlalchemy.sql import ColumnElement
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Person, ProgressReport, Project, Stage, Unit, WeekPrompt
from notifier.core.settings import Settings
from notifier.numbers.money import format_rate

ZERO = Decimal("0")
RATE_KEYS = ("start_rate", "procedure_rate", "investment_rate")
RANK_KEYS = {"start_rate": "start", "procedure_rate": "procedure", "investment_rate": "investment"}


def time_schedule(as_of: date, mode: str = "months") -> Decimal:
    """Elapsed share of the year by the end of `as_of`: whole months / 12, or days / days in year."""
    if mode == "days":
        days_in_year = 366 if calendar.isleap(as_of.year) else 365
        return Decimal(as_of.timetuple().tm_yday) / Decimal(days_in_year)
    last_day = calendar.monthrange(as_of.year, as_of.month)[1]
    months = as_of.month if as_of.day == last_day else as_of.month - 1
    return Decimal(months) / Decimal(12)


def ratio(numerator: Decimal | int, denominator: Decimal | int) -> Decimal | None:
    """numerator / denominator, or None for a zero denominator (never a division error, never 0%)."""
    if not denominator:
        return None
    return Decimal(numerator) / Decimal(denominator)


def points(rate: Decimal | None, schedule: Decimal) -> Decimal | None:
    """Percentage points ahead (+) or behind (-) the time schedule."""
    if rate is None:
        return None
    return ((rate - schedule) * 100).quantize(Decimal("0.1"), ROUND_HALF_UP)


def fraction(value: Decimal | None) -> float | None:
    """A rate as a JSON fraction with four decimals (0.7512), or None."""
    if value is None:
        return None
    return float(value.quantize(Decimal("0.0001"), ROUND_HALF_UP))


@dataclass(frozen=True)
class ScopeRates:
    """One scope's counts and rates (the whole list, or one unit)."""

    projects: int
    started: int
    procedures_done: int
    procedures_required: int
    investment_done: Decimal
    investment_plan: Decimal

    @property
    def start_rate(self) -> Decimal | None:
        return ratio(self.started, self.projects)

    @property
    def procedure_rate(self) -> Decimal | None:
        return ratio(self.procedures_done, self.procedures_required)

    @property
    def investment_rate(self) -> Decimal | None:
        return ratio(self.investment_done, self.investment_plan)

    def rate(self, key: str) -> Decimal | None:
        value: Decimal | None = getattr(self, key)
        return value


@dataclass
class UnitRates:
    code: str
    name: str
    short_name: str
    unit_id: int
    rates: ScopeRates
    rank: dict[str, int | None] = field(default_factory=dict)


@dataclass(frozen=True)
class ListEntry:
    """A project on the red or black list, with the reason."""

    project_id: int
    code: str
    name: str
    unit_code: str
    reason: str
    lead_id: int | None = None
    unit_leader_id: int | None = None


@dataclass(frozen=True)
class NotReported:
    project_id: int
    code: str
    name: str
    unit_code: str
    lead_name: str | None


@dataclass
class Numbers:
    """Everything a bulletin says, as of a date."""

    as_of: date
    year: int
    time_schedule: Decimal
    overall: ScopeRates
    units: list[UnitRates]
    red_list: list[ListEntry]
    black_list: list[ListEntry]
    report_week: str
    not_reported: list[NotReported]
    week: WeekActivity

    def unit(self, code: str) -> UnitRates | None:
        return next((u for u in self.units if u.code == code), None)

    def to_json(self) -> dict[str, Any]:
        """The bulletin JSON shape: rates as fractions (0.75) or null."""
        return {
            "as_of": self.as_of.isoformat(),
            "time_schedule": fraction(self.time_schedule),
            "overall": _scope_json(self.overall),
            "units": [
                {
                    "code": u.code,
                    "name": u.name,
                    **_scope_json(u.rates),
                    "rank": {RANK_KEYS[k]: u.rank[k] for k in RATE_KEYS},
                }
                for u in self.units
            ],
            "red_list": [
                {"code": e.code, "name": e.name, "unit": e.unit_code, "reason": e.reason}
                for e in self.red_list
            ],
            "black_list": [
                {"code": e.code, "name": e.name, "unit": e.unit_code, "reason": e.reason}
                for e in self.black_list
            ],  # fmt: skip
            "report_week": self.report_week,
            "not_reported": [
                {"code": n.code, "name": n.name, "unit": n.unit_code, "lead": n.lead_name}
                for n in self.not_reported
            ],  # fmt: skip
            "week": self.week.to_json(),
            # The rates as every page, SMS and message shows them (formatted once, from the exact ratio).
            "text": {
                "time_schedule": format_rate(self.time_schedule),
                "overall": _scope_text(self.overall),
                "units": {u.code: _scope_text(u.rates) for u in self.units},
            },
        }


@dataclass(frozen=True)
class WeekActivity:
    """What happened in the reporting week: new starts, investment added, procedures completed."""

    week: str
    new_starts: int
    investment: Decimal
    procedures: int
    reports: int

    def to_json(self) -> dict[str, Any]:
        return {"week": self.week, "new_starts": self.new_starts, "investment": str(self.investment),
                "procedures": self.procedures, "reports": self.reports}  # fmt: skip


def _scope_text(scope: ScopeRates) -> dict[str, str]:
    return {k: format_rate(scope.rate(k)) for k in RATE_KEYS}


def _scope_json(scope: ScopeRates) -> dict[str, Any]:
    return {"projects": scope.projects, **{k: fraction(scope.rate(k)) for k in RATE_KEYS}}


# --- SQL building blocks -------------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """The list year Y and the as-of date D of a computation (see the module docstring)."""

    year: int
    as_of: date

    @property
    def start(self) -> date:
        return date(self.year, 1, 1)

    @property
    def day(self) -> date:
        """E: the last day whose dates count (the as-of date, or Y's last day when D is later)."""
        return min(self.as_of, date(self.year, 12, 31))


def window(as_of: date, year: int | None = None) -> Window:
    return Window(year=as_of.year if year is None else year, as_of=as_of)


def _reports_subquery(w: Window) -> Any:
    """Per project, over the reports that count: investment, procedures, count, any 续建 stage."""
    return (
        select(  # type: ignore[call-overload]
            ProgressReport.project_id.label("project_id"),  # type: ignore[attr-defined]
            func.coalesce(func.sum(ProgressReport.investment), 0).label("inv"),
            func.coalesce(func.sum(ProgressReport.procedures_completed), 0).label("procs"),
            func.count().label("n_reports"),
            func.max(case((col(ProgressReport.stage) == Stage.CONTINUING, 1), else_=0)).label("continuing"),
        )
        .where(
            col(ProgressReport.is_current),
            col(ProgressReport.year) == w.year,
            col(ProgressReport.week_end) <= w.as_of,
        )
        .group_by(col(ProgressReport.project_id))
        .subquery("rep")
    )


def _inv_done(rep: Any) -> Any:
    return col(Project.ytd_base) + func.coalesce(rep.c.inv, 0)


def _started_expr(w: Window, rep: Any) -> ColumnElement[bool]:
    """Rules 1-3 of the start rate (module docstring)."""
    start, day = w.start, w.day
    continuing = or_(
        col(Project.actual_start) < start,
        and_(col(Project.actual_start).is_(None), col(Project.stage) == Stage.CONTINUING),
    )
    worked_this_year = or_(_inv_done(rep) > 0, func.coalesce(rep.c.continuing, 0) == 1)
    return or_(
        and_(col(Project.actual_start) >= start, col(Project.actual_start) <= day),
        and_(col(Project.resumed_on) >= start, col(Project.resumed_on) <= day),
        and_(continuing, worked_this_year),
    )


def _least(a: Any, b: Any) -> Any:
    return case((a < b, a), else_=b)


def _project_columns(w: Window, rep: Any) -> dict[str, Any]:
    return {
        "started": case((_started_expr(w, rep), 1), else_=0),
        "procs_done": _least(
            col(Project.procedures_required), col(Project.procedures_base) + func.coalesce(rep.c.procs, 0)
        ),
        "inv_done": _inv_done(rep),
    }


def _in_list(w: Window) -> ColumnElement[bool]:
    return and_(col(Project.active), col(Project.year) == w.year)


async def scope_rates(
    session: AsyncSession, *, as_of: date, year: int | None = None
) -> tuple[ScopeRates, dict[int, ScopeRates]]:
    """Overall and per-unit counts for the year's list, in one GROUP BY query."""
    w = window(as_of, year)
    rep = _reports_subquery(w)
    cols = _project_columns(w, rep)
    query = (
        select(  # type: ignore[call-overload]
            Project.unit_id,
            func.count().label("projects"),
            func.sum(cols["started"]).label("started"),
            func.sum(cols["procs_done"]).label("procs_done"),
            func.sum(col(Project.procedures_required)).label("procs_required"),
            func.sum(cols["inv_done"]).label("inv_done"),
            func.sum(col(Project.annual_plan)).label("plan"),
        )
        .outerjoin(rep, rep.c.project_id == Project.id)
        .where(_in_list(w))
        .group_by(col(Project.unit_id))
    )
    per_unit: dict[int, ScopeRates] = {}
    for unit_id, n, started, procs_done, procs_required, inv_done, plan in (await session.exec(query)).all():
        per_unit[unit_id] = ScopeRates(
            projects=int(n), started=int(started or 0), procedures_done=int(procs_done or 0),
            procedures_required=int(procs_required or 0), investment_done=_money(inv_done),
            investment_plan=_money(plan),
        )  # fmt: skip
    overall = ScopeRates(
        projects=sum(s.projects for s in per_unit.values()),
        started=sum(s.started for s in per_unit.values()),
        procedures_done=sum(s.procedures_done for s in per_unit.values()),
        procedures_required=sum(s.procedures_required for s in per_unit.values()),
        investment_done=sum((s.investment_done for s in per_unit.values()), ZERO),
        investment_plan=sum((s.investment_plan for s in per_unit.values()), ZERO),
    )
    return overall, per_unit


def _money(value: Any) -> Decimal:
    return Decimal(str(value or 0)).quantize(Decimal("0.01"))


def rank_units(units: list[UnitRates]) -> None:
    """Competition ranking per rate (1, 1, 3), ties by code; units with no rate get None."""
    for key in RATE_KEYS:
        rated = sorted((u for u in units if u.rates.rate(key) is not None),
                       key=lambda u: (-(u.rates.rate(key) or ZERO), u.code))  # fmt: skip
        previous: Decimal | None = None
        rank = 0
        for position, unit in enumerate(rated, start=1):
            value = unit.rates.rate(key)
            if value != previous:
                rank, previous = position, value
            unit.rank[key] = rank
        for unit in units:
            unit.rank.setdefault(key, None)


def ranked(units: list[UnitRates], key: str) -> list[UnitRates]:
    """Units in ranking order for one rate (unranked last, by code)."""
    return sorted(units, key=lambda u: (u.rank[key] is None, u.rank[key] or 0, u.code))


# --- reporting: prompts, deadlines, misses -----------------------------------------------------


def _end_of_day(as_of: date, settings: Settings) -> datetime:
    return datetime.combine(as_of + timedelta(days=1), time(0, 0), tzinfo=settings.tz)


def _reported_by_deadline() -> ColumnElement[bool]:
    return exists().where(
        col(ProgressReport.project_id) == col(WeekPrompt.project_id),
        col(ProgressReport.week) == col(WeekPrompt.week),
        col(ProgressReport.submitted_at) <= col(WeekPrompt.deadline),
    )


async def missed_weeks(
    session: AsyncSession, *, settings: Settings, as_of: date, year: int | None = None
) -> dict[int, list[bool]]:
    """project id -> [missed latest prompted week, missed the one before] (deadlines past by end of D).

    One row per project: its two latest prompts are found through the (project, week) index and
    each is checked for a report that arrived by the deadline — a few index reads per project
    rather than a scan of a year of prompts.
    """
    cutoff = _end_of_day(as_of, settings)
    w = window(as_of, year)

    def missed_nth_latest(n: int) -> Any:
        return (
            select(case((_reported_by_deadline(), 0), else_=1))
            .where(
                col(WeekPrompt.project_id) == col(Project.id),
                col(WeekPrompt.deadline) <= cutoff,
                col(WeekPrompt.week).startswith(f"{w.year}-W"),
            )
            .order_by(col(WeekPrompt.week).desc())
            .limit(1)
            .offset(n)
            .correlate(Project)
            .scalar_subquery()
        )

    rows = await session.exec(
        select(col(Project.id), missed_nth_latest(0), missed_nth_latest(1))  # type: ignore[call-overload]
    )
    return {
        int(project_id or 0): [bool(latest), bool(before)]
        for project_id, latest, before in rows.all()
        if latest is not None
    }


def report_week_for(as_of: date, settings: Settings) -> str:
    """The latest ISO week whose (holiday-moved) deadline has passed by the end of `as_of`."""
    from notifier.numbers.holidays import schedule_for_week
    from notifier.numbers.weeks import previous_week, week_key

    week = week_key(as_of)
    if schedule_for_week(settings, week).deadline <= _end_of_day(as_of, settings):
        return week
    return previous_week(week)


async def not_reported(
    session: AsyncSession, *, settings: Settings, week: str, as_of: date, year: int | None = None
) -> list[NotReported]:
    """Projects prompted for `week` with no report by its deadline (only once the deadline passed)."""
    rows = await session.exec(
        select(Project.id, Project.code, Project.name, Unit.code, Person.name)  # type: ignore[call-overload]
        .join(WeekPrompt, WeekPrompt.project_id == Project.id)
        .join(Unit, Unit.id == Project.unit_id)
        .outerjoin(Person, Person.id == Project.lead_id)
        .where(
            WeekPrompt.week == week,
            col(WeekPrompt.deadline) <= _end_of_day(as_of, settings),
            ~_reported_by_deadline(),
            _in_list(window(as_of, year)),
        )
        .order_by(Unit.code, Project.code)
    )
    return [
        NotReported(project_id=p, code=c, name=n, unit_code=u, lead_name=lead)
        for p, c, n, u, lead in rows.all()
    ]


async def week_activity(
    session: AsyncSession, *, week: str, as_of: date, year: int | None = None
) -> WeekActivity:
    """New starts, investment and procedures reported for one ISO week (SQL sums)."""
    from notifier.numbers.weeks import week_monday, week_sunday

    monday, sunday = week_monday(week), min(week_sunday(week), as_of)
    totals = (
        await session.exec(
            select(
                func.coalesce(func.sum(ProgressReport.investment), 0),
                func.coalesce(func.sum(ProgressReport.procedures_completed), 0),
                func.count(),
            ).where(col(ProgressReport.is_current), ProgressReport.week == week)
        )
    ).one()
    starts = (
        await session.exec(
            select(func.count()).where(
                _in_list(window(as_of, year)),
                or_(
                    and_(col(Project.actual_start) >= monday, col(Project.actual_start) <= sunday),
                    and_(col(Project.resumed_on) >= monday, col(Project.resumed_on) <= sunday),
                ),
            )
        )
    ).one()
    return WeekActivity(week=week, new_starts=int(starts), investment=_money(totals[0]), procedures=int(totals[1]),
                        reports=int(totals[2]))  # fmt: skip


# --- red and black lists -------------------------------------------------------------------------


@dataclass(frozen=True)
class ProjectFigures:
    """One project's figures as of a date (the monthly spreadsheet's rows)."""

    project_id: int
    code: str
    name: str
    unit_code: str
    stage: str
    planned_start: date | None
    annual_plan: Decimal
    investment_done: Decimal
    started: bool
    procedures_done: int
    procedures_required: int
    reports: int
    lead_id: int | None
    unit_leader_id: int | None

    @property
    def investment_rate(self) -> Decimal | None:
        return ratio(self.investment_done, self.annual_plan)


async def project_figures(
    session: AsyncSession, *, as_of: date, year: int | None = None
) -> list[ProjectFigures]:
    """Per-project figures for the year's list in one query, ordered by unit and code."""
    w = window(as_of, year)
    rep = _reports_subquery(w)
    cols = _project_columns(w, rep)
    rows = (
        await session.exec(
            select(  # type: ignore[call-overload]
                Project.id,
                Project.code,
                Project.name,
                Unit.code,
                Project.stage,
                Project.planned_start,
                Project.annual_plan,
                cols["inv_done"].label("inv_done"),
                cols["started"].label("started"),
                cols["procs_done"].label("procs_done"),
                Project.procedures_required,
                func.coalesce(rep.c.n_reports, 0).cast(Integer).label("n_reports"),
                Project.lead_id,
                Project.unit_leader_id,
            )
            .join(Unit, Unit.id == Project.unit_id)
            .outerjoin(rep, rep.c.project_id == Project.id)
            .where(_in_list(w))
            .order_by(Unit.code, Project.code)
        )  # fmt: skip
    ).all()
    return [
        ProjectFigures(project_id=r[0], code=r[1], name=r[2], unit_code=r[3], stage=str(r[4]), planned_start=r[5],
                       annual_plan=_money(r[6]), investment_done=_money(r[7]), started=bool(r[8]),
                       procedures_done=int(r[9] or 0), procedures_required=int(r[10] or 0), reports=int(r[11]),
                       lead_id=r[12], unit_leader_id=r[13])
        for r in rows
    ]  # fmt: skip


def _list_reasons(
    p: ProjectFigures, *, as_of: date, schedule: Decimal, lag_limit: Decimal, missed: list[bool]
) -> list[str]:
    behind = points(p.investment_rate, schedule)
    late_start = (
        p.planned_start is not None
        and p.planned_start <= as_of
        and not p.started
        and p.stage != Stage.COMPLETED
    )
    reasons = []
    if late_start:
        reasons.append("逾期未开工")
    if (p.started or late_start) and behind is not None and behind < -lag_limit:
        reasons.append(f"落后序时{-behind}个百分点")
    if missed[0] and missed[1]:
        reasons.append("连续两周未报送")
    return reasons


async def project_lists(
    session: AsyncSession,
    *,
    settings: Settings,
    as_of: date,
    schedule: Decimal,
    figures: list[ProjectFigures] | None = None,
    year: int | None = None,
) -> tuple[list[ListEntry], list[ListEntry]]:
    """Red and black lists for the whole list (from `figures` when the caller has them); `as_of` is
    the last day whose dates count (E)."""
    misses = await missed_weeks(session, settings=settings, as_of=as_of, year=year)
    lag_limit = Decimal(str(settings.black_list_lag_points))
    red: list[ListEntry] = []
    black: list[ListEntry] = []
    if figures is None:
        figures = await project_figures(session, as_of=as_of, year=year)
    day = window(as_of, year).day
    for p in figures:
        missed = misses.get(p.project_id, [False, False])
        entry = dict(project_id=p.project_id, code=p.code, name=p.name, unit_code=p.unit_code, lead_id=p.lead_id,
                     unit_leader_id=p.unit_leader_id)  # fmt: skip
        reasons = _list_reasons(p, as_of=day, schedule=schedule, lag_limit=lag_limit, missed=missed)
        behind = points(p.investment_rate, schedule)
        if reasons:
            black.append(ListEntry(reason=";".join(reasons), **entry))  # type: ignore[arg-type]
        elif p.started and p.reports and not missed[0] and behind is not None and behind >= 0:
            red.append(ListEntry(reason=f"超序时{behind}个百分点" if behind > 0 else "与序时持平", **entry))  # type: ignore[arg-type]
    return red, black


async def black_list(
    session: AsyncSession, *, settings: Settings, as_of: date, year: int | None = None
) -> list[ListEntry]:
    """The black list as of a date."""
    schedule = time_schedule(window(as_of, year).day, settings.time_schedule_mode)
    return (await project_lists(session, settings=settings, as_of=as_of, schedule=schedule, year=year))[1]


async def compute_numbers(
    session: AsyncSession,
    *,
    settings: Settings,
    as_of: date,
    unit_code: str | None = None,
    year: int | None = None,
) -> Numbers:
    """All figures for a bulletin over year `year`'s list (as_of's year by default); `unit_code`
    narrows the lists (rankings always cover every unit)."""
    w = window(as_of, year)
    schedule = time_schedule(w.day, settings.time_schedule_mode)
    figures = await project_figures(session, as_of=as_of, year=w.year)
    overall, per_unit = await scope_rates(session, as_of=as_of, year=w.year)
    unit_rows = (await session.exec(select(Unit).order_by(col(Unit.sort_order), col(Unit.code)))).all()
    empty = ScopeRates(0, 0, 0, 0, ZERO, ZERO)
    units = [UnitRates(code=u.code, name=u.name, short_name=u.short_name or u.name, unit_id=u.id or 0,
                       rates=per_unit.get(u.id or 0, empty)) for u in unit_rows]  # fmt: skip
    rank_units(units)
    red, black = await project_lists(
        session, settings=settings, as_of=as_of, schedule=schedule, figures=figures, year=w.year
    )
    week = report_week_for(as_of, settings)
    missing = await not_reported(session, settings=settings, week=week, as_of=as_of, year=w.year)
    if unit_code is not None:
        red = [e for e in red if e.unit_code == unit_code]
        black = [e for e in black if e.unit_code == unit_code]
        missing = [n for n in missing if n.unit_code == unit_code]
    activity = await week_activity(session, week=week, as_of=as_of, year=w.year)
    return Numbers(as_of=as_of, year=w.year, time_schedule=schedule, overall=overall, units=units,
                   red_list=red, black_list=black, report_week=week, not_reported=missing, week=activity)  # fmt: skip


__all__ = [
    "ListEntry",
    "Numbers",
    "ScopeRates",
    "UnitRates",
    "black_list",
    "compute_numbers",
    "points",
    "ratio",
    "time_schedule",
]
