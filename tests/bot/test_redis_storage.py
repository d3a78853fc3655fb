"""Conversations on a real Redis through the bot's production storage (`redis_storage`: aiogram's
RedisStorage): a conversation survives a restarted bot and leaves nothing behind when finished."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.app import FSM_KEY_PREFIX, redis_storage
from models import ProgressReport
from models.db import SessionMaker
from notifier.core.errors import SettingsError
from notifier.core.settings import Settings
from tests.bot.harness import WEEK, harness
from tests.notifier.bot_world import make_world

LEAD = 111


async def test_a_conversation_survives_a_restarted_bot(
    session: AsyncSession, settings: Settings, sessionmaker: SessionMaker, redis: Any, redis_url: str
) -> None:
    world = await make_world(session)
    world.lead.telegram_id = LEAD
    session.add(world.lead)
    await session.commit()
    on_redis = settings.model_copy(update={"redis_url": redis_url})
    storage = redis_storage(on_redis)
    try:
        first = harness(settings, sessionmaker, storage=storage)
        await first.tap(LEAD, f"rep:{world.projects[1].id}:{WEEK}")
        await first.tap(LEAD, "stg:continuing")
    finally:
        await storage.close()
    assert await redis.keys(f"{FSM_KEY_PREFIX}:*")  # held in Redis, under the bot's own prefix
    # A restarted bot process: a new Dispatcher on a new client of the same Redis goes on where it was.
    storage = redis_storage(on_redis)
    try:
        second = harness(settings, sessionmaker, storage=storage)
        assert second.texts(await second.text(LEAD, "850万")) == ["有哪些困难或问题需要协调?没有请回复“无”。"]
        await second.text(LEAD, "无")
        assert second.texts(await second.tap(LEAD, "cfm:1")) == [
            "已保存2026-W48周进展,谢谢!截止前可以重新填报覆盖。"
        ]
    finally:
        await storage.close()
    report = (await session.exec(select(ProgressReport))).one()
    assert report.investment == 8500000
    assert await redis.keys(f"{FSM_KEY_PREFIX}:*") == []  # a finished conversation leaves nothing


def test_without_redis_the_bot_refuses_to_start(settings: Settings) -> None:
    with pytest.raises(SettingsError, match="REDIS_URL"):
        redis_storage(settings.model_copy(update={"redis_url": None}))
