"""Twilio webhooks through the ASGI app: signed status callbacks and inbound keywords."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession
from twilio.request_validator import RequestValidator

from models import AuditLog, Campaign, CampaignKind, Delivery, DeliveryState, OptOut, Person, Role
from models.db import SessionMaker
from notifier.core.settings import Settings, load_settings
from web.app import create_app

TOKEN = "webhook-test-token"
BASE = "https://guatu.example.cn"
PHONE = "+8613904830001"
SID = "SM" + "a" * 32


@pytest.fixture
def hook_settings(db_url: str, tmp_path: Path) -> Settings:
    return load_settings(database_url=db_url, twilio_account_sid="AC" + "f" * 32, twilio_auth_token=TOKEN,
                         public_base_url=BASE, secret_key="test-secret-key-not-for-production",
                         sms_file_path=tmp_path / "sms.jsonl", _env_file=None)  # fmt: skip


@pytest.fixture
async def client(hook_settings: Settings, sessionmaker: SessionMaker) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(hook_settings)
    # ASGITransport does not run the lifespan; hand the app the test database directly.
    app.state.sessionmaker = sessionmaker
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://internal") as c:
        yield c


async def post(client: httpx.AsyncClient, path: str, params: dict[str, str], *, token: str = TOKEN,
               signature: str | None = None, url: str | None = None) -> httpx.Response:  # fmt: skip
    signed = RequestValidator(token).compute_signature(url or BASE + path, params)
    headers = {} if signature == "" else {"X-Twilio-Signature": signature or signed}
    return await client.post(path, data=params, headers=headers)


async def delivery(session: AsyncSession, state: DeliveryState = DeliveryState.SENT) -> Delivery:
    campaign = Campaign(kind=CampaignKind.BROADCAST, text="x", audience=f"phones:{PHONE}")
    session.add(campaign)
    await session.flush()
    row = Delivery(campaign_id=campaign.id or 0, phone=PHONE, body="x", state=state, provider_sid=SID)
    session.add(row)
    await session.commit()
    return row


async def state_of(sessionmaker: SessionMaker) -> tuple[DeliveryState, int | None]:
    async with sessionmaker() as s:
        row = (await s.exec(select(Delivery).where(Delivery.provider_sid == SID))).one()
        return row.state, row.error_code


def status(value: str, **extra: str) -> dict[str, str]:
    return {"MessageSid": SID, "MessageStatus": value, "AccountSid": "AC" + "f" * 32, "To": PHONE, **extra}


async def test_signed_status_moves_delivery_forward(client: httpx.AsyncClient, session: AsyncSession,
                                                    sessionmaker: SessionMaker) -> None:  # fmt: skip
    await delivery(session)
    response = await post(client, "/webhooks/twilio/status", status("delivered"))
    assert response.status_code == 200
    assert (await state_of(sessionmaker))[0] == DeliveryState.DELIVERED


async def test_undelivered_records_the_error_code(client: httpx.AsyncClient, session: AsyncSession,
                                                  sessionmaker: SessionMaker) -> None:  # fmt: skip
    await delivery(session)
    await post(client, "/webhooks/twilio/status", status("undelivered", ErrorCode="30003"))
    assert await state_of(sessionmaker) == (DeliveryState.UNDELIVERED, 30003)


async def test_late_sent_after_delivered_changes_nothing(client: httpx.AsyncClient, session: AsyncSession,
                                                         sessionmaker: SessionMaker) -> None:  # fmt: skip
    await delivery(session)
    await post(client, "/webhooks/twilio/status", status("delivered"))
    response = await post(client, "/webhooks/twilio/status", status("sent"))
    assert response.status_code == 200
    assert (await state_of(sessionmaker))[0] == DeliveryState.DELIVERED


@pytest.mark.parametrize(
    ("signature", "token", "url"),
    [("", TOKEN, None), ("bm90LWEtc2lnbmF0dXJl", TOKEN, None), (None, "another-token", None),
     (None, TOKEN, "http://internal/webhooks/twilio/status")],
    ids=["missing", "garbage", "wrong-token", "wrong-url"],
)  # fmt: skip
async def test_forged_status_is_403_and_changes_nothing(
    client: httpx.AsyncClient, session: AsyncSession, sessionmaker: SessionMaker,
    signature: str | None, token: str, url: str | None,
) -> None:  # fmt: skip
    await delivery(session)
    response = await post(client, "/webhooks/twilio/status", status("delivered"), signature=signature,
                          token=token, url=url)  # fmt: skip
    assert response.status_code == 403
    assert (await state_of(sessionmaker))[0] == DeliveryState.SENT


async def test_tampered_params_are_403(client: httpx.AsyncClient, session: AsyncSession,
                                       sessionmaker: SessionMaker) -> None:  # fmt: skip
    await delivery(session)
    good = RequestValidator(TOKEN).compute_signature(BASE + "/webhooks/twilio/status", status("sent"))
    response = await post(client, "/webhooks/twilio/status", status("delivered"), signature=good)
    assert response.status_code == 403
    assert (await state_of(sessionmaker))[0] == DeliveryState.SENT


async def test_unknown_sid_is_200_and_ignored(client: httpx.AsyncClient, session: AsyncSession,
                                              sessionmaker: SessionMaker) -> None:  # fmt: skip
    await delivery(session)
    params = {**status("delivered"), "MessageSid": "SM" + "b" * 32}
    response = await post(client, "/webhooks/twilio/status", params)
    assert response.status_code == 200
    assert (await state_of(sessionmaker))[0] == DeliveryState.SENT


async def test_request_url_is_signed_when_public_base_url_unset(sessionmaker: SessionMaker, session: AsyncSession,
                                                                hook_settings: Settings) -> None:  # fmt: skip
    app = create_app(hook_settings.model_copy(update={"public_base_url": None}))
    app.state.sessionmaker = sessionmaker
    await delivery(session)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://internal") as c:
        wrong = await post(c, "/webhooks/twilio/status", status("sent"))
        right = await post(c, "/webhooks/twilio/status", status("delivered"),
                           url="http://internal/webhooks/twilio/status")  # fmt: skip
    assert (wrong.status_code, right.status_code) == (403, 200)
    assert (await state_of(sessionmaker))[0] == DeliveryState.DELIVERED


def inbound(body: str, sender: str = PHONE) -> dict[str, str]:
    return {"MessageSid": "SM" + "c" * 32, "From": sender, "To": "+15005550006", "Body": body,
            "AccountSid": "AC" + "f" * 32}  # fmt: skip


async def opted_out(sessionmaker: SessionMaker) -> tuple[bool, bool | None]:
    async with sessionmaker() as s:
        row = await s.get(OptOut, PHONE)
        person = (await s.exec(select(Person).where(Person.phone == PHONE))).first()
        return row is not None, person.opted_out if person else None


# The traditional form of 退订 is written as escapes: accepted as input, never present in the source.
@pytest.mark.parametrize(
    "word",
    ["STOP", "stop", " StopAll ", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "optout", "退订", "\u9000\u8a02",
     "TD", "td"],
)  # fmt: skip
async def test_each_stop_keyword_opts_out(client: httpx.AsyncClient, session: AsyncSession,
                                          sessionmaker: SessionMaker, word: str) -> None:  # fmt: skip
    session.add(Person(name="张三", phone=PHONE, role=Role.LEADER))
    await session.commit()
    response = await post(client, "/webhooks/twilio/inbound", inbound(word))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/xml")
    assert "<Message>" in response.text and "START" in response.text
    assert await opted_out(sessionmaker) == (True, True)
    async with sessionmaker() as s:
        actions = (await s.exec(select(AuditLog.action))).all()
    assert "sms.opt_out" in actions


@pytest.mark.parametrize("word", ["START", "unstop", "Yes"])
async def test_start_opts_back_in(client: httpx.AsyncClient, session: AsyncSession,
                                  sessionmaker: SessionMaker, word: str) -> None:  # fmt: skip
    session.add(Person(name="张三", phone=PHONE, role=Role.LEADER))
    await session.commit()
    await post(client, "/webhooks/twilio/inbound", inbound("STOP"))
    response = await post(client, "/webhooks/twilio/inbound", inbound(word))
    assert response.status_code == 200
    assert await opted_out(sessionmaker) == (False, False)


async def test_help_answers_with_the_office_contact(client: httpx.AsyncClient, hook_settings: Settings,
                                                    sessionmaker: SessionMaker) -> None:  # fmt: skip
    response = await post(client, "/webhooks/twilio/inbound", inbound("help"))
    assert response.status_code == 200
    assert hook_settings.office_contact in response.text
    assert await opted_out(sessionmaker) == (False, None)


async def test_other_text_gets_an_empty_answer(client: httpx.AsyncClient, sessionmaker: SessionMaker) -> None:
    response = await post(client, "/webhooks/twilio/inbound", inbound("收到,谢谢"))
    assert response.status_code == 200
    assert "<Message>" not in response.text
    assert await opted_out(sessionmaker) == (False, None)


async def test_forged_inbound_stop_is_403_and_changes_nothing(client: httpx.AsyncClient,
                                                              sessionmaker: SessionMaker) -> None:  # fmt: skip
    response = await post(client, "/webhooks/twilio/inbound", inbound("STOP"), token="another-token")
    assert response.status_code == 403
    assert await opted_out(sessionmaker) == (False, None)


@pytest.mark.parametrize(
    ("body", "opt_out_type", "opted"), [("停止发送", "STOP", True), ("STOP", "HELP", False)]
)
async def test_twilio_opt_out_type_decides(client: httpx.AsyncClient, session: AsyncSession,
                                           sessionmaker: SessionMaker, body: str, opt_out_type: str,
                                           opted: bool) -> None:  # fmt: skip
    """A Messaging Service's own keyword (any word) arrives with OptOutType, which is what Twilio did."""
    session.add(Person(name="张三", phone=PHONE, role=Role.LEADER))
    await session.commit()
    response = await post(client, "/webhooks/twilio/inbound", {**inbound(body), "OptOutType": opt_out_type})
    assert response.status_code == 200
    assert (await opted_out(sessionmaker))[0] is opted
