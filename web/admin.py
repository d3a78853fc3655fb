"""The admin console: sign-in, projects, broadcasts with a dry-run preview, campaigns, bulletins, overdue."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlmodel import col, select

from models import (
    Campaign,
    CampaignKind,
    CampaignState,
    Person,
    Role,
    Unit,
    utcnow,
)
from notifier.core.errors import GuatuError
from notifier.core.texts import label, t
from web.audience_picker import (
    GROUPS,
    ROLES,
    Picks,
    audience_spec,
    describe_audience,
    picks_errors,
    picks_of,
)
from web.pages import (
    AdminDep,
    DbId,
    SessionDep,
    SettingsDep,
    error_page,
    lang_of,
    parse_day,
    redirect,
    render,
)
from web.round import month_default, round_overview
from web.security import csrf_ok, rotate_csrf
from web.sessions import clear_session_cookie, end_session, session_token, set_session_cookie, start_session
from web.throttle import LoginGate

router = APIRouter(prefix="/admin")
MAX_TEXT = 1000
LOGIN_BODY_LIMIT = 4 * 1024  # name, password, token and next: far below this
MAX_AUDIENCE = 2000
MAX_PHONES_TEXT = 8000  # room to say "too many numbers" rather than refuse the field


def _csrf_failed(request: Request) -> Response:
    return error_page(request, t("web.csrf_failed", lang_of(request)), status_code=403)


def _safe_next(value: str) -> str:
    # Only local paths: an open redirect would make the login page a phishing tool.
    local = value.startswith("/") and not value.startswith(("//", "/\\")) and "\\" not in value
    return value if local else "/admin"


@router.get("/login", response_class=HTMLResponse)
async def login_page(request: Request) -> Response:
    nxt = _safe_next(request.query_params.get("next", "/admin"))
    return render(request, "login.html", {"next": nxt, "name": "", "error": None})


@router.post("/login", max_body_size=LOGIN_BODY_LIMIT)
async def login(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    name: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=256)] = "",
    csrf: Annotated[str, Form()] = "",
    next: Annotated[str, Form(max_length=300)] = "/admin",
) -> Response:
    """Check name and password; after a few failures for this name or this address, refuse for a while."""
    lang = lang_of(request)
    if not csrf_ok(request, csrf):
        return _csrf_failed(request)
    name = name.strip()
    address = request.client.host if request.client else "?"
    context = {"next": _safe_next(next), "name": name}
    gate = LoginGate(request.app.state.counters)
    if not await gate.admit(name=name, address=address):
        return render(
            request, "login.html", {**context, "error": t("web.login_throttled", lang)}, status_code=429
        )
    person = (
        await session.exec(select(Person).where(Person.name == name, Person.role == Role.ADMIN))
    ).first()
    checked = await request.app.state.passwords.verify(person.password_hash if person else None, password)
    if person is None or person.id is None or not checked:
        return render(
            request, "login.html", {**context, "error": t("web.login_failed", lang)}, status_code=401
        )
    await gate.passed(name=name, address=address)
    token = await start_session(session, person_id=person.id)
    response = redirect(_safe_next(next))
    set_session_cookie(response, settings, token)
    rotate_csrf(request, response)
    return response


@router.post("/logout", max_body_size=LOGIN_BODY_LIMIT)
async def logout(request: Request, session: SessionDep, csrf: Annotated[str, Form()] = "") -> Response:
    """End this browser's session on the server too: a copy of the cookie opens nothing afterwards."""
    if not csrf_ok(request, csrf):
        return _csrf_failed(request)
    await end_session(session, session_token(request))
    response = redirect("/admin/login")
    clear_session_cookie(response)
    return response


async def _campaign_rows(session: SessionDep, lang: str, *, limit: int) -> list[dict[str, Any]]:
    """Recent campaigns with their audience in words and when a held one goes."""
    from notifier.sending.campaigns import list_campaigns

    names = {u.code: u.name for u in await _units(session)}
    now = utcnow()
    return [{"campaign": c, "audience": describe_audience(c.audience, unit_names=names, lang=lang),
             "held_until": c.not_before if _held(c, now) else None}
            for c in await list_campaigns(session, limit=limit)]  # fmt: skip


def _held(campaign: Campaign, now: datetime) -> bool:
    """Queued but waiting for quiet hours to end."""
    live = campaign.state in (CampaignState.QUEUED, CampaignState.SENDING, CampaignState.DRAFT)
    return live and campaign.not_before is not None and campaign.not_before > now


