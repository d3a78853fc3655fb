"""/round_now: an admin sees whom this week's prompt round reaches, confirms, and it goes once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from arq.connections import ArqRedis, RedisSettings, create_pool
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import AuditLog, Campaign, WeekPrompt
from models.db import SessionMaker
from notifier.core.settings import Settings
from tests.bot.harness import WEEK, harness, keyboard
from tests.notifier.bot_world import make_world

ADMIN, LEAD = 900, 111


async def _setup(session: AsyncSession) -> None:
    world = await make_world(session)
    world.admin.telegram_id = ADMIN
    world.lead.telegram_id = LEAD  # 王伟 (two projects) in Telegram; 李娜 by SMS
    session.add_all([world.admin, world.lead])
    await session.commit()


@pytest.fixture
async def pool(redis: Any, redis_url: str) -> AsyncIterator[ArqRedis]:
    arq_pool = await create_pool(RedisSettings.from_dsn(redis_url))
    yield arq_pool
    await arq_pool.aclose()


async def _count(session: AsyncSession, model: Any) -> int:
    session.expire_all()
    return len((await session.exec(select(model))).all())


async def test_round_now_preview_confirm_and_nobody_twice(
    session: AsyncSession, settings: Settings, sessionmaker: SessionMaker, pool: ArqRedis
) -> None:
    await _setup(session)
    h = harness(settings, sessionmaker, arq=pool)
    sent = await h.text(ADMIN, "/round_now")
    [preview] = h.texts(sent)
    assert preview.startswith(f"{WEEK}周报送提醒(截止 2026-11-28 12:00):将提醒 3 个项目")
    assert "Telegram 2 个,短信表单链接 1 个" in preview and preview.endswith("确认现在发出?")
    assert keyboard(sent[-1]) == [
        [("确认发送", f"acf:round_now.{WEEK}:1"), ("取消", f"acf:round_now.{WEEK}:0")]
    ]
    assert await _count(session, WeekPrompt) == 0  # a preview sends nothing
    answers = h.texts(await h.tap(ADMIN, f"acf:round_now.{WEEK}:1"))
    assert sum(1 for text in answers if "请报送项目" in text) == 2  # the two prompts to 王伟
    assert answers[-1].startswith(f"{WEEK}周报送提醒已发出:Telegram 2 个,短信 1 个")
    assert await _count(session, WeekPrompt) == 3 and await _count(session, Campaign) == 1
    # A double tap, and the command again: nobody is prompted twice.
    again = h.texts(await h.tap(ADMIN, f"acf:round_now.{WEEK}:1"))
    assert not any("请报送项目" in text for text in again)
    assert h.texts(await h.text(ADMIN, "/round_now")) == [
        f"{WEEK}周没有需要提醒的项目(都已提醒过,或没有在建项目)。"
    ]
    assert await _count(session, WeekPrompt) == 3 and await _count(session, Campaign) == 1
    audit = (await session.exec(select(AuditLog).where(AuditLog.action == "bot.round_now"))).all()
    assert audit and all(a.allowed for a in audit)


async def test_round_now_cancel_sends_nothing(
    session: AsyncSession, settings: Settings, sessionmaker: SessionMaker
) -> None:
    await _setup(session)
    h = harness(settings, sessionmaker)
    await h.text(ADMIN, "/round_now")
    assert h.texts(await h.tap(ADMIN, f"acf:round_now.{WEEK}:0")) == ["已取消,没有保存。"]
    assert await _count(session, WeekPrompt) == 0


async def test_round_now_refused_for_a_lead(
    session: AsyncSession, settings: Settings, sessionmaker: SessionMaker, pool: ArqRedis
) -> None:
    await _setup(session)
    h = harness(settings, sessionmaker, arq=pool)
    assert h.texts(await h.text(LEAD, "/round_now")) == ["您没有权限使用此命令。"]
    tapped = await h.tap(LEAD, f"acf:round_now.{WEEK}:1")  # a forged button press
    assert not any("请报送项目" in text for text in h.texts(tapped))
    assert await _count(session, WeekPrompt) == 0 and await _count(session, Campaign) == 0
    [audit] = (await session.exec(select(AuditLog))).all()
    assert (audit.action, audit.allowed, audit.actor_telegram_id) == ("bot.round_now", False, LEAD)
