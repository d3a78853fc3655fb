"""The WeCom callback URL in the web app: the URL verification echo; 已阅 and Approve / Reject
pressed on cards the fake delivered, recorded once and answered on the card; and forged, unsigned,
stale and replayed callbacks refused with nothing changed."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import (
    AuditLog,
    Bulletin,
    BulletinDecision,
    BulletinKind,
    BulletinRead,
    BulletinState,
    Person,
    Role,
)
from models.db import SessionMaker
from notifier.bulletins import chat_copies
from notifier.bulletins.signoff import DraftContent, RecipientSnapshot, create_draft, mark_sent
from notifier.channels.router import ChannelChat
from notifier.core.settings import Settings
from web.app import create_app
from web.fakes.wecom import FakeWecom

URL = "/webhooks/wecom"


@pytest.fixture
def wecom_settings(fake_wecom: FakeWecom, db_url: str, redis_url: str, tmp_path: Path) -> Settings:
    return fake_wecom.settings(database_url=db_url, redis_url=redis_url, sms_backend="file", quiet_hours="",
                               sms_file_path=tmp_path / "sms.jsonl", secret_key="test-secret-key-not-for-production",
                               bulletin_two_person=True)  # fmt: skip


@pytest.fixture
async def wecom_app(wecom_settings: Settings, engine: object, redis: Any) -> AsyncIterator[FastAPI]:
    application = create_app(wecom_settings)
    async with application.router.lifespan_context(application):
        yield application


async def _people(session: AsyncSession, fake: FakeWecom) -> dict[str, Person]:
    people = {
        "admin": Person(name="管理员", phone="+8613904830301", role=Role.ADMIN),
        "approver": Person(name="审核人", phone="+8613904830302", role=Role.APPROVER),
        "leader": Person(name="盟领导", phone="+8613904830303", role=Role.LEADER),
        "lead": Person(name="项目负责人", phone="+8613904830304", role=Role.LEAD),
    }
    for key, person in people.items():
        fake.add_member(person.phone[3:] if person.phone else "", f"wx-{key}")
    session.add_all(people.values())
    await session.commit()
    return people


def _content() -> DraftContent:
    text = "【阿拉善盟发改委】重点项目周通报(2026-W47):开复工率94.0%。"
    return DraftContent(kind=BulletinKind.WEEKLY, as_of=date(2026, 11, 22), period_key="2026-W47",
                        numbers={"overall": {"projects": 100, "start_rate": 0.94}, "black_list": [], "red_list": []},
                        sms_text=text, html=f"<b>{text}</b>", copies={"all": text})  # fmt: skip


async def _sent_bulletin(session: AsyncSession, settings: Settings, people: dict[str, Person]) -> int:
    auto = settings.model_copy(update={"bulletin_approval": "auto"})
    bulletin = await create_draft(session, settings=auto, content=_content(), send_at=datetime.now(UTC))
    recipients = [RecipientSnapshot(person_id=p.id or 0, name=p.name, phone=p.phone, group="all")
                  for p in (people["leader"], people["admin"])]  # fmt: skip
    await mark_sent(session, bulletin_id=bulletin.id or 0, recipients=recipients)
    await session.commit()
    return bulletin.id or 0


async def _post(
    http: httpx.AsyncClient, fake: FakeWecom, xml: str, *, timestamp: int | None = None
) -> httpx.Response:
    params, body = fake.callback_request(xml, timestamp=timestamp)
    return await http.post(URL, params=params, content=body)


async def _count(sessionmaker: SessionMaker, model: Any, *where: Any) -> int:
    async with sessionmaker() as session:
        return int((await session.exec(select(func.count()).select_from(model).where(*where))).one())


async def test_url_verification_echoes_the_decrypted_echostr(
    http: httpx.AsyncClient, fake_wecom: FakeWecom
) -> None:
    stamp, nonce = str(int(time.time())), "1234"
    echostr, signature = fake_wecom.crypto.seal("8273645501928374", timestamp=stamp, nonce=nonce)
    response = await http.get(URL, params={"msg_signature": signature, "timestamp": stamp, "nonce": nonce,
                                           "echostr": echostr})  # fmt: skip
    assert response.status_code == 200 and response.text == "8273645501928374"
    forged = await http.get(URL, params={"msg_signature": "0" * 40, "timestamp": stamp, "nonce": nonce,
                                         "echostr": echostr})  # fmt: skip
    assert forged.status_code == 403 and "8273645501928374" not in forged.text


async def test_read_button_in_wecom_records_the_read_once(
    http: httpx.AsyncClient, fake_wecom: FakeWecom, session: AsyncSession, sessionmaker: SessionMaker,
    wecom_settings: Settings, chat: ChannelChat,
) -> None:  # fmt: skip
    people = await _people(session, fake_wecom)
    bulletin_id = await _sent_bulletin(session, wecom_settings, people)
    async with sessionmaker() as s:
        assert await chat_copies.send_telegram_copies(s, chat, bulletin_id=bulletin_id) == 2
    text, card = fake_wecom.to("wx-leader")  # the whole bulletin as text, then a card with 已阅
    assert "开复工率94.0%" in text.text and text.msgtype == "text"
    assert card.buttons == [("已阅", f"rd:{bulletin_id}")] and card.text.startswith("【阿拉善盟发改委】")

    press = fake_wecom.press_xml("wx-leader", f"rd:{bulletin_id}")
    response = await _post(http, fake_wecom, press)
    assert response.status_code == 200 and response.text == ""
    async with sessionmaker() as s:
        read = (await s.exec(select(BulletinRead))).one()
    assert (read.person_id, read.via) == (people["leader"].id, "wecom")
    assert fake_wecom.cards[card.body["template_card"]["task_id"]].label == "已阅 ✓"
    assert "已记录您已阅读通报" in fake_wecom.to("wx-leader")[-1].text

    # The same request again (a replay), and the same press delivered again by WeCom with a new
    # signature: neither is acted on.
    params, body = fake_wecom.callback_request(press)
    assert (await http.post(URL, params=params, content=body)).status_code == 200
    calls = dict(fake_wecom.calls)
    assert (await http.post(URL, params=params, content=body)).status_code == 200
    assert (await _post(http, fake_wecom, press)).status_code == 200
    assert await _count(sessionmaker, BulletinRead) == 1
    assert fake_wecom.calls == calls  # not even an acknowledgement went out again


async def test_replayed_replies_are_not_answered_again(
    http: httpx.AsyncClient, fake_wecom: FakeWecom, session: AsyncSession
) -> None:
    people = await _people(session, fake_wecom)
    people["lead"].wecom_userid = "wx-lead"
    session.add(people["lead"])
    await session.commit()
    reply = fake_wecom.text_xml("wx-lead", "收到")
    params, body = fake_wecom.callback_request(reply)
    assert (await http.post(URL, params=params, content=body)).status_code == 200
    assert (await http.post(URL, params=params, content=body)).status_code == 200  # the same request
    assert (await _post(http, fake_wecom, reply)).status_code == 200  # the same message, signed anew
    assert len(fake_wecom.to("wx-lead")) == 1


async def test_sign_off_in_wecom(
    http: httpx.AsyncClient, fake_wecom: FakeWecom, session: AsyncSession, sessionmaker: SessionMaker,
    wecom_settings: Settings, chat: ChannelChat,
) -> None:  # fmt: skip
    people = await _people(session, fake_wecom)
    bulletin = await create_draft(session, settings=wecom_settings, content=_content(),
                                  send_at=datetime.now(UTC) + timedelta(hours=1), composed_by_id=people["admin"].id)  # fmt: skip
    await session.commit()
    async with sessionmaker() as s:
        assert await chat_copies.ask_for_new_drafts(s, chat, settings=wecom_settings) == 2
    approve = f"bd:{bulletin.id}:1"
    asked = [m for m in fake_wecom.messages if (("✅ 同意发送", approve) in m.buttons)]
    assert sorted(m.userid for m in asked) == ["wx-admin", "wx-approver"]

    # The composer may not approve (two-person rule): refused, told why, nothing changes.
    assert (await _post(http, fake_wecom, fake_wecom.press_xml("wx-admin", approve))).status_code == 200
    assert "双人审核" in fake_wecom.to("wx-admin")[-1].text
    async with sessionmaker() as s:
        assert (await s.get(Bulletin, bulletin.id)).state == BulletinState.DRAFT  # type: ignore[union-attr]
    assert await _count(sessionmaker, BulletinDecision) == 0

    assert (await _post(http, fake_wecom, fake_wecom.press_xml("wx-approver", approve))).status_code == 200
    async with sessionmaker() as s:
        assert (await s.get(Bulletin, bulletin.id)).state == BulletinState.APPROVED  # type: ignore[union-attr]
        decision = (await s.exec(select(BulletinDecision))).one()
    assert (decision.person_id, decision.channel) == (people["approver"].id, "wecom")
    assert "已同意" in fake_wecom.to("wx-approver")[-1].text
    assert (
        await _count(
            sessionmaker, AuditLog, AuditLog.action == "bulletin.approve", AuditLog.channel == "wecom"
        )
        == 2
    )


async def test_reject_in_wecom_and_a_second_read_press(
    http: httpx.AsyncClient, fake_wecom: FakeWecom, session: AsyncSession, sessionmaker: SessionMaker,
    wecom_settings: Settings, chat: ChannelChat,
) -> None:  # fmt: skip
    people = await _people(session, fake_wecom)
    bulletin = await create_draft(session, settings=wecom_settings, content=_content(),
                                  send_at=datetime.now(UTC) + timedelta(hours=1), composed_by_id=people["admin"].id)  # fmt: skip
    await session.commit()
    async with sessionmaker() as s:
        await chat_copies.ask_for_new_drafts(s, chat, settings=wecom_settings)
    reject = f"bd:{bulletin.id}:0"
    assert (await _post(http, fake_wecom, fake_wecom.press_xml("wx-approver", reject))).status_code == 200
    async with sessionmaker() as s:
        assert (await s.get(Bulletin, bulletin.id)).state == BulletinState.REJECTED  # type: ignore[union-attr]
    assert fake_wecom.to("wx-approver")[-1].text == f"已驳回通报(编号{bulletin.id}),不会发送。"
    assert "已驳回" in {c.label for c in fake_wecom.cards.values() if c.message.userid == "wx-approver"}
    # Approving it afterwards is refused with the reason and changes nothing.
    approve = f"bd:{bulletin.id}:1"
    assert (await _post(http, fake_wecom, fake_wecom.press_xml("wx-approver", approve))).status_code == 200
    async with sessionmaker() as s:
        assert (await s.get(Bulletin, bulletin.id)).state == BulletinState.REJECTED  # type: ignore[union-attr]
    assert await _count(sessionmaker, BulletinDecision) == 1

    # 已阅 pressed on a second copy of a sent bulletin: recorded once, and the leader is told so.
    bulletin_id = await _sent_bulletin(session, wecom_settings, people)
    async with sessionmaker() as s:
        await chat_copies.send_telegram_copies(s, chat, bulletin_id=bulletin_id)
        await chat_copies.send_telegram_copies(s, chat, bulletin_id=bulletin_id)
    cards = [m for m in fake_wecom.to("wx-leader") if m.buttons == [("已阅", f"rd:{bulletin_id}")]]
    assert len(cards) >= 1
    await _post(http, fake_wecom, fake_wecom.press_xml("wx-leader", f"rd:{bulletin_id}"))
    await asyncio.sleep(1.01)  # WeCom stamps events by the second: a later press is another event
    await _post(http, fake_wecom, fake_wecom.press_xml("wx-leader", f"rd:{bulletin_id}"))
    assert [m.text for m in fake_wecom.to("wx-leader") if m.msgtype == "text"][-2:] == [
        f"已记录您已阅读通报(编号{bulletin_id}),谢谢。",
        "您已阅读过这份通报。",
    ]
    assert await _count(sessionmaker, BulletinRead) == 1


async def test_texts_are_answered(
    http: httpx.AsyncClient, fake_wecom: FakeWecom, session: AsyncSession, wecom_settings: Settings
) -> None:
    people = await _people(session, fake_wecom)
    people["lead"].wecom_userid = "wx-lead"
    session.add(people["lead"])
    await session.commit()
    assert (await _post(http, fake_wecom, fake_wecom.text_xml("wx-lead", "你好"))).status_code == 200
    assert "已收到" in fake_wecom.to("wx-lead")[-1].text
    assert (await _post(http, fake_wecom, fake_wecom.text_xml("wx-leader", "你好"))).status_code == 200
    assert "尚未与挂图作战平台关联" in fake_wecom.to("wx-leader")[-1].text  # not bound yet


def _tamper(params: dict[str, str], body: bytes, how: str) -> tuple[dict[str, str], bytes]:
    if how == "unsigned":
        return {k: v for k, v in params.items() if k != "msg_signature"}, body
    if how == "no_params":
        return {}, body
    if how == "forged_signature":
        return {**params, "msg_signature": "f" * 40}, body
    if how == "tampered_body":
        return params, body.replace(b"<Encrypt><![CDATA[", b"<Encrypt><![CDATA[A")
    if how == "other_nonce":
        return {**params, "nonce": params["nonce"] + "1"}, body
    raise AssertionError(how)


@pytest.mark.parametrize("how", ["unsigned", "no_params", "forged_signature", "tampered_body", "other_nonce"])
async def test_forged_and_unsigned_callbacks_change_nothing(
    http: httpx.AsyncClient, fake_wecom: FakeWecom, session: AsyncSession, sessionmaker: SessionMaker,
    wecom_settings: Settings, chat: ChannelChat, how: str,
) -> None:  # fmt: skip
    people = await _people(session, fake_wecom)
    bulletin_id = await _sent_bulletin(session, wecom_settings, people)
    async with sessionmaker() as s:
        await chat_copies.send_telegram_copies(s, chat, bulletin_id=bulletin_id)
    sent = len(fake_wecom.messages)
    params, body = _tamper(
        *fake_wecom.callback_request(fake_wecom.press_xml("wx-leader", f"rd:{bulletin_id}")), how
    )
    response = await http.post(URL, params=params, content=body)
    assert response.status_code == 403
    assert await _count(sessionmaker, BulletinRead) == 0
    assert len(fake_wecom.messages) == sent and all(c.label is None for c in fake_wecom.cards.values())


@pytest.mark.parametrize("age", [-3600, 301, 3600])
async def test_stale_callbacks_change_nothing(
    http: httpx.AsyncClient, fake_wecom: FakeWecom, session: AsyncSession, sessionmaker: SessionMaker,
    wecom_settings: Settings, chat: ChannelChat, age: int,
) -> None:  # fmt: skip
    people = await _people(session, fake_wecom)
    bulletin_id = await _sent_bulletin(session, wecom_settings, people)
    async with sessionmaker() as s:
        await chat_copies.send_telegram_copies(s, chat, bulletin_id=bulletin_id)
    press = fake_wecom.press_xml("wx-leader", f"rd:{bulletin_id}")
    response = await _post(http, fake_wecom, press, timestamp=int(time.time()) - age)
    assert response.status_code == 403
    assert await _count(sessionmaker, BulletinRead) == 0


async def test_oversized_body_is_refused(http: httpx.AsyncClient, fake_wecom: FakeWecom) -> None:
    params, _ = fake_wecom.callback_request("<xml/>")
    response = await http.post(URL, params=params, content=b"<xml>" + b"x" * 70_000 + b"</xml>")
    assert response.status_code == 413


async def test_without_wecom_settings_the_callback_is_not_there(client: httpx.AsyncClient) -> None:
    response = await client.post(
        URL, params={"msg_signature": "x", "timestamp": "1", "nonce": "n"}, content=b"<xml/>"
    )
    assert response.status_code == 404
