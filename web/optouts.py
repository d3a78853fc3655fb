"""Opting numbers out of SMS (and back in) from the admin console; every change is audit-logged.

Two-way SMS is not available for Chinese numbers, so besides STOP replies and the bot's /stop,
an admin can record a leader's request here.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import col, select

from models import OptOut, Person
from notifier.core.phones import PhoneError, parse_phone
from notifier.core.texts import t
from notifier.sending.optout import opt_in, opt_out
from web.pages import AdminDep, SessionDep, error_page, lang_of, render
from web.security import csrf_ok

router = APIRouter(prefix="/admin/optouts")


async def _page(request: Request, session: Any, admin: Person, *, errors: list[str], done: str = "",
                status_code: int = 200) -> Response:  # fmt: skip
    rows = (
        await session.exec(
            select(OptOut, Person.name)
            .outerjoin(Person, col(Person.phone) == col(OptOut.phone))
            .order_by(col(OptOut.created_at).desc())
        )
    ).all()
    return render(request, "optouts.html", {"admin": admin, "rows": rows, "errors": errors, "done": done},
                  status_code=status_code)  # fmt: skip


@router.get("", response_class=HTMLResponse)
async def optouts(request: Request, session: SessionDep, admin: AdminDep) -> Response:
    return await _page(request, session, admin, errors=[])


@router.post("", response_class=HTMLResponse)
async def change(
    request: Request,
    session: SessionDep,
    admin: AdminDep,
    phone: Annotated[str, Form(max_length=40)] = "",
    action: Annotated[str, Form(max_length=8)] = "",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    """action=out stops SMS to the number, action=in resumes them; a malformed number changes nothing."""
    lang = lang_of(request)
    if not csrf_ok(request, csrf):
        return error_page(request, t("web.csrf_failed", lang), status_code=403)
    if action not in {"out", "in"}:
        return await _page(
            request, session, admin, errors=[t("web.optout_bad_action", lang)], status_code=422
        )
    try:
        e164 = parse_phone(phone)
    except PhoneError as exc:
        return await _page(request, session, admin, errors=[str(exc)], status_code=422)
    if action == "out":
        changed = await opt_out(session, phone=e164, source="admin", actor_id=admin.id)
    else:
        changed = await opt_in(session, phone=e164, source="admin", actor_id=admin.id)
    await session.commit()
    key = ("web.optout_done" if action == "out" else "web.optin_done") if changed else "web.optout_unchanged"
    return await _page(request, session, admin, errors=[], done=t(key, lang, phone=e164))
