"""The wall (进展上墙): rates, rankings, project tiles and the red and black lists on one screen.

Every figure comes from `notifier.numbers.rates` (the bulletins' own numbers); this module only lays them out.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Person, WallLink, utcnow
from notifier.core.settings import Settings
from notifier.core.texts import t
from notifier.numbers.holidays import schedule_for_week
from notifier.numbers.rates import (
    RATE_KEYS,
    Numbers,
    ProjectFigures,
    compute_numbers,
    points,
    project_figures,
    week_activity,
)
from notifier.numbers.weeks import week_key
from notifier.reporting.links import LinkError, read_wall_token, wall_token
from web.pages import (
    AdminDep,
    DbId,
    SessionDep,
    SettingsDep,
    error_page,
    lang_of,
    optional_admin,
    parse_day,
    redirect,
    render,
)
from web.security import csrf_ok

router = APIRouter()
STATES = ("not_started", "started", "ahead", "behind", "black")
REFRESH_SECONDS = 60


@dataclass(frozen=True)
class Tile:
    code: str
    name: str
    state: str
    short: str = ""  # the name without the unit's name in front (the tile sits under its unit)


def short_name(name: str, unit_name: str) -> str:
    """A project's name under its unit's heading: "阿拉善左旗新材料项目001" -> "新材料项目001" in
    阿拉善左旗, also when the name starts with a shortened unit name (阿拉善高新技… in 阿拉善高新技术产业开发区).
    The whole name when less than four characters of the unit's name lead it, or little would be left."""
    shared = 0
    for a, b in zip(name, unit_name, strict=False):
        if a != b:
            break
        shared += 1
    if shared < min(4, len(unit_name)) or len(name) - shared < 2:
        return name
    return name[shared:]


def tile_state(p: ProjectFigures, *, schedule: Any, black: set[int]) -> str:
    """One of STATES: the black list wins; then started or not, ahead of or behind the schedule."""
    if p.project_id in black:
        return "black"
    if not p.started:
        return "not_started"
    behind = points(p.investment_rate, schedule)
    if behind is None:
        return "started"
    return "ahead" if behind >= 0 else "behind"


async def wall_tiles(session: AsyncSession, *, numbers: Numbers) -> dict[str, list[Tile]]:
    """Project tiles by unit code, coloured by state."""
    black = {e.project_id for e in numbers.black_list}
    units = {u.code: u.name for u in numbers.units}
    tiles: dict[str, list[Tile]] = {}
    for p in await project_figures(session, as_of=numbers.as_of):
        state = tile_state(p, schedule=numbers.time_schedule, black=black)
        short = short_name(p.name, units.get(p.unit_code, ""))
        tiles.setdefault(p.unit_code, []).append(Tile(code=p.code, name=p.name, state=state, short=short))
    return tiles


@dataclass(frozen=True)
class Bar:
    """One unit's bar in the wall's investment chart."""

    code: str
    name: str
    rate: Decimal | None  # investment-plan completion, the exact fraction
    state: str  # ahead / behind / far_behind (more than 20 points behind) / none

    @property
    def width(self) -> float:
        """Bar length in percent of the track (a rate over 100% fills it)."""
        return min(max(float(self.rate or 0) * 100, 0.0), 100.0)


def investment_bars(units: list[dict[str, Any]], schedule: Decimal) -> list[Bar]:
    """Units by investment-plan completion, highest first; units without a rate last."""
    bars = []
    for u in units:
        rate = u["investment_rate"]
        if rate is None:
            state = "none"
        elif rate >= schedule:
            state = "ahead"
        else:
            state = "far_behind" if rate < schedule - Decimal("0.2") else "behind"
        bars.append(Bar(code=u["code"], name=u["name"], rate=rate, state=state))
    return sorted(bars, key=lambda b: (b.rate is None, -(b.rate or 0), b.code))


async def _link_ok(session: AsyncSession, settings: Settings, token: str) -> bool:
    try:
        link_id, version = read_wall_token(settings, token)
    except LinkError:
        return False
    link = await session.get(WallLink, link_id)
    return link is not None and link.revoked_at is None and link.version == version


