"""The bot's arq jobs get their clients from ctx: the prompt, the reminder and the deadline round for a week."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from arq.connections import ArqRedis, RedisSettings, create_pool
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Campaign, Delivery, WeekPrompt
from models.db import SessionMaker
from notifier.core.chat import RecordingChatSender
from notifier.core.settings import Settings
from notifier.jobs.bot import deadline_round, remind_leads, weekly_prompt
from tests.notifier.bot_world import make_world


@pytest.fixture
async def pool(redis: Any, redis_url: str) -> AsyncIterator[ArqRedis]:
    arq_pool = await create_pool(RedisSettings.from_dsn(redis_url))
    yield arq_pool
    await arq_pool.aclose()


async def test_week_jobs(
    session: AsyncSession, settings: Settings, sessionmaker: SessionMaker, pool: ArqRedis
) -> None:
    world = await make_world(session)
    world.lead.telegram_id = 111
    session.add(world.lead)
    await session.commit()
    chat = RecordingChatSender()
    ctx: dict[str, Any] = {"settings": settings, "sessionmaker": sessionmaker, "chat": chat, "redis": pool}
    prompt = await weekly_prompt(ctx, "2026-W48")
    assert prompt.startswith("chat 2; not in chat 1; blocked 0; already done 0; sms campaigns ")
    assert len((await session.exec(select(WeekPrompt))).all()) == 3
    # 李娜 is not on Telegram: an SMS with a signed link to the report form.
    [body] = (await session.exec(select(Delivery.body).where(Delivery.phone == "+8613904830002"))).all()
    assert "请于11-28 12:00前报送2026-W48周项目进展:道路改造 /r/" in body
    reminder = await remind_leads(ctx, "2026-W48")
    assert reminder.startswith("chat 2; not in chat 1; blocked 0; already done 0; sms campaigns ")
    summary = await deadline_round(ctx, "2026-W48")
    campaigns = (await session.exec(select(Campaign))).all()
    # prompt SMS, reminder SMS, the leads' deadline SMS and the contact's (not on Telegram)
    assert sorted(str(c.dedupe_key).split(":")[0] for c in campaigns) == [
        "deadline-contact", "deadline-leads", "prompt-sms", "reminder-sms"]  # fmt: skip
    assert summary.startswith("chat 0; not in chat 0; blocked 0; already done 0; sms campaigns ")
    assert len(chat.sent) == 4
