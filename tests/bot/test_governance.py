"""Bulletin sign-off and read receipts in Telegram, through the real Dispatcher and the worker's
release job: approvers asked with buttons, refusals change nothing, leaders' copies carry 已阅,
read reminders go once; /stop and /start switch SMS notices."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from arq.connections import ArqRedis, RedisSettings, create_pool
from sqlmodel import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import (
    AuditLog,
    Bulletin,
    BulletinDecision,
    BulletinKind,
    BulletinRead,
    BulletinState,
    Campaign,
    Delivery,
    OptOut,
    Person,
    Role,
    Unit,
    UnitKind,
)
from models.db import SessionMaker
from notifier.bulletins import chat_copies
from notifier.bulletins.signoff import DraftContent, create_draft
from notifier.core.chat import RecordingChatSender
from notifier.core.settings import Settings
from notifier.jobs.bulletins import release_bulletins_job
from tests.bot.harness import Harness, harness

SEND_AT = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)  # Monday 09:00 in Alxa
ADMIN_TG, APPROVER_TG, LEADER_TG, LEADER2_TG, LEAD_TG, STRANGER_TG = 501, 502, 601, 602, 701, 999


@pytest.fixture
async def arq_pool(redis_url: str, redis: Any) -> AsyncIterator[ArqRedis]:
    pool = await create_pool(RedisSettings.from_dsn(redis_url))
    yield pool
    await pool.aclose()


async def _world(session: AsyncSession) -> dict[str, Person]:
    unit = Unit(code="ALZQ", name="阿拉善左旗", kind=UnitKind.BANNER)
    session.add(unit)
    await session.flush()
    people = {
        "admin": Person(name="管理员", phone="+8613904830201", role=Role.ADMIN, telegram_id=ADMIN_TG),
        "approver": Person(name="审核人", phone="+8613904830202", role=Role.APPROVER, telegram_id=APPROVER_TG),
        "leader": Person(name="盟领导", phone="+8613904830203", role=Role.LEADER, telegram_id=LEADER_TG),
        "leader2": Person(name="旗领导", phone="+8613904830204", role=Role.LEADER, unit_id=unit.id,
                          telegram_id=LEADER2_TG),
        "leader3": Person(name="无账号领导", phone="+8613904830205", role=Role.LEADER),
        "lead": Person(name="项目负责人", phone="+8613904830206", role=Role.LEAD, telegram_id=LEAD_TG),
    }  # fmt: skip
    session.add_all(people.values())
    await session.commit()
    return people


def _content() -> DraftContent:
    text = "【阿拉善盟发改委】重点项目周通报(2026-W47):开复工率94.0%。"
    return DraftContent(kind=BulletinKind.WEEKLY, as_of=date(2026, 11, 22), period_key="2026-W47",
                        numbers={"overall": {"projects": 100, "start_rate": 0.94, "procedure_rate": 0.5,
                                             "investment_rate": 0.61}, "black_list": [], "red_list": []},
                        sms_text=text, html=f"<b>{text}</b>", copies={"all": text})  # fmt: skip


def _ctx(
    settings: Settings, sessionmaker: SessionMaker, pool: ArqRedis, chat: RecordingChatSender
) -> dict[str, Any]:
    return {"settings": settings, "sessionmaker": sessionmaker, "redis": pool, "chat": chat}


async def _draft(sessionmaker: SessionMaker, settings: Settings, composer: Person, send_at: datetime) -> int:
    async with sessionmaker() as session:
        bulletin = await create_draft(session, settings=settings, content=_content(), send_at=send_at,
                                      composed_by_id=composer.id)  # fmt: skip
        await session.commit()
        return bulletin.id or 0


async def _state(sessionmaker: SessionMaker, bulletin_id: int) -> BulletinState:
    async with sessionmaker() as session:
        bulletin = await session.get(Bulletin, bulletin_id)
        assert bulletin is not None
        return bulletin.state


async def _count(sessionmaker: SessionMaker, model: Any, *where: Any) -> int:
    async with sessionmaker() as session:
        return int((await session.exec(select(func.count()).select_from(model).where(*where))).one())


def _h(settings: Settings, sessionmaker: SessionMaker) -> Harness:
    return harness(settings.model_copy(update={"bulletin_two_person": True}), sessionmaker)


async def test_approvers_are_asked_once_with_the_exact_text_and_buttons(
    session: AsyncSession, sessionmaker: SessionMaker, settings: Settings
) -> None:
    people = await _world(session)
    bulletin_id = await _draft(
        sessionmaker, settings, people["admin"], datetime.now(UTC) + timedelta(hours=1)
    )
    chat = RecordingChatSender()
    async with sessionmaker() as s:
        assert await chat_copies.ask_for_new_drafts(s, chat, settings=settings) == 2
        assert await chat_copies.ask_for_new_drafts(s, chat, settings=settings) == 0  # asked once
    assert sorted(m.telegram_id for m in chat.sent) == [ADMIN_TG, APPROVER_TG]
    message = chat.sent[0]
    assert "开复工率94.0%" in message.text and "收件领导:3人" in message.text
    assert message.buttons == [[("✅ 同意发送", f"bd:{bulletin_id}:1"), ("❌ 驳回", f"bd:{bulletin_id}:0")]]


async def test_refusals_by_button_change_nothing_then_an_approver_signs_off(
    session: AsyncSession, sessionmaker: SessionMaker, settings: Settings
) -> None:
    people = await _world(session)
    bulletin_id = await _draft(
        sessionmaker, settings, people["admin"], datetime.now(UTC) + timedelta(hours=1)
    )
    h = _h(settings, sessionmaker)
    approve = f"bd:{bulletin_id}:1"

    # A lead, a stranger and (two-person rule) the composer are refused; nothing changes.
    assert "只有管理员或审核人" in h.alerts(await h.tap(LEAD_TG, approve))[0]
    assert "只有管理员或审核人" in h.alerts(await h.tap(STRANGER_TG, approve))[0]
    assert "双人审核" in h.alerts(await h.tap(ADMIN_TG, approve))[0]
    assert await _state(sessionmaker, bulletin_id) == BulletinState.DRAFT
    assert await _count(sessionmaker, BulletinDecision) == 0
    assert await _count(sessionmaker, AuditLog, AuditLog.action == "bulletin.approve", AuditLog.allowed) == 0

    answered = await h.tap(APPROVER_TG, approve)
    assert any("已同意" in text for text in h.alerts(answered))
    assert await _state(sessionmaker, bulletin_id) == BulletinState.APPROVED
    # A double tap is refused with the reason and records no second decision.
    assert "已审核通过" in h.alerts(await h.tap(APPROVER_TG, approve))[0]
    assert await _count(sessionmaker, BulletinDecision) == 1


async def test_a_superseded_draft_cannot_be_approved(
    session: AsyncSession, sessionmaker: SessionMaker, settings: Settings
) -> None:
    people = await _world(session)
    send_at = datetime.now(UTC) + timedelta(hours=1)
    old = await _draft(sessionmaker, settings, people["admin"], send_at)
    new = await _draft(sessionmaker, settings, people["admin"], send_at)
    h = _h(settings, sessionmaker)
    assert "已被新版本取代" in h.alerts(await h.tap(APPROVER_TG, f"bd:{old}:1"))[0]
    assert await _state(sessionmaker, old) == BulletinState.SUPERSEDED
    h.alerts(await h.tap(APPROVER_TG, f"bd:{new}:0"))
    assert await _state(sessionmaker, new) == BulletinState.REJECTED


async def test_release_sends_sms_and_telegram_copies_with_a_read_button_once(
    session: AsyncSession, sessionmaker: SessionMaker, settings: Settings, arq_pool: ArqRedis
) -> None:
    people = await _world(session)
    bulletin_id = await _draft(
        sessionmaker, settings, people["admin"], datetime.now(UTC) + timedelta(seconds=1)
    )
    chat = RecordingChatSender()
    ctx = _ctx(settings, sessionmaker, arq_pool, chat)
    await release_bulletins_job(ctx)  # asks the approvers; not due yet
    h = _h(settings, sessionmaker)
    h.alerts(await h.tap(APPROVER_TG, f"bd:{bulletin_id}:1"))
    async with sessionmaker() as s:  # bring the send time forward instead of sleeping
        bulletin = await s.get(Bulletin, bulletin_id)
        assert bulletin is not None
        bulletin.send_at = datetime.now(UTC) - timedelta(seconds=1)
        s.add(bulletin)
        await s.commit()
    chat.sent.clear()
    assert (await release_bulletins_job(ctx)).startswith("sent 1")
    await release_bulletins_job(ctx)  # a second run sends nothing more
    assert await _state(sessionmaker, bulletin_id) == BulletinState.SENT
    assert await _count(sessionmaker, Campaign) == 1
    assert await _count(sessionmaker, Delivery) == 3  # three leaders by SMS
    copies = [m for m in chat.sent if m.buttons == [[("已阅", f"rd:{bulletin_id}")]]]
    assert sorted(m.telegram_id for m in copies) == [LEADER_TG, LEADER2_TG]
    assert all("开复工率94.0%" in m.text for m in copies)

    # 已阅 by a recipient is recorded once; a second tap says so; others are refused.
    read = f"rd:{bulletin_id}"
    assert "已记录" in h.alerts(await h.tap(LEADER_TG, read))[0]
    assert "已阅读过" in h.alerts(await h.tap(LEADER_TG, read))[0]
    assert "没有发给您" in h.alerts(await h.tap(LEAD_TG, read))[0]
    assert "绑定" in h.alerts(await h.tap(STRANGER_TG, read))[0]
    assert await _count(sessionmaker, BulletinRead) == 1


async def test_unread_leaders_are_reminded_once_after_the_set_hours(
    session: AsyncSession, sessionmaker: SessionMaker, settings: Settings, arq_pool: ArqRedis
) -> None:
    people = await _world(session)
    bulletin_id = await _draft(sessionmaker, settings.model_copy(update={"bulletin_approval": "auto"}),
                               people["admin"], datetime.now(UTC) - timedelta(seconds=1))  # fmt: skip
    chat = RecordingChatSender()
    await release_bulletins_job(_ctx(settings, sessionmaker, arq_pool, chat))
    h = _h(settings, sessionmaker)
    h.alerts(await h.tap(LEADER_TG, f"rd:{bulletin_id}"))
    later = datetime.now(UTC) + timedelta(hours=settings.read_reminder_hours, minutes=1)
    chat.sent.clear()
    async with sessionmaker() as s:
        assert (
            await chat_copies.remind_unread(s, chat, settings=settings, now=datetime.now(UTC)) == 0
        )  # too early
        assert await chat_copies.remind_unread(s, chat, settings=settings, now=later) == 1
        assert await chat_copies.remind_unread(s, chat, settings=settings, now=later) == 0
        off = settings.model_copy(update={"read_reminder_hours": 0})
        assert await chat_copies.remind_unread(s, chat, settings=off, now=later) == 0
    assert [m.telegram_id for m in chat.sent] == [LEADER2_TG]  # the one who read is not reminded
    assert "尚未确认阅读" in chat.sent[0].text


async def test_approvers_are_reminded_before_the_send_time_and_told_of_expiry(
    session: AsyncSession, sessionmaker: SessionMaker, settings: Settings, arq_pool: ArqRedis
) -> None:
    people = await _world(session)
    send_at = datetime.now(UTC) + timedelta(minutes=10)
    bulletin_id = await _draft(sessionmaker, settings, people["admin"], send_at)
    chat = RecordingChatSender()
    async with sessionmaker() as s:
        assert (
            await chat_copies.remind_approvers(s, chat, settings=settings, now=send_at - timedelta(hours=2))
            == 0
        )
        assert await chat_copies.remind_approvers(s, chat, settings=settings) == 2
        assert await chat_copies.remind_approvers(s, chat, settings=settings) == 0
    async with sessionmaker() as s:
        bulletin = await s.get(Bulletin, bulletin_id)
        assert bulletin is not None
        bulletin.send_at = datetime.now(UTC) - timedelta(seconds=1)
        s.add(bulletin)
        await s.commit()
    chat.sent.clear()
    await release_bulletins_job(_ctx(settings, sessionmaker, arq_pool, chat))
    assert await _state(sessionmaker, bulletin_id) == BulletinState.EXPIRED
    assert await _count(sessionmaker, Campaign) == 0
    assert sorted(m.telegram_id for m in chat.sent if "未发送" in m.text) == [ADMIN_TG, APPROVER_TG]


async def test_stop_and_start_switch_sms_notices(
    session: AsyncSession, sessionmaker: SessionMaker, settings: Settings
) -> None:
    await _world(session)
    h = _h(settings, sessionmaker)
    assert "已停止" in h.texts(await h.text(LEADER_TG, "/stop"))[0]
    assert await _count(sessionmaker, OptOut, OptOut.phone == "+8613904830203") == 1
    assert "已停止" in h.texts(await h.text(LEADER_TG, "/stop"))[0]  # twice: still one row
    assert await _count(sessionmaker, OptOut) == 1
    assert "绑定" in h.texts(await h.text(STRANGER_TG, "/stop"))[0]  # an unbound user changes nothing
    assert await _count(sessionmaker, OptOut) == 1
    assert "已恢复" in h.texts(await h.text(LEADER_TG, "/start"))[0]
    assert await _count(sessionmaker, OptOut) == 0
    async with sessionmaker() as s:
        leader = (await s.exec(select(Person).where(Person.telegram_id == LEADER_TG))).one()
        assert leader.opted_out is False
    assert "已绑定" in h.texts(await h.text(LEADER_TG, "/start"))[0]


async def test_an_approved_bulletin_that_cannot_go_is_held_told_once_and_sent_once_fixed(
    session: AsyncSession, sessionmaker: SessionMaker, settings: Settings, arq_pool: ArqRedis
) -> None:
    """With the template registry on and no template for the bulletin's text, the release job does
    not fail: the bulletin stays approved, approvers are told once, and it goes once registered."""
    from notifier.sending.templates import add_template

    on = settings.model_copy(update={"sms_template_registry": True, "public_base_url": None})
    people = await _world(session)
    bulletin_id = await _draft(sessionmaker, on, people["admin"], datetime.now(UTC) - timedelta(seconds=1))
    async with sessionmaker() as s:
        bulletin = await s.get(Bulletin, bulletin_id)
        assert bulletin is not None
        bulletin.state = BulletinState.APPROVED
        s.add(bulletin)
        await s.commit()
    chat = RecordingChatSender()
    ctx = _ctx(on, sessionmaker, arq_pool, chat)
    assert await release_bulletins_job(ctx) == "sent 0, blocked 1, expired 0"
    assert await release_bulletins_job(ctx) == "sent 0, blocked 1, expired 0"
    assert await _state(sessionmaker, bulletin_id) == BulletinState.APPROVED
    assert await _count(sessionmaker, Campaign) == 0
    told = [m for m in chat.sent if "无法发出" in m.text]
    assert sorted(m.telegram_id for m in told) == [ADMIN_TG, APPROVER_TG]  # each approver once
    assert "已报备的模板" in told[0].text
    async with sessionmaker() as s:
        await add_template(s, code="WEEKLY", body="重点项目周通报({week}):开复工率{rate}。")
        await s.commit()
    assert await release_bulletins_job(ctx) == "sent 1, blocked 0, expired 0"
    assert await _state(sessionmaker, bulletin_id) == BulletinState.SENT
    assert await _count(sessionmaker, Delivery) == 3