async def _open_week(session: AsyncSession, settings: Settings, numbers: Numbers) -> dict[str, Any] | None:
    """The week still open for reports (its deadline not yet passed), so that the page says so
    rather than showing its empty count beside "nobody overdue"."""
    week = week_key(numbers.as_of)
    if week == numbers.report_week:
        return None
    activity = await week_activity(session, week=week, as_of=numbers.as_of, year=numbers.year)
    deadline = schedule_for_week(settings, week).deadline.astimezone(settings.tz)
    return {"week": week, "reported": activity.reports, "total": numbers.overall.projects,
            "deadline": deadline.strftime("%m-%d %H:%M")}  # fmt: skip


@router.get("/")
async def front() -> Response:
    """The site's front door is the wall; the wall itself asks for a sign-in or a link's token."""
    return redirect("/wall")


@router.get("/wall", response_class=HTMLResponse)
async def wall(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    admin: Annotated[Person | None, Depends(optional_admin)],
) -> Response:
    """The wall for a signed-in admin or a valid read-only link (?k=...); nothing for anyone else."""
    token = request.query_params.get("k")
    if admin is None and not (token and await _link_ok(session, settings, token)):
        if token:
            return error_page(request, t("web.forbidden", lang_of(request)), status_code=403)
        return redirect("/admin/login?next=/wall")
    numbers = await compute_numbers(
        session, settings=settings, as_of=parse_day(request, request.query_params.get("as_of"), settings)
    )
    data = numbers.to_json()
    if request.query_params.get("format") == "json":
        return JSONResponse(data)
    total = numbers.overall.projects
    # The page shows the exact rates, formatted once (the JSON's fractions are rounded already).
    exact = {u.code: u.rates for u in numbers.units}
    units = [{**u, **{k: exact[u["code"]].rate(k) for k in RATE_KEYS}} for u in data["units"]]
    context = {
        "admin": admin,
        "numbers": numbers,
        "overall": {**data["overall"], **{k: numbers.overall.rate(k) for k in RATE_KEYS}},
        "units": units,
        "tiles": await wall_tiles(session, numbers=numbers),
        "bars": investment_bars(units, numbers.time_schedule),
        "schedule_pct": min(float(numbers.time_schedule) * 100, 100.0),
        "coverage": {"reported": numbers.week.reports, "total": total},
        "open_week": await _open_week(session, settings, numbers),
        "states": STATES,
        "refresh": REFRESH_SECONDS,
    }
    return render(request, "wall.html", context)


@router.get("/admin/wall-links", response_class=HTMLResponse)
async def wall_links(
    request: Request, session: SessionDep, settings: SettingsDep, admin: AdminDep
) -> Response:
    links = (await session.exec(select(WallLink).order_by(col(WallLink.id).desc()))).all()
    rows = [(link, wall_token(settings, link_id=link.id or 0, version=link.version)) for link in links]
    return render(request, "wall_links.html", {"admin": admin, "rows": rows})


@router.post("/admin/wall-links")
async def create_wall_link(
    request: Request,
    session: SessionDep,
    admin: AdminDep,
    csrf: Annotated[str, Form()] = "",
    label: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    if not csrf_ok(request, csrf):
        return error_page(request, t("web.csrf_failed", lang_of(request)), status_code=403)
    session.add(WallLink(label=label.strip()[:64], created_by_id=admin.id))
    await session.commit()
    return redirect("/admin/wall-links")


@router.post("/admin/wall-links/{link_id}/revoke")
async def revoke_wall_link(
    request: Request, link_id: DbId, session: SessionDep, admin: AdminDep, csrf: Annotated[str, Form()] = ""
) -> Response:
    if not csrf_ok(request, csrf):
        return error_page(request, t("web.csrf_failed", lang_of(request)), status_code=403)
    link = await session.get(WallLink, link_id)
    if link is None:
        return error_page(request, t("web.not_found", lang_of(request)), status_code=404)
    link.revoked_at = utcnow()
    link.version += 1
    session.add(link)
    await session.commit()
    return redirect("/admin/wall-links")
