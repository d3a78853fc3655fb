"""Bulletins in the admin console: preview, draft for sign-off, approve or reject, send."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import col, select

from models import Bulletin, BulletinKind, BulletinState, Unit
from notifier.bulletins.compose import compose_bulletin, draft_bulletin, release_bulletin
from notifier.bulletins.signoff import (
    approve_bulletin,
    approve_late,
    list_archive,
    load_bulletin,
    reject_bulletin,
)
from notifier.core.errors import GuatuError
from notifier.core.settings import Settings
from notifier.core.texts import t
from notifier.sending.quiet import quiet_until
from notifier.sending.segments import segment_info, with_signature
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
from web.security import csrf_ok

router = APIRouter(prefix="/admin/bulletins")


def _kind(value: str | None) -> BulletinKind:
    return BulletinKind(value) if value in {k.value for k in BulletinKind} else BulletinKind.WEEKLY


@router.get("", response_class=HTMLResponse)
async def bulletins(
    request: Request, session: SessionDep, settings: SettingsDep, admin: AdminDep
) -> Response:
    """Preview a bulletin as it would go out, and the recent drafts and sends."""
    kind = _kind(request.query_params.get("kind"))
    as_of = parse_day(request, request.query_params.get("as_of"), settings)
    composed = await compose_bulletin(
        session, settings=settings, kind=kind, as_of=as_of, lang=lang_of(request)
    )
    recent = (await session.exec(select(Bulletin).order_by(col(Bulletin.id).desc()).limit(20))).all()
    context = {"admin": admin, "kinds": list(BulletinKind), "kind": kind, "as_of": as_of, "composed": composed,
               "recent": recent}  # fmt: skip
    return render(request, "bulletins.html", context)


@router.post("/draft")
async def draft(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    admin: AdminDep,
    csrf: Annotated[str, Form()] = "",
    kind: Annotated[str, Form(max_length=16)] = "",
    as_of: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    if not csrf_ok(request, csrf):
        return error_page(request, t("web.csrf_failed", lang_of(request)), status_code=403)
    try:
        bulletin, _ = await draft_bulletin(session, settings=settings, kind=_kind(kind), as_of=parse_day(request, as_of, settings),
                                           composed_by_id=admin.id)  # fmt: skip
    except GuatuError as exc:
        return error_page(request, str(exc), status_code=422)
    return redirect(f"/admin/bulletins/{bulletin.id}")


@router.get("/archive", response_class=HTMLResponse)
async def archive(request: Request, session: SessionDep, settings: SettingsDep, admin: AdminDep) -> Response:
    """Every bulletin newest first: state, send time, recipients and how many acknowledged."""
    entries = await list_archive(session, limit=200)
    return render(request, "archive.html", {"admin": admin, "entries": entries})


async def _send_facts(
    session: SessionDep, settings: Settings, bulletin: Bulletin, sent_to: int
) -> dict[str, Any]:
    """What the approver signs off: segments per message, how many leaders, when it goes (moved
    past quiet hours when its time falls in them)."""
    from notifier.sending.audiences import resolve_audience

    info = segment_info(with_signature(bulletin.sms_text, settings.sms_signature))
    if bulletin.state == BulletinState.SENT:
        recipients = sent_to
    else:
        recipients = len(
            (await resolve_audience(session, settings=settings, audience="all-leaders")).recipients
        )
    goes = bulletin.send_at
    held = quiet_until(goes, settings) if goes is not None else None
    return {"segments": info.segments, "chars": info.characters, "encoding": info.encoding,
            "recipients": recipients, "send_at": goes, "held_until": held}  # fmt: skip


@router.get("/{bulletin_id}", response_class=HTMLResponse)
async def bulletin_page(
    request: Request, bulletin_id: DbId, session: SessionDep, settings: SettingsDep, admin: AdminDep
) -> Response:
    """A bulletin exactly as stored: its texts, segments, recipients and send time, the decisions,
    and each recipient with the read."""
    bulletin = await session.get(Bulletin, bulletin_id)
    if bulletin is None:
        return error_page(request, t("web.not_found", lang_of(request)), status_code=404)
    record = await load_bulletin(session, bulletin_id=bulletin_id)
    reads = {r.person_id: r for r in record.reads}
    numbers = json.loads(bulletin.numbers_json)
    facts = await _send_facts(session, settings, bulletin, len(record.recipients))
    unit_names = {u.code: u.name for u in (await session.exec(select(Unit))).all()}
    return render(request, "bulletin.html", {"admin": admin, "bulletin": bulletin, "approved": BulletinState.APPROVED,
                                             "draft": BulletinState.DRAFT, "expired": BulletinState.EXPIRED,
                                             "error": None, "record": record, "reads": reads, "facts": facts,
                                             "unit_names": unit_names,
                                             "longest": numbers.get("longest"),
                                             "unit_lines": numbers.get("unit_lines", {})})  # fmt: skip


@router.post("/{bulletin_id}/{action}")
async def decide(
    request: Request,
    bulletin_id: DbId,
    action: str,
    session: SessionDep,
    settings: SettingsDep,
    admin: AdminDep,
    csrf: Annotated[str, Form()] = "",
) -> Response:
    """approve / reject (the sign-off rules of notifier.bulletins.signoff apply) or send an approved bulletin."""
    lang = lang_of(request)
    if not csrf_ok(request, csrf):
        return error_page(request, t("web.csrf_failed", lang), status_code=403)
    try:
        if action == "approve":
            await approve_bulletin(
                session, settings=settings, bulletin_id=bulletin_id, person=admin, channel="web"
            )
        elif action == "reject":
            await reject_bulletin(
                session, settings=settings, bulletin_id=bulletin_id, person=admin, channel="web"
            )
        elif action == "approve-now":
            # A draft that missed its send time: sign it off and send it at once.
            redis = request.app.state.redis
            if redis is None:
                raise GuatuError("未配置 Redis,无法排队发送 / REDIS_URL is not set, cannot queue")
            await approve_late(
                session, settings=settings, bulletin_id=bulletin_id, person=admin, channel="web"
            )
            await session.commit()
            campaign = await release_bulletin(session, redis, settings=settings, bulletin_id=bulletin_id)
            return redirect(f"/admin/campaigns/{campaign.id}")
        elif action == "send":
            redis = request.app.state.redis
            if redis is None:
                raise GuatuError("未配置 Redis,无法排队发送 / REDIS_URL is not set, cannot queue")
            campaign = await release_bulletin(session, redis, settings=settings, bulletin_id=bulletin_id)
            return redirect(f"/admin/campaigns/{campaign.id}")
        else:
            return error_page(request, t("web.not_found", lang), status_code=404)
        await session.commit()
    except GuatuError as exc:
        await session.rollback()
        return error_page(request, str(exc), status_code=422)
    return redirect(f"/admin/bulletins/{bulletin_id}")
