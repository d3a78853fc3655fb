"""The bot over HTTP: aiogram's own Bot and AiohttpSession (TELEGRAM_API_BASE) against a local fake of
the Telegram Bot API, updates fed as Telegram sends them (JSON, `feed_raw_update`). A lead's whole
report goes through, and what Telegram refuses (a wrong token, a user who blocked the bot) is the
error aiogram raises for it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiogram.exceptions import TelegramForbiddenError, TelegramUnauthorizedError
from pydantic import SecretStr
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.app import build_bot, build_dispatcher
from models import ProgressReport
from models.db import SessionMaker
from notifier.core.settings import Settings
from tests.bot.harness import NOW, WEEK
from tests.fakes.telegram import FakeTelegram
from tests.notifier.bot_world import make_world

LEAD = 111


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    fake = await FakeTelegram().start()
    yield fake
    await fake.stop()


def _pointed(settings: Settings, telegram: FakeTelegram, token: str = "42:TEST") -> Settings:
    return settings.model_copy(
        update={"telegram_bot_token": SecretStr(token), "telegram_api_base": telegram.base_url}
    )


def _update(
    update_id: int, user_id: int, *, text: str | None = None, data: str | None = None
) -> dict[str, Any]:
    user = {"id": user_id, "is_bot": False, "first_name": "王伟"}
    message = {"message_id": update_id, "date": int(NOW.timestamp()), "chat": {"id": user_id, "type": "private"},
               "from": user, "text": text or "prompt"}  # fmt: skip
    if data is None:
        return {"update_id": update_id, "message": message}
    return {"update_id": update_id,
            "callback_query": {"id": str(update_id), "from": user, "chat_instance": "c", "data": data,
                               "message": message}}  # fmt: skip


async def test_a_report_goes_through_aiogram_http_session(
    session: AsyncSession, settings: Settings, sessionmaker: SessionMaker, telegram: FakeTelegram
) -> None:
    world = await make_world(session)
    world.lead.telegram_id = LEAD
    session.add(world.lead)
    await session.commit()
    project_id = world.projects[1].id
    configured = _pointed(settings, telegram)
    bot = build_bot(configured)
    dp = build_dispatcher(settings=configured, sessionmaker=sessionmaker, clock=lambda: NOW)
    try:
        steps = [{"data": f"rep:{project_id}:{WEEK}"}, {"data": "stg:continuing"}, {"text": "300万"},
                 {"text": "无"}, {"data": "cfm:1"}]  # fmt: skip
        for number, step in enumerate(steps, start=1):
            await dp.feed_raw_update(bot, _update(number, LEAD, **step))
    finally:
        await bot.session.close()
    texts = [params["text"] for params in telegram.sent()]
    assert texts[-1].startswith("已保存2026-W48周进展")
    assert all(int(params["chat_id"]) == LEAD for params in telegram.sent())
    assert len(telegram.sent("answerCallbackQuery")) == 3  # every tapped button answered
    stage_buttons = telegram.sent()[0]["reply_markup"]["inline_keyboard"]  # the markup, as aiogram sent it
    assert any(button["callback_data"] == "stg:continuing" for row in stage_buttons for button in row)
    reports = (
        await session.exec(select(ProgressReport).where(col(ProgressReport.project_id) == project_id))
    ).all()
    assert [(r.version, r.is_current) for r in reports] == [(1, True)]


async def test_what_telegram_refuses_is_aiograms_error(settings: Settings, telegram: FakeTelegram) -> None:
    wrong = build_bot(_pointed(settings, telegram, "42:WRONG"))
    try:
        with pytest.raises(TelegramUnauthorizedError):
            await wrong.get_me()
    finally:
        await wrong.session.close()
    telegram.blocked.add(LEAD)
    bot = build_bot(_pointed(settings, telegram))
    try:
        assert (await bot.get_me()).username == "guatu_bot"
        with pytest.raises(TelegramForbiddenError):
            await bot.send_message(LEAD, "本周进展")
    finally:
        await bot.session.close()
    assert telegram.sent() == []
