"""The leads' one-page weekly report form, reached from a signed link in the reminder SMS.

The amount is asked in 万元 (the unit stands beside the field): a bare number is 万元, a unit typed
with it (300万, 1.2亿, 12,000,000元) is read as typed, and an approximate or mixed amount (约500万,
3千万) is asked back once before it is stored. Reopening the link shows this week's report to
correct; after the deadline the link says the week closed, when, and whom to call.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Channel, ProcedureItem, ProgressReport, Project, Stage
from notifier.core.errors import GuatuError
from notifier.core.settings import Settings
from notifier.core.texts import t
from notifier.numbers.amounts import read_amount, spoken_amount
from notifier.reporting.links import LinkError, ReportClaim, read_report_token
from notifier.reporting.reports import submit_report
from web.pages import SessionDep, SettingsDep, error_page, lang_of, local_time, render, week_name
from web.security import csrf_ok

router = APIRouter()
MAX_BLOCKERS = 500
# The form: a stage, an amount, a few item ids and at most MAX_BLOCKERS characters, url-encoded.
BODY_LIMIT = 16 * 1024
WAN = Decimal(10_000)
# Any instant before every deadline: reading a token "as of" it checks the signature alone.
_LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)
# Amounts read this way are asked back before they are stored.
CONFIRM_REASONS = ("approximate", "mixed")


def _claim(settings: Settings, token: str) -> ReportClaim | None:
    try:
        return read_report_token(settings, token)
    except LinkError:
        return None


def _expired_claim(settings: Settings, token: str) -> ReportClaim | None:
    """The claim of a genuine link whose week has closed (None for a forged or tampered one)."""
    try:
        claim = read_report_token(settings, token, now=_LONG_AGO)
    except LinkError:
        return None
    return claim if claim.expires_at <= datetime.now(UTC) else None


async def _context(session: AsyncSession, claim: ReportClaim) -> dict[str, Any] | None:
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


def _wan_text(yuan: Decimal) -> str:
    """An amount as the number to put in the 万元 field: 3000000 -> "300"."""
    text = f"{(yuan / WAN).normalize():f}"
    return text


async def _current(session: AsyncSession, claim: ReportClaim) -> ProgressReport | None:
    return (
        await session.exec(
            select(ProgressReport).where(
                ProgressReport.project_id == claim.project_id,
                ProgressReport.week == claim.week,
                col(ProgressReport.is_current).is_(True),
            )
        )
    ).first()


def _page(request: Request, settings: Settings, context: dict[str, Any], **values: Any) -> dict[str, Any]:
    """What every state of the form shows: the week as dates, the deadline in office time."""
    lang = lang_of(request)
    claim: ReportClaim = context["claim"]
    return {**context, "week_text": week_name(claim.week, lang),
            "deadline": local_time(claim.expires_at, settings), "errors": [], "values": {},
            "question": None, "current": None, **values}  # fmt: skip


async def _refuse(request: Request, session: AsyncSession, settings: Settings, token: str) -> Response:
    """403: the week closed (when, whom to call) for a genuine expired link, a plain refusal otherwise."""
    lang = lang_of(request)
    claim = _expired_claim(settings, token)
    if claim is not None and await _context(session, claim) is not None:
        message = t("console.form.closed", lang, week=week_name(claim.week, lang),
                    deadline=local_time(claim.expires_at, settings), contact=settings.office_contact)  # fmt: skip
        return render(request, "report_closed.html", {"message": message}, status_code=403)
    return error_page(request, t("web.forbidden", lang), status_code=403)


@router.get("/r/{token}", response_class=HTMLResponse)
async def report_form(request: Request, token: str, session: SessionDep, settings: SettingsDep) -> Response:
    """The form for the link's project and week, prefilled with this week's report when there is
    one; a forged or tampered link gets 403, an expired one says the week closed."""
    claim = _claim(settings, token)
    context = await _context(session, claim) if claim else None
    if context is None or claim is None:
        return await _refuse(request, session, settings, token)
    current = await _current(session, claim)
    values: dict[str, Any] = {}
    if current is not None:
        values = {"stage": current.stage.value if isinstance(current.stage, Stage) else current.stage,
                  "investment": _wan_text(current.investment), "blockers": current.blockers or "",
                  "procedures": []}  # fmt: skip
    return render(
        request, "report_form.html", _page(request, settings, context, values=values, current=current)
    )


def _read(investment: str, confirmed: str, lang: str) -> tuple[Decimal | None, str | None, str | None]:
    """(yuan, error, question): the amount when it can be stored; an error; or a question to confirm."""
    try:
        reading = read_amount(investment, lang)
    except GuatuError as exc:
        return None, str(exc), None
    if reading.reason in CONFIRM_REASONS and confirmed.strip() != investment.strip():
        question = t("console.form.confirm", lang, typed=investment.strip()[:40],
                     amount=spoken_amount(reading.yuan, lang))  # fmt: skip
        return None, None, question
    return reading.yuan, None, None


@router.post("/r/{token}", response_class=HTMLResponse, max_body_size=BODY_LIMIT)
async def submit_form(
    request: Request,
    token: str,
    session: SessionDep,
    settings: SettingsDep,
    csrf: Annotated[str, Form()] = "",
    stage: Annotated[str, Form(max_length=16)] = "",
    investment: Annotated[str, Form(max_length=40)] = "",
    confirmed: Annotated[str, Form(max_length=40)] = "",
    procedures: Annotated[list[int] | None, Form()] = None,
    blockers: Annotated[str, Form(max_length=MAX_BLOCKERS)] = "",
) -> Response:
    """Validate like the bot does (the same amount reading, the same submit_report) and store one
    version; the answer echoes what was stored."""
    lang = lang_of(request)
    claim = _claim(settings, token)
    context = await _context(session, claim) if claim else None
    if context is None or claim is None:
        return await _refuse(request, session, settings, token)
    if not csrf_ok(request, csrf):
        return error_page(request, t("web.csrf_failed", lang), status_code=403)
    values = {"stage": stage, "investment": investment, "blockers": blockers, "procedures": procedures or []}
    errors: list[str] = []
    if stage not in {s.value for s in Stage}:
        errors.append(t("web.field_required", lang, field=t("web.stage", lang)))
    amount, error, question = _read(investment, confirmed, lang)
    if error:
        errors.append(error)
    allowed = {item.id for item in context["items"]}
    chosen = [i for i in (procedures or []) if i in allowed]
    if errors or question or amount is None:
        page = _page(request, settings, context, errors=errors, values=values, question=question)
        return render(request, "report_form.html", page, status_code=422 if errors else 200)
    try:
        report = await submit_report(session, settings=settings, project_id=claim.project_id,
                                     reporter_id=claim.person_id, week=claim.week, stage=Stage(stage),
                                     investment=amount, procedure_item_ids=chosen, blockers=blockers.strip() or None,
                                     channel=Channel.WEB, now=datetime.now(UTC), lang=lang)  # fmt: skip
    except GuatuError as exc:
        page = _page(request, settings, context, errors=[str(exc)], values=values)
        return render(request, "report_form.html", page, status_code=422)
    done = {"project": context["project"], "claim": claim, "report": report, "amount": spoken_amount(amount, lang),
            "week_text": week_name(claim.week, lang), "deadline": local_time(claim.expires_at, settings),
            "token": token}  # fmt: skip
    return render(request, "report_done.html", done)
