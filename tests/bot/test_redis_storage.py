"""A report conversation kept in real Redis (RedisStorage), surviving a new Dispatcher in between."""

from __future__ import annotations

from typing import Any

from aiogram.fsm.storage.redis import RedisStorage
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import ProgressReport
from models.db import SessionMaker
from notifier.settings import Settings
from tests.bot.harness import WEEK, harness
from tests.notifier.bot_world import make_world


async def test_conversation_on_redis(
    session: AsyncSession, settings: Settings, sessionmaker: SessionMaker, redis: Any, redis_url: str
) -> None:
    world = await make_world(session)
    world.lead.telegram_id = 111
    session.add(world.lead)
    await session.commit()
    storage = RedisStorage.from_url(redis_url)
    try:
        first = harness(settings, sessionmaker, storage=storage)
        await first.tap(111, f"rep:{world.projects[1].id}:{WEEK}")
        await first.tap(111, "stg:continuing")
        # A restarted bot process: a new Dispatcher on the same Redis continues the conversation.
        second = harness(settings, sessionmaker, storage=storage)
        assert second.texts(await second.text(111, "850万")) == ["有哪些困难或问题需要协调?没有请回复“无”。"]
        await second.text(111, "无")
        assert second.texts(await second.tap(111, "cfm:1")) == [
            "已保存2026-W48周进展,谢谢!截止前可以重新填报覆盖。"
        ]
    finally:
        await storage.close()
    report = (await session.exec(select(ProgressReport))).one()
    assert report.investment == 8500000
