"""The leads' one-page weekly report form, reached from a signed link in the reminder SMS."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import col, select

from models import Channel, ProcedureItem, Project, Stage
from notifier.core.errors import GuatuError
from notifier.core.settings import Settings
from notifier.core.texts import t
from notifier.numbers.amounts import parse_amount
from notifier.reporting.links import LinkError, ReportClaim, read_report_token
from notifier.reporting.reports import submit_report
from web.pages import SessionDep, SettingsDep, error_page, lang_of, render
from web.security import csrf_ok

router = APIRouter()
MAX_BLOCKERS = 500
# The form: a stage, an amount, a few item ids and at most MAX_BLOCKERS characters, url-encoded.
BODY_LIMIT = 16 * 1024


def _claim(request: Request, settings: Settings, token: str) -> ReportClaim | None:
    try:
        return read_report_token(settings, token)
    except LinkError:
        return None


async def _context(session: Any, claim: ReportClaim) -> dict[str, Any] | None:
    project = await session.get(Project, claim.project_id)
    if project is None or project.lead_id != claim.person_id:
        return None
    items = (
        await session.exec(
            select(ProcedureItem)
            .where(ProcedureItem.project_id == claim.project_id, col(ProcedureItem.done_on).is_(None))
            .order_by(col(ProcedureItem.id))
        )
    ).all()
    return {"project": project, "claim": claim, "items": items, "stages": list(Stage)}


@router.get("/r/{token}", response_class=HTMLResponse)
async def report_form(request: Request, token: str, session: SessionDep, settings: SettingsDep) -> Response:
    """The form for the link's project and week; a forged, tampered or expired link gets 403."""
    claim = _claim(request, settings, token)
    context = await _context(session, claim) if claim else None
    if context is None:
        return error_page(request, t("web.forbidden", lang_of(request)), status_code=403)
    return render(request, "report_form.html", {**context, "token": token, "errors": [], "values": {}})


@router.post("/r/{token}", response_class=HTMLResponse, max_body_size=BODY_LIMIT)
async def submit_form(
    request: Request,
    token: str,
    session: SessionDep,
    settings: SettingsDep,
    csrf: Annotated[str, Form()] = "",
    stage: Annotated[str, Form(max_length=16)] = "",
    investment: Annotated[str, Form(max_length=40)] = "",
    procedures: Annotated[list[int] | None, Form()] = None,
    blockers: Annotated[str, Form(max_length=MAX_BLOCKERS)] = "",
) -> Response:
    """Validate like the bot does (same amount parser, same submit_report) and store one version."""
    lang = lang_of(request)
    claim = _claim(request, settings, token)
    context = await _context(session, claim) if claim else None
    if context is None or claim is None:
        return error_page(request, t("web.forbidden", lang), status_code=403)
    if not csrf_ok(request, csrf):
        return error_page(request, t("web.csrf_failed", lang), status_code=403)
    values = {"stage": stage, "investment": investment, "blockers": blockers, "procedures": procedures or []}
    errors: list[str] = []
    if stage not in {s.value for s in Stage}:
        errors.append(t("web.field_required", lang, field=t("web.stage", lang)))
    amount = Decimal("0")
    try:
        amount = parse_amount(investment)
    except GuatuError as exc:
        errors.append(str(exc))
    allowed = {item.id for item in context["items"]}
    chosen = [i for i in (procedures or []) if i in allowed]
    if errors:
        return render(request, "report_form.html", {**context, "token": token, "errors": errors, "values": values},
                      status_code=422)  # fmt: skip
    try:
        await submit_report(session, settings=settings, project_id=claim.project_id, reporter_id=claim.person_id,
                            week=claim.week, stage=Stage(stage), investment=amount, procedure_item_ids=chosen,
                            blockers=blockers.strip() or None, channel=Channel.WEB, now=datetime.now(UTC))  # fmt: skip
    except GuatuError as exc:
        return render(request, "report_form.html", {**context, "token": token, "errors": [str(exc)], "values": values},
                      status_code=422)  # fmt: skip
    return render(request, "report_done.html", {"project": context["project"], "claim": claim})
