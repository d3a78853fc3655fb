"""The notices admins and approvers get go through each person's channel order: an admin bound only
by their number hears in WeCom (the fake) that a mass send paused or met an unknown code; an
approver bound only to WeCom is asked, reminded (on an Approve / Reject card that works through the
callback URL), told a draft missed its send time and that an approved one could not go — while
Telegram admins keep getting the same in Telegram."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from arq.connections import ArqRedis, RedisSettings, create_pool
from fastapi import FastAPI
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Bulletin, BulletinKind, BulletinState, Person, Role
from models.db import SessionMaker
from notifier.bulletins import chat_copies
from notifier.bulletins.signoff import DraftContent, create_draft
from notifier.channels.router import ChannelChat
from notifier.core.chat import RecordingChatSender
from notifier.core.settings import Settings
from notifier.jobs.bulletins import release_bulletins_job
from notifier.sending.campaigns import resume_campaign
from notifier.sending.codes import Action
from notifier.sending.loop import Sender, run_campaign
from notifier.sending.providers.base import ProviderError
from tests.notifier.sending.test_loop import _campaign, _leaders, _settings
from tests.notifier.sending.test_refusals import NoQueue, Refusing
from web.app import create_app
from web.fakes.wecom import FakeWecom
from wecom.channel import WecomChannel
from wecom.client import WecomClient

TELEGRAM_ADMIN = 909  # TELEGRAM_ADMIN_IDS: an admin known only by their Telegram id


@pytest.fixture
def wecom_settings(fake_wecom: FakeWecom, db_url: str, redis_url: str, tmp_path: Path) -> Settings:
    return fake_wecom.settings(database_url=db_url, redis_url=redis_url, sms_backend="file", quiet_hours="",
                               sms_file_path=tmp_path / "sms.jsonl", secret_key="test-secret-key-not-for-production",
                               telegram_admin_ids=str(TELEGRAM_ADMIN))  # fmt: skip


@pytest.fixture
async def pool(redis: Any, redis_url: str) -> AsyncIterator[ArqRedis]:
    arq_pool = await create_pool(RedisSettings.from_dsn(redis_url))
    yield arq_pool
    await arq_pool.aclose()


@pytest.fixture
async def chat(
    wecom_settings: Settings, pool: ArqRedis, sessionmaker: SessionMaker
) -> AsyncIterator[ChannelChat]:
    wecom = WecomChannel(WecomClient(wecom_settings, pool, backoff_seconds=0.01))
    yield ChannelChat(
        telegram=RecordingChatSender(), wecom=wecom, sessionmaker=sessionmaker, settings=wecom_settings
    )
    await wecom.aclose()


@pytest.fixture
async def http(wecom_settings: Settings, engine: object, redis: Any) -> AsyncIterator[httpx.AsyncClient]:
    application: FastAPI = create_app(wecom_settings)
    async with application.router.lifespan_context(application), httpx.AsyncClient(
        transport=httpx.ASGITransport(app=application), base_url="http://test"
    ) as client:  # fmt: skip
        yield client


def _ctx(settings: Settings, sessionmaker: SessionMaker, pool: ArqRedis, chat: ChannelChat) -> dict[str, Any]:
    return {"settings": settings, "sessionmaker": sessionmaker, "redis": pool, "chat": chat}


async def _staff(session: AsyncSession, fake: FakeWecom) -> dict[str, Person]:
    people = {
        # bound by nothing but the number the office imported
        "admin": Person(name="管理员", phone="+8613904831001", role=Role.ADMIN),
        # bound to Telegram too, but would rather hear in WeCom
        "wecom_first": Person(
            name="值班管理员", phone="+8613904831002", role=Role.ADMIN, telegram_id=702, channels="wecom,sms"
        ),  # fmt: skip
        "tg_admin": Person(name="电报管理员", phone="+8613904831003", role=Role.ADMIN, telegram_id=701),
        "approver": Person(name="审核人", phone="+8613904831004", role=Role.APPROVER),
    }
    for key in ("admin", "wecom_first", "approver"):
        fake.add_member(str(people[key].phone)[3:], f"wx-{key}")
    session.add_all(people.values())
    await session.commit()
    return people


def _telegram(chat: ChannelChat) -> RecordingChatSender:
    assert isinstance(chat.telegram, RecordingChatSender)
    return chat.telegram


def _texts(fake: FakeWecom, userid: str) -> list[str]:
    return [m.text for m in fake.to(userid)]


async def _run(sessionmaker: SessionMaker, settings: Settings, campaign_id: int, provider: Refusing) -> None:
    sender = Sender(sessionmaker=sessionmaker, provider=provider, limiter=None, settings=_settings(settings))
    await run_campaign(sender, campaign_id=campaign_id)


async def test_a_paused_campaign_and_an_unknown_code_reach_admins_by_their_channel_order(
    session: AsyncSession, sessionmaker: SessionMaker, wecom_settings: Settings, fake_wecom: FakeWecom,
    chat: ChannelChat, pool: ArqRedis,
) -> None:  # fmt: skip
    await _staff(session, fake_wecom)
    await _leaders(session, 3)
    paused = await _campaign(session, wecom_settings, text="周通报")
    account = ProviderError("签名不可用", action=Action.ACCOUNT, provider_code="isv.SMS_SIGNATURE_ILLEGAL")
    await _run(sessionmaker, wecom_settings, paused, Refusing({"+8613904800000": account}))
    held = await _campaign(session, wecom_settings, text="调度提醒")
    odd = ProviderError("新错误", action=Action.UNKNOWN, provider_code="isv.SOMETHING_NEW")
    await _run(sessionmaker, wecom_settings, held, Refusing({"+8613904800001": odd}))

    ctx = _ctx(wecom_settings, sessionmaker, pool, chat)
    await release_bulletins_job(ctx)
    for userid in ("wx-admin", "wx-wecom_first"):
        texts = _texts(fake_wecom, userid)
        assert len(texts) == 2, texts
        assert texts[0].startswith(f"短信任务(编号{paused},") and "已暂停" in texts[0]
        assert "isv.SMS_SIGNATURE_ILLEGAL" in texts[0] and f"guatu campaign resume {paused}" in texts[0]
        assert texts[1].startswith(f"短信任务(编号{held},") and "isv.SOMETHING_NEW" in texts[1]
        assert all(not m.buttons for m in fake_wecom.to(userid))
    assert fake_wecom.to("wx-approver") == []  # sign-off is theirs, sending is the admins'
    telegram = _telegram(chat)
    assert sorted(m.telegram_id for m in telegram.sent) == [701, 701, TELEGRAM_ADMIN, TELEGRAM_ADMIN]
    assert all("isv." in m.text for m in telegram.sent)

    await release_bulletins_job(ctx)  # told once
    assert len(fake_wecom.messages) == 4 and len(telegram.sent) == 4

    # Resumed without the cause fixed, it pauses again for the same reason: news again.
    await resume_campaign(session, NoQueue(), settings=wecom_settings, campaign_id=paused)
    await _run(sessionmaker, wecom_settings, paused, Refusing({"+8613904800000": account}))
    await release_bulletins_job(ctx)
    again = _texts(fake_wecom, "wx-admin")[2:]
    assert again == [_texts(fake_wecom, "wx-admin")[0]]
    assert len(telegram.sent) == 6


async def test_an_admin_without_a_wecom_member_is_looked_up_once(
    session: AsyncSession, sessionmaker: SessionMaker, wecom_settings: Settings, fake_wecom: FakeWecom,
    chat: ChannelChat, pool: ArqRedis,
) -> None:  # fmt: skip
    """An admin with no Telegram whose number has no WeCom member gets nothing in chat (the admin
    pages show the pause); the miss is recorded and not asked about again for the next notice."""
    session.add(Person(name="无企业微信管理员", phone="+8613904831009", role=Role.ADMIN))
    await session.commit()
    await _leaders(session, 1)
    ctx = _ctx(wecom_settings, sessionmaker, pool, chat)
    for code in ("isv.AMOUNT_NOT_ENOUGH", "isv.SMS_SIGNATURE_ILLEGAL"):
        paused = await _campaign(session, wecom_settings, text=f"通知 {code}")
        account = ProviderError("账户问题", action=Action.ACCOUNT, provider_code=code)
        await _run(sessionmaker, wecom_settings, paused, Refusing({"+8613904800000": account}))
        await release_bulletins_job(ctx)
    assert fake_wecom.messages == []
    assert fake_wecom.calls["user/getuserid"] == 1
    assert [m.telegram_id for m in _telegram(chat).sent] == [TELEGRAM_ADMIN] * 2


def _content() -> DraftContent:
    text = "【阿拉善盟发改委】重点项目周通报(2026-W47):开复工率94.0%。"
    return DraftContent(kind=BulletinKind.WEEKLY, as_of=date(2026, 11, 22), period_key="2026-W47",
                        numbers={"overall": {"projects": 100, "start_rate": 0.94}, "black_list": [], "red_list": []},
                        sms_text=text, html=f"<b>{text}</b>", copies={"all": text})  # fmt: skip


async def _move_send_time(sessionmaker: SessionMaker, bulletin_id: int, send_at: datetime) -> None:
    async with sessionmaker() as s:
        row = await s.get(Bulletin, bulletin_id)
        assert row is not None
        row.send_at = send_at
        s.add(row)
        await s.commit()


async def test_approvers_in_wecom_are_asked_reminded_and_told_of_a_late_draft(
    session: AsyncSession, sessionmaker: SessionMaker, wecom_settings: Settings, fake_wecom: FakeWecom,
    chat: ChannelChat, pool: ArqRedis, http: httpx.AsyncClient,
) -> None:  # fmt: skip
    await _staff(session, fake_wecom)
    ctx = _ctx(wecom_settings, sessionmaker, pool, chat)
    soon = datetime.now(UTC) + timedelta(minutes=10)  # within APPROVAL_REMIND_MINUTES
    first = await create_draft(session, settings=wecom_settings, content=_content(), send_at=soon)
    await session.commit()
    first_id = first.id or 0
    await release_bulletins_job(ctx)  # asked, and (due within the half hour) reminded
    cards = [m for m in fake_wecom.to("wx-approver") if m.buttons]
    approve, reject = f"bd:{first_id}:1", f"bd:{first_id}:0"
    assert [m.buttons for m in cards] == [[("✅ 同意发送", approve), ("❌ 驳回", reject)]] * 2
    assert "通报待审核" in _texts(fake_wecom, "wx-approver")[0]
    assert any(f"提醒:通报(编号{first_id})尚未审核" in t for t in _texts(fake_wecom, "wx-approver"))

    # 同意 on the reminder's card (the newest one with the button), through the callback URL.
    params, body = fake_wecom.callback_request(fake_wecom.press_xml("wx-approver", approve))
    assert (await http.post("/webhooks/wecom", params=params, content=body)).status_code == 200
    async with sessionmaker() as s:
        approved = await s.get(Bulletin, first_id)
        assert approved is not None and approved.state == BulletinState.APPROVED

    # A newer draft nobody signs off passes its send time: not sent, and the approvers are told.
    second = await create_draft(session, settings=wecom_settings, content=_content(),
                                send_at=datetime.now(UTC) + timedelta(hours=2))  # fmt: skip
    await session.commit()
    second_id = second.id or 0
    await release_bulletins_job(ctx)  # asked about the new draft
    await _move_send_time(sessionmaker, second_id, datetime.now(UTC) - timedelta(seconds=1))
    before = len(fake_wecom.to("wx-approver"))
    await release_bulletins_job(ctx)
    late = _texts(fake_wecom, "wx-approver")[before:]
    assert (
        len(late) == 1 and late[0].startswith(f"通报(编号{second_id})到计划发送时间") and "未发送" in late[0]
    )
    assert [m.text for m in _telegram(chat).sent if m.telegram_id == 701][-1] == late[0]


async def test_an_approved_bulletin_that_cannot_go_is_told_in_wecom(
    session: AsyncSession, wecom_settings: Settings, fake_wecom: FakeWecom, chat: ChannelChat
) -> None:
    await _staff(session, fake_wecom)
    told = await chat_copies.tell_blocked(session, chat, settings=wecom_settings,
                                          blocked=[(7, "短信模板未备案 / template not registered")])  # fmt: skip
    assert told == 5  # three WeCom, 701 and TELEGRAM_ADMIN in Telegram
    [blocked] = _texts(fake_wecom, "wx-approver")
    assert blocked.startswith("通报(编号7)已审核,但无法发出:短信模板未备案")
    assert await chat_copies.tell_blocked(session, chat, settings=wecom_settings, blocked=[(7, "again")]) == 0


async def test_with_wecom_off_campaign_notices_go_to_telegram_admins_only(
    session: AsyncSession, sessionmaker: SessionMaker, wecom_settings: Settings, fake_wecom: FakeWecom
) -> None:
    await _staff(session, fake_wecom)
    await _leaders(session, 1)
    paused = await _campaign(session, wecom_settings)
    account = ProviderError("余额不足", action=Action.ACCOUNT, provider_code="isv.AMOUNT_NOT_ENOUGH")
    await _run(sessionmaker, wecom_settings, paused, Refusing({"+8613904800000": account}))
    telegram = RecordingChatSender()  # what the worker uses when WeCom is not configured
    assert await chat_copies.tell_campaign_notices(session, telegram, settings=wecom_settings) == 3
    # 值班管理员 prefers WeCom but WeCom is off: Telegram is what reaches them.
    assert sorted(m.telegram_id for m in telegram.sent) == [701, 702, TELEGRAM_ADMIN]
    assert all(m.text.startswith(f"短信任务(编号{paused},") for m in telegram.sent)
    assert fake_wecom.messages == [] and fake_wecom.calls["user/getuserid"] == 0
