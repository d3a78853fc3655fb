"""The sender cache: one lookup per person per minute, never a right or a report on a stale entry."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.middlewares import PersonCache
from models import Campaign, Person, ProgressReport, Role
from models.db import SessionMaker
from notifier.core.settings import Settings
from notifier.reporting.invites import create_invite
from tests.bot.harness import NOW, WEEK, harness
from tests.notifier.bot_world import World, make_world
from tests.sql_log import StatementLog, statement_log

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


@pytest.fixture
def statements(sessionmaker: SessionMaker) -> Iterator[StatementLog]:
    """Every SQL statement the bot's engine sends, in order (tests/sql_log.py)."""
    with statement_log(sessionmaker.kw["bind"]) as log:
        yield log


async def test_a_report_conversation_looks_its_sender_up_once(
    session: AsyncSession, settings: Settings, sessionmaker: SessionMaker, statements: StatementLog
) -> None:
    world = await _world(session)
    h = harness(settings, sessionmaker)
    pid = world.projects[1].id
    await h.tap(LEAD, f"rep:{pid}:{WEEK}")
    before = await statements.mark()
    assert h.texts(await h.tap(LEAD, "stg:continuing"))[0].startswith("请输入本周完成投资额")
    assert await statements.since(before) == []  # the stage step needs nothing from the database
    assert h.texts(await h.text(LEAD, "300万"))[0].startswith("有哪些困难或问题")
    assert await statements.since(before) == []  # nor the amount: the open items came with the project
    await h.text(LEAD, "无")
    assert h.texts(await h.tap(LEAD, "cfm:1"))[0].startswith("已保存2026-W48周进展")
    sent = await statements.since()
    lookups = [s for s in sent if "FROM person" in s and "WHERE person.telegram_id = " in s]
    assert len(lookups) == 1
    # The confirmation checks the binding in the database, in the statement that reads the project.
    [recheck] = [s for s in sent if "FROM person" in s and "person.telegram_id = " in s and "EXISTS" in s]
    assert "FROM project" in recheck
    assert len((await session.exec(select(ProgressReport))).all()) == 1


async def test_a_revoked_admin_is_refused_at_once(
    session: AsyncSession, settings: Settings, sessionmaker: SessionMaker
) -> None:
    world = await _world(session)
    h = harness(settings, sessionmaker)
    assert h.texts(await h.text(ADMIN, "/overdue")) == ["截至2026-11-26没有预警。"]  # cached as admin now
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
    # The account is unbound elsewhere while cached, then bound to someone else through the bot.
    await _set(session, world.lead.id, telegram_id=None)
    issued = await create_invite(session, settings=settings, person_id=world.other_lead.id or 0,
                                 now=NOW - timedelta(hours=1))  # fmt: skip
    assert h.texts(await h.text(LEAD, f"/start {issued.token}"))[0].startswith("李娜,绑定成功")
    assert h.texts(await h.text(LEAD, "/start")) == ["李娜,您已绑定。发送 /help 查看可用命令。"]


def test_entries_expire_and_the_cache_stays_bounded() -> None:
    alice, bob = Person(id=1, name="A", role=Role.LEAD), Person(id=2, name="B", role=Role.LEAD)
    cache = PersonCache(ttl=60, size=2)
    cache.put(1, alice)
    cache.put(2, bob)
    assert cache.get(1) is alice and cache.get(2) is bob and cache.get(3) is None
    cache.put(3, alice)  # full: the oldest are let go rather than growing without end
    assert cache.get(3) is alice and len(cache._entries) <= 2
    cache.drop(3)
    assert cache.get(3) is None
    stale = PersonCache(ttl=-1)
    stale.put(1, alice)
    assert stale.get(1) is None
