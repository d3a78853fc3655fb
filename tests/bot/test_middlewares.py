"""The per-update middlewares: the sender is looked up on every update, so a right revoked, an account
unbound or a language changed anywhere (the web console, the CLI) counts from the next update on."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aiogram.types import Chat, Message, Update, User
from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Campaign, Person, ProgressReport, Role
from models.db import SessionMaker
from notifier.core.settings import Settings
from notifier.reporting.invites import create_invite
from tests.bot.harness import NOW, WEEK, harness
from tests.notifier.bot_world import World, make_world

LEAD, ADMIN = 111, 900


async def _world(session: AsyncSession) -> World:
    world = await make_world(session)
    world.lead.telegram_id, world.admin.telegram_id = LEAD, ADMIN
    session.add_all([world.lead, world.admin])
    await session.commit()
    return world


async def _set(session: AsyncSession, person_id: int | None, **values: Any) -> None:
    """Change a person the way the web console or the CLI would: in another session, behind the bot."""
    await session.exec(update(Person).where(col(Person.id) == person_id).values(**values))  # type: ignore[call-overload]
    await session.commit()


async def test_a_revoked_admin_is_refused_at_once(
    session: AsyncSession, settings: Settings, sessionmaker: SessionMaker
) -> None:
    world = await _world(session)
    h = harness(settings, sessionmaker)
    assert h.texts(await h.text(ADMIN, "/overdue")) == ["截至2026-11-26没有预警。"]
    await _set(session, world.admin.id, role=Role.STAFF)
    assert h.texts(await h.text(ADMIN, "/overdue")) == ["您没有权限使用此命令。"]
    assert h.texts(await h.text(ADMIN, "/broadcast 停电通知")) == ["您没有权限使用此命令。"]
    assert (await session.exec(select(Campaign))).all() == []


async def test_a_lead_unbound_mid_conversation_cannot_confirm(
    session: AsyncSession, settings: Settings, sessionmaker: SessionMaker
) -> None:
    world = await _world(session)
    h = harness(settings, sessionmaker)
    for step in (f"rep:{world.projects[1].id}:{WEEK}", "stg:continuing"):
        await h.tap(LEAD, step)
    await h.text(LEAD, "300万")
    await h.tap(LEAD, "itm:0")
    await h.text(LEAD, "无")
    await _set(session, world.lead.id, telegram_id=None)  # the phone changed hands; the office unbinds it
    sent = await h.tap(LEAD, "cfm:1")
    assert h.alerts(sent) == ["您好,此账号尚未绑定。请使用管理员发给您的邀请链接打开本机器人。"]
    assert (await session.exec(select(ProgressReport))).all() == []


async def test_language_and_binding_changes_show_on_the_next_update(
    session: AsyncSession, settings: Settings, sessionmaker: SessionMaker
) -> None:
    world = await _world(session)
    h = harness(settings, sessionmaker)
    assert h.texts(await h.text(LEAD, "/language")) == ["Language set to English."]
    assert h.texts(await h.text(LEAD, "/help"))[0].startswith("Commands:")
    # The account is unbound in the console, then bound to someone else through the bot.
    await _set(session, world.lead.id, telegram_id=None)
    issued = await create_invite(session, settings=settings, person_id=world.other_lead.id or 0,
                                 now=NOW - timedelta(hours=1))  # fmt: skip
    assert h.texts(await h.text(LEAD, f"/start {issued.token}"))[0].startswith("李娜,绑定成功")
    assert h.texts(await h.text(LEAD, "/start")) == ["李娜,您已绑定。发送 /help 查看可用命令。"]


async def test_an_unbound_sender_is_answered_in_their_clients_language(
    session: AsyncSession, settings: Settings, sessionmaker: SessionMaker
) -> None:
    await _world(session)
    h = harness(settings, sessionmaker)
    for code, expected in (("en-US", "Hello, this account is not bound yet."), ("zh-hans", "您好,此账号尚未绑定。"),
                           (None, "您好,此账号尚未绑定。")):  # fmt: skip
        user = User(id=555, is_bot=False, first_name="U", language_code=code)
        message = Message(
            message_id=1, date=NOW, chat=Chat(id=555, type="private"), from_user=user, text="hi"
        )
        before = len(h.session.requests)
        await h.dp.feed_update(h.bot, Update(update_id=1, message=message))
        [reply] = h.texts(h.session.requests[before:])
        assert reply.startswith(expected)
    # A bound person's own setting wins over the client's.
    user = User(id=LEAD, is_bot=False, first_name="U", language_code="en")
    message = Message(
        message_id=2, date=NOW, chat=Chat(id=LEAD, type="private"), from_user=user, text="/help"
    )
    before = len(h.session.requests)
    await h.dp.feed_update(h.bot, Update(update_id=2, message=message))
    assert h.texts(h.session.requests[before:])[0].startswith("可用命令")
