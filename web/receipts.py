"""/r/<bulletin>/<person>/<signature>: the 已阅 link in a leader's SMS records the read.

The signature binds the bulletin and the person (notifier.reporting.receipts); a link altered in any part,
or for someone the bulletin did not go to, answers 403 and records nothing.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from models import Bulletin
from notifier.core.texts import t
from notifier.reporting.receipts import ReceiptError, record_read, verify_read_signature
from web.pages import DbId, SessionDep, SettingsDep, error_page, lang_of, render

router = APIRouter()


@router.get("/r/{bulletin_id}/{person_id}/{signature}", response_class=HTMLResponse)
async def read_link(
    request: Request,
    bulletin_id: DbId,
    person_id: DbId,
    signature: str,
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    lang = lang_of(request)
    secret = settings.secret_key.get_secret_value() if settings.secret_key else ""
    if not secret or not verify_read_signature(secret, bulletin_id, person_id, signature):
        return error_page(request, t("web.forbidden", lang), status_code=403)
    try:
        first = await record_read(session, bulletin_id=bulletin_id, person_id=person_id, via="link")
    except ReceiptError as exc:
        return error_page(request, str(exc), status_code=403)
    await session.commit()
    bulletin = await session.get(Bulletin, bulletin_id)
    return render(request, "read_done.html", {"bulletin": bulletin, "first": first})