@router.get("", response_class=HTMLResponse)
async def home(request: Request, session: SessionDep, settings: SettingsDep, admin: AdminDep) -> Response:
    """The console's front page: the week's round and test send, the monthly workbook, recent campaigns."""
    lang = lang_of(request)
    rows = await _campaign_rows(session, lang, limit=10)
    overview = await round_overview(session, settings=settings, now=utcnow())
    context = {"admin": admin, "rows": rows, "round": overview, "month": month_default(settings),
               "notice": request.query_params.get("notice", "")[:40]}  # fmt: skip
    return render(request, "admin_home.html", context)


# --- broadcasts and campaigns --------------------------------------------------------------------


def _broadcast_errors(text: str, audience: str, lang: str) -> list[str]:
    errors = []
    if not text.strip():
        errors.append(t("web.field_required", lang, field=t("web.text", lang)))
    if not audience.strip():
        errors.append(t("console.audience.empty", lang))
    return errors


async def _units(session: SessionDep) -> list[Unit]:
    return list((await session.exec(select(Unit).order_by(col(Unit.sort_order), col(Unit.code)))).all())


def _broadcast_context(admin: Person, units: list[Unit], *, text: str = "", picks: Picks | None = None,
                       urgent: bool = False) -> dict[str, Any]:  # fmt: skip
    return {"admin": admin, "text": text, "picks": picks or Picks(), "urgent": urgent, "errors": [],
            "preview": None, "units": units, "groups": GROUPS, "roles": ROLES, "audience_words": ""}  # fmt: skip


@router.get("/broadcast", response_class=HTMLResponse)
async def broadcast_form(request: Request, session: SessionDep, admin: AdminDep) -> Response:
    return render(request, "broadcast.html", _broadcast_context(admin, await _units(session)))


