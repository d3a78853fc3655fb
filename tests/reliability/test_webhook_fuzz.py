"""Fuzzed webhook bodies and signatures (hypothesis): the Twilio callbacks and the Telegram webhook
answer only 200, 400 or 403, and a rejected request changes nothing in the database."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import func, select
from twilio.request_validator import RequestValidator

from bot.app import build_dispatcher
from bot.fake_session import RecordingSession, recording_bot
from models import AuditLog, Delivery, OptOut, ProgressReport
from models.db import SessionMaker
from notifier.core.settings import load_settings
from tests.web.test_webhooks import BASE, PHONE, SID, TOKEN, delivery
from web.app import create_app

SECRET = "fuzz-telegram-secret"
FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

field_names = st.sampled_from(["MessageSid", "MessageStatus", "ErrorCode", "To", "From", "Body", "AccountSid",
                               "SmsStatus", "OptOutType", "x"])  # fmt: skip
field_values = st.one_of(st.text(max_size=40), st.sampled_from(["delivered", "failed", "STOP", "退订", SID, PHONE,
                                                               "undelivered", "30003", "-1", "", "START"]))  # fmt: skip
forms = st.dictionaries(field_names, field_values, max_size=6)
header_text = st.text(
    alphabet=st.characters(min_codepoint=33, max_codepoint=126), max_size=40
)  # what HTTP carries
signatures = st.one_of(st.none(), st.just(""), header_text, st.just("valid"))


@pytest.fixture
async def app_client(
    db_url: str, tmp_path: Path, sessionmaker: SessionMaker
) -> AsyncIterator[httpx.AsyncClient]:
    app_settings = load_settings(database_url=db_url, twilio_account_sid="AC" + "f" * 32, twilio_auth_token=TOKEN,
                                 public_base_url=BASE, secret_key="test-secret-key-not-for-production",
                                 telegram_bot_token="42:TEST", telegram_webhook_secret=SECRET,
                                 sms_file_path=tmp_path / "sms.jsonl", _env_file=None)  # fmt: skip
    app = create_app(app_settings)
    app.state.sessionmaker = sessionmaker
    app.state.telegram = (recording_bot(RecordingSession()),
                          build_dispatcher(settings=app_settings, sessionmaker=sessionmaker))  # fmt: skip
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://internal"
    ) as client:
        yield client


async def _snapshot(sessionmaker: SessionMaker) -> tuple[Any, ...]:
    async with sessionmaker() as s:
        rows = (await s.exec(select(Delivery.state, Delivery.error_code, Delivery.final_at))).all()
        counts = [
            int((await s.exec(select(func.count()).select_from(m))).one()) for m in (OptOut, ProgressReport)
        ]
        audit = int((await s.exec(select(func.count()).select_from(AuditLog).where(AuditLog.allowed))).one())
    return tuple(rows), *counts, audit


@FUZZ
@given(path=st.sampled_from(["/webhooks/twilio/status", "/webhooks/twilio/inbound"]), form=forms,
       signature=signatures, raw=st.one_of(st.none(), st.binary(max_size=200)))  # fmt: skip
async def test_fuzzed_twilio_callbacks(
    app_client: httpx.AsyncClient, sessionmaker: SessionMaker, path: str, form: dict[str, str],
    signature: str | None, raw: bytes | None,
) -> None:  # fmt: skip
    async with sessionmaker() as session:
        if not (await session.exec(select(Delivery.id))).first():
            await delivery(session)
    before = await _snapshot(sessionmaker)
    headers = {}
    if signature == "valid":
        headers["X-Twilio-Signature"] = RequestValidator(TOKEN).compute_signature(BASE + path, form)
    elif signature is not None:
        headers["X-Twilio-Signature"] = signature
    if raw is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        response = await app_client.post(path, content=raw, headers=headers)
    else:
        response = await app_client.post(path, data=form, headers=headers)
    assert response.status_code in {200, 400, 403}, (response.status_code, response.text[:200])
    if response.status_code != 200:
        assert await _snapshot(sessionmaker) == before


json_values = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=20)),
                           lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                   st.dictionaries(st.text(max_size=10), inner, max_size=4)),
                           max_leaves=12)  # fmt: skip
bodies = st.one_of(
    st.binary(max_size=200),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.builds(lambda t: json.dumps({"update_id": 1, "message": {"message_id": 1, "date": 1764000000, "text": t,
              "chat": {"id": 7, "type": "private"}, "from": {"id": 7, "is_bot": False, "first_name": "U"}}}).encode(),
              st.text(max_size=30)),
)  # fmt: skip


@FUZZ
@given(body=bodies, secret=st.one_of(st.none(), st.just(SECRET), header_text))
async def test_fuzzed_telegram_updates(
    app_client: httpx.AsyncClient, sessionmaker: SessionMaker, body: bytes, secret: str | None
) -> None:
    before = await _snapshot(sessionmaker)
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    response = await app_client.post("/webhooks/telegram", content=body, headers=headers)
    assert response.status_code in {200, 400, 403}, (response.status_code, body[:100])
    if response.status_code != 200:
        assert await _snapshot(sessionmaker) == before
