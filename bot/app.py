"""Bot and Dispatcher: ConversationStorage (Redis) in production, MemoryStorage in unit tests; long-lived clients in
the dispatcher's workflow data."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.fsm.storage.base import BaseStorage
from aiogram.fsm.storage.memory import MemoryStorage

from bot.middlewares import UpdateMiddleware
from bot.routers import build_routers
from models.base import utcnow
from models.db import SessionMaker
from notifier.core.errors import SettingsError
from notifier.core.settings import Settings

# The bot's own engine: its pool (10 connections) is what makes a burst of updates wait, so it never
# opens overflow connections that are closed again as soon as they are returned.
BOT_ENGINE_OPTIONS: dict[str, Any] = {"max_overflow": 0}


def build_bot(settings: Settings, **kwargs: Any) -> Bot:
    """aiogram's Bot with HTML parse mode (TELEGRAM_API_BASE for a local Bot API server)."""
    if settings.telegram_bot_token is None:
        raise SettingsError("TELEGRAM_BOT_TOKEN is not set / 未设置 TELEGRAM_BOT_TOKEN")
    if settings.telegram_api_base and "session" not in kwargs:
        kwargs["session"] = AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_base))
    return Bot(token=settings.telegram_bot_token.get_secret_value(),
               default=DefaultBotProperties(parse_mode="HTML"), **kwargs)  # fmt: skip


def redis_storage(settings: Settings) -> BaseStorage:
    from bot.storage import ConversationStorage

    if not settings.redis_url:
        raise SettingsError("REDIS_URL is not set / 未设置 REDIS_URL")
    return ConversationStorage.from_url(settings.redis_url)


def build_dispatcher(
    *, settings: Settings, sessionmaker: SessionMaker, storage: BaseStorage | None = None,
    clock: Callable[[], datetime] = utcnow, **workflow: Any,
) -> Dispatcher:  # fmt: skip
    """A Dispatcher with fresh routers; `storage` defaults to MemoryStorage (pass redis_storage() in production)."""
    dp = Dispatcher(storage=storage or MemoryStorage(), settings=settings, sessionmaker=sessionmaker, clock=clock,
                    **workflow)  # fmt: skip
    dp.update.outer_middleware(UpdateMiddleware())
    dp.include_routers(*build_routers())
    return dp