@router.post("/broadcast", response_class=HTMLResponse)
async def broadcast(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    admin: AdminDep,
    text: Annotated[str, Form(max_length=MAX_TEXT)] = "",
    audience: Annotated[str, Form(max_length=MAX_AUDIENCE)] = "",
    groups: Annotated[list[str] | None, Form()] = None,
    units: Annotated[list[str] | None, Form()] = None,
    roles: Annotated[list[str] | None, Form()] = None,
    phones: Annotated[str, Form(max_length=MAX_PHONES_TEXT)] = "",
    urgent: Annotated[bool, Form()] = False,
    confirm: Annotated[str, Form(max_length=8)] = "",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    """Preview first (recipients, skipped, segments, cost, when it goes); only a confirmed form
    creates and queues. The audience comes from the picker (groups, units, roles, numbers); a
    spec typed by a script (`audience`) is still read."""
    from notifier.sending.campaigns import create_campaign, preview_campaign, queue_campaign

    if not csrf_ok(request, csrf):
        return _csrf_failed(request)
    lang = lang_of(request)
    unit_rows = await _units(session)
    picks = Picks(groups=groups or [], units=units or [], roles=roles or [], phones=phones)
    if audience.strip() and not (groups or units or roles or phones.strip()):
        picks = picks_of(audience)
    else:
        audience = audience_spec(picks)
    context = _broadcast_context(admin, unit_rows, text=text, picks=picks, urgent=urgent)
    names = {u.code: u.name for u in unit_rows}
    context["audience_words"] = describe_audience(audience, unit_names=names, lang=lang) if audience else ""
    context["errors"] = picks_errors(picks, unit_codes=set(names), lang=lang) or _broadcast_errors(
        text, audience, lang
    )
    if context["errors"]:
        return render(request, "broadcast.html", context, status_code=422)
    try:
        context["preview"] = await preview_campaign(
            session, settings=settings, text=text, audience=audience, urgent=urgent
        )
        if confirm != "yes":
            return render(request, "broadcast.html", context)
        redis = request.app.state.redis
        if redis is None:
            raise GuatuError("未配置 Redis,无法排队发送 / REDIS_URL is not set, cannot queue")
        campaign = await create_campaign(session, settings=settings, kind=CampaignKind.BROADCAST, text=text,
                                         audience=audience, title=text.strip()[:40], urgent=urgent,
                                         created_by_id=admin.id)  # fmt: skip
        await queue_campaign(session, redis, settings=settings, campaign_id=campaign.id or 0)
    except GuatuError as exc:
        context["errors"] = [str(exc)]
        return render(request, "broadcast.html", context, status_code=422)
    return redirect(f"/admin/campaigns/{campaign.id}")


@router.get("/campaigns", response_class=HTMLResponse)
async def campaigns(request: Request, session: SessionDep, admin: AdminDep) -> Response:
    rows = await _campaign_rows(session, lang_of(request), limit=200)
    return render(request, "campaigns.html", {"admin": admin, "rows": rows})


@router.get("/campaigns/{campaign_id}", response_class=HTMLResponse)
async def campaign_page(
    request: Request, campaign_id: DbId, session: SessionDep, settings: SettingsDep, admin: AdminDep
) -> Response:
    """The campaign with live delivery counts (the page polls the JSON below) and its per-recipient
    log, filterable by state (?state=failed) and paged (?page=2)."""
    from notifier.sending.campaigns import campaign_status
    from notifier.sending.recipients import PAGE, RecipientLogError, recipient_log

    lang = lang_of(request)
    state = request.query_params.get("state", "")[:16]
    page = request.query_params.get("page", "1")
    page_number = int(page) if page.isdigit() and 0 < int(page) < 100_000 else 1
    try:
        status = await campaign_status(session, campaign_id=campaign_id,
                                       receipt_window=timedelta(hours=settings.sms_receipt_window_hours))  # fmt: skip
        rows, total = await recipient_log(session, campaign_id=campaign_id, state=state, lang=lang,
                                          offset=(page_number - 1) * PAGE)  # fmt: skip
    except RecipientLogError as exc:
        return error_page(request, str(exc), status_code=422)
    except GuatuError:
        return error_page(request, t("web.not_found", lang), status_code=404)
    more = page_number * PAGE < total
    names = {value.value: label("CampaignState", value, lang) for value in CampaignState}
    campaign = await session.get(Campaign, campaign_id)
    assert campaign is not None  # campaign_status found it
    unit_names = {u.code: u.name for u in await _units(session)}
    context = {"admin": admin, "status": status, "rows": rows, "total": total, "state": state,
               "page": page_number, "more": more, "state_names": names, "campaign": campaign,
               "audience": describe_audience(campaign.audience, unit_names=unit_names, lang=lang),
               "held_until": campaign.not_before if _held(campaign, utcnow()) else None}  # fmt: skip
    return render(request, "campaign.html", context)


@router.post("/campaigns/{campaign_id}/{action}")
async def campaign_action(
    request: Request,
    campaign_id: DbId,
    action: str,
    session: SessionDep,
    settings: SettingsDep,
    admin: AdminDep,
    csrf: Annotated[str, Form()] = "",
) -> Response:
    """Pause, resume or cancel a campaign (the engine's own rules decide what is allowed)."""
    from notifier.sending.campaigns import cancel_campaign, pause_campaign, resume_campaign

    if not csrf_ok(request, csrf):
        return _csrf_failed(request)
    try:
        if action == "pause":
            await pause_campaign(session, campaign_id=campaign_id)
        elif action == "cancel":
            await cancel_campaign(session, campaign_id=campaign_id)
        elif action == "resume":
            if request.app.state.redis is None:
                raise GuatuError("未配置 Redis,无法排队发送 / REDIS_URL is not set, cannot queue")
            await resume_campaign(
                session, request.app.state.redis, settings=settings, campaign_id=campaign_id
            )
        else:
            return error_page(request, t("web.not_found", lang_of(request)), status_code=404)
    except GuatuError as exc:
        return error_page(request, str(exc), status_code=422)
    return redirect(f"/admin/campaigns/{campaign_id}")


@router.get("/campaigns/{campaign_id}/status")
async def campaign_status_json(
    campaign_id: DbId, session: SessionDep, settings: SettingsDep, admin: AdminDep
) -> Response:
    from notifier.sending.campaigns import campaign_status

    try:
        status = await campaign_status(session, campaign_id=campaign_id,
                                       receipt_window=timedelta(hours=settings.sms_receipt_window_hours))  # fmt: skip
    except GuatuError as exc:
        return JSONResponse({"error": str(exc)}, status_code=404)
    return JSONResponse(status.to_json())


# --- overdue --------------------------------------------------------------------


@router.get("/overdue", response_class=HTMLResponse)
async def overdue(request: Request, session: SessionDep, settings: SettingsDep, admin: AdminDep) -> Response:
    """Current alerts: overdue milestones, black-list entries and missing reports."""
    from notifier.bulletins.alerts import current_alerts

    as_of = parse_day(request, request.query_params.get("as_of"), settings)
    alerts = await current_alerts(session, settings=settings, as_of=as_of)
    names = {u.code: u.name for u in await _units(session)}
    return render(
        request, "overdue.html", {"admin": admin, "alerts": alerts, "as_of": as_of, "unit_names": names}
    )
