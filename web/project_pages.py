"""Projects in the admin console: the list with each project's lead, plan, investment done, rate,
last report and state (the wall's colours), and one project's report history in 万元.

The figures are `notifier.numbers.rates.project_figures` as of today (or ?as_of), the numbers the
bulletins and the wall show.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Milestone, Person, ProgressReport, Project, Stage, Unit
from notifier.core.texts import t
from notifier.numbers.rates import ProjectFigures, compute_numbers, project_figures
from web.pages import AdminDep, DbId, SessionDep, SettingsDep, error_page, lang_of, parse_day, render
from web.wall import tile_state

router = APIRouter(prefix="/admin")
MAX_ROWS = 500


@dataclass(frozen=True)
class ProjectRow:
    project: Project
    unit: Unit
    lead: str
    plan: Decimal
    done: Decimal | None
    rate: Decimal | None
    last_week: str | None
    last_at: datetime | None
    state: str  # a wall state (web.wall.STATES), or "" for a project outside the year's list


async def _last_reports(session: AsyncSession, ids: list[int]) -> dict[int, tuple[str, datetime]]:
    """Each project's latest current report: its week and when it came."""
    if not ids:
        return {}
    rows = await session.exec(
        select(
            ProgressReport.project_id, func.max(ProgressReport.week), func.max(ProgressReport.submitted_at)
        )
        .where(col(ProgressReport.project_id).in_(ids), col(ProgressReport.is_current).is_(True))
        .group_by(col(ProgressReport.project_id))
    )
    return {pid: (week, at) for pid, week, at in rows.all()}


async def _names(session: AsyncSession, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = await session.exec(select(Person.id, Person.name).where(col(Person.id).in_(ids)))
    return {pid: name for pid, name in rows.all() if pid is not None}


@router.get("/projects", response_class=HTMLResponse)
async def projects(request: Request, session: SessionDep, settings: SettingsDep, admin: AdminDep) -> Response:
    """Projects, filtered by unit, stage and a name or code fragment, with their figures."""
    unit = request.query_params.get("unit", "")[:32]
    stage = request.query_params.get("stage", "")
    q = request.query_params.get("q", "").strip()[:100]
    as_of = parse_day(request, request.query_params.get("as_of"), settings)
    query = select(Project, Unit).join(Unit, col(Unit.id) == Project.unit_id).order_by(col(Project.code))
    if unit:
        query = query.where(Unit.code == unit)
    if stage in {s.value for s in Stage}:
        query = query.where(Project.stage == Stage(stage))
    if q:
        query = query.where(col(Project.name).contains(q) | col(Project.code).contains(q))
    rows = (await session.exec(query.limit(MAX_ROWS))).all()
    numbers = await compute_numbers(session, settings=settings, as_of=as_of)
    figures = {f.project_id: f for f in await project_figures(session, as_of=as_of, year=numbers.year)}
    black = {e.project_id for e in numbers.black_list}
    last = await _last_reports(session, [p.id for p, _ in rows if p.id is not None])
    leads = await _names(session, {p.lead_id for p, _ in rows if p.lead_id is not None})
    table = []
    for p, u in rows:
        fig: ProjectFigures | None = figures.get(p.id or 0)
        week, at = last.get(p.id or 0, (None, None))
        state = tile_state(fig, schedule=numbers.time_schedule, black=black) if fig else ""
        table.append(ProjectRow(project=p, unit=u, lead=leads.get(p.lead_id or 0, ""), plan=p.annual_plan,
                                done=fig.investment_done if fig else None, rate=fig.investment_rate if fig else None,
                                last_week=week, last_at=at, state=state))  # fmt: skip
    units = (await session.exec(select(Unit).order_by(col(Unit.sort_order), col(Unit.code)))).all()
    context = {"admin": admin, "rows": table, "units": units, "stages": list(Stage), "as_of": as_of,
               "filters": {"unit": unit, "stage": stage, "q": q}, "limit": MAX_ROWS}  # fmt: skip
    return render(request, "projects.html", context)


@router.get("/projects/{project_id}", response_class=HTMLResponse)
async def project_page(request: Request, project_id: DbId, session: SessionDep, admin: AdminDep) -> Response:
    """One project: its report history (every version, the current one marked), milestones and blockers."""
    project = await session.get(Project, project_id)
    if project is None:
        return error_page(request, t("web.not_found", lang_of(request)), status_code=404)
    unit = await session.get(Unit, project.unit_id)
    reports = (
        await session.exec(
            select(ProgressReport)
            .where(ProgressReport.project_id == project_id)
            .order_by(col(ProgressReport.week).desc(), col(ProgressReport.version).desc())
        )
    ).all()
    people = {project.lead_id, *(r.reporter_id for r in reports)} - {None}
    names = await _names(session, {pid for pid in people if pid is not None})
    milestones = (
        await session.exec(
            select(Milestone).where(Milestone.project_id == project_id).order_by(col(Milestone.due_date))
        )
    ).all()
    context = {"admin": admin, "project": project, "unit": unit, "lead": names.get(project.lead_id or 0, ""),
               "reports": reports, "names": names, "milestones": milestones}  # fmt: skip
    return render(request, "project.html", context)
