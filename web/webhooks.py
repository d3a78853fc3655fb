"""Twilio webhooks: message status callbacks and inbound keywords (STOP / START / HELP).

Both check X-Twilio-Signature with the auth token over PUBLIC_BASE_URL + path (behind a proxy the
URL the app sees is not the one Twilio signed), or over the request URL when it is unset. A
request that does not verify gets 403 and changes nothing.
"""

from __future__ import annotations

import logging
from typing import Annotated
from xml.sax.saxutils import escape

import zhconv
from fastapi import APIRouter, Depends, HTTPException, Request, Response
from sqlmodel import select
from twilio.request_validator import RequestValidator

from models import Person
from notifier.core.phones import PhoneError, parse_phone
from notifier.core.settings import Settings
from notifier.core.texts import t
from notifier.sending.deliveries import apply_provider_status
from notifier.sending.optout import keyword_kind, opt_in, opt_out
from web.replay import once_per_signature

log = logging.getLogger(__name__)
# Twilio's parameters are a few hundred bytes; nothing bigger is read, let alone parsed.
router = APIRouter(prefix="/webhooks/twilio", tags=["twilio"], max_body_size=16 * 1024)
TWIML = "application/xml"


def signed_url(request: Request, settings: Settings) -> str:
    """The URL Twilio signed: PUBLIC_BASE_URL + path (+ query), else the URL as received."""
    if not settings.public_base_url:
        return str(request.url)
    url = settings.public_base_url.rstrip("/") + request.url.path
    return f"{url}?{request.url.query}" if request.url.query else url


async def verified_form(request: Request) -> dict[str, str]:
    """The POSTed form, once its X-Twilio-Signature verifies; 403 otherwise."""
    settings: Settings = request.app.state.settings
    form = await request.form()
    params = {key: str(value) for key, value in form.items()}
    signature = request.headers.get("X-Twilio-Signature", "")
    token = settings.twilio_auth_token.get_secret_value() if settings.twilio_auth_token else ""
    if not (token and signature and RequestValidator(token).validate(signed_url(request, settings), params,
                                                                    signature)):  # fmt: skip
        log.warning("Twilio webhook with a bad or missing signature on %s", request.url.path)
        raise HTTPException(status_code=403, detail="invalid X-Twilio-Signature")
    return params


def twiml(message: str | None) -> Response:
    inner = f"<Message>{escape(message)}</Message>" if message else ""
    return Response(f'<?xml version="1.0" encoding="UTF-8"?><Response>{inner}</Response>', media_type=TWIML)


# A callback replayed with the same signature is answered with an empty TwiML and changes nothing.
Form = Annotated[
    dict[str, str],
    Depends(once_per_signature(verified_form, header="X-Twilio-Signature", answer=lambda: twiml(None))),
]


@router.post("/status")
async def status_callback(request: Request, form: Form) -> Response:
    """A message's status moved on at Twilio: apply it (forward only); a SID not recorded yet is kept
    and applied when the send that made it is written."""
    sid = form.get("MessageSid") or form.get("SmsSid") or ""
    status = form.get("MessageStatus") or form.get("SmsStatus") or ""
    code = form.get("ErrorCode")
    async with request.app.state.sessionmaker() as session:
        await apply_provider_status(session, sid=sid, status=status,
                                    error_code=int(code) if code and code.isdigit() else None)  # fmt: skip
    return Response(status_code=200)


def keyword(body: str) -> str:
    """The inbound keyword as carriers match it: trimmed, upper case, traditional forms simplified."""
    return zhconv.convert(body.strip(), "zh-cn").upper()


@router.post("/inbound")
async def inbound(request: Request, form: Form) -> Response:
    """An SMS to our number: opt out (STOP, TD, 退订...), opt back in (START, UNSTOP), or HELP; Twilio's
    OptOutType, when present, decides."""
    settings: Settings = request.app.state.settings
    kind = keyword_kind(keyword(form.get("Body", "")), form.get("OptOutType"))
    try:
        phone = parse_phone(form.get("From", ""))
    except PhoneError:
        return twiml(None)
    async with request.app.state.sessionmaker() as session:
        lang = (await session.exec(select(Person.language).where(Person.phone == phone))).first() or "zh"
        if kind == "stop":
            await opt_out(session, phone=phone, source="sms")
            await session.commit()
            return twiml(t("webhook.stopped", lang, office=settings.office_name))
        if kind == "start":
            await opt_in(session, phone=phone, source="sms")
            await session.commit()
            return twiml(t("webhook.started", lang, office=settings.office_name))
    if kind == "help":
        return twiml(t("webhook.help", lang, contact=settings.office_contact))
    return twiml(None)
