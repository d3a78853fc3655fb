"""Bot and Dispatcher: aiogram's RedisStorage in production, MemoryStorage in unit tests; long-lived clients in
the dispatcher's workflow data."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.fsm.storage.base import BaseStorage, DefaultKeyBuilder
from aiogram.fsm.storage.memory import MemoryStorage
from aiogram.fsm.storage.redis import RedisStorage

from bot.middlewares import DbSessionMiddleware, SenderMiddleware
from bot.routers import build_routers
from models.base import utcnow
from models.db import SessionMaker
from notifier.core.errors import SettingsError
from notifier.core.settings import Settings

# Conversations in Redis, beside the send queue: under a prefix of their own.
FSM_KEY_PREFIX = "guatu:fsm"


def build_bot(settings: Settings, **kwargs: Any) -> Bot:
    """aiogram's Bot with HTML parse mode (TELEGRAM_API_BASE for a local Bot API server)."""
    if settings.telegram_bot_token is None:
        raise SettingsError("TELEGRAM_BOT_TOKEN is not set / 未设置 TELEGRAM_BOT_TOKEN")
    if settings.telegram_api_base and "session" not in kwargs:
        kwargs["session"] = AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_base))
    return Bot(token=settings.telegram_bot_token.get_secret_value(),
               default=DefaultBotProperties(parse_mode="HTML"), **kwargs)  # fmt: skip


def redis_storage(settings: Settings) -> BaseStorage:
    """aiogram's RedisStorage on REDIS_URL: a conversation outlives a restart of the bot."""
    if not settings.redis_url:
        raise SettingsError("REDIS_URL is not set / 未设置 REDIS_URL")
    return RedisStorage.from_url(settings.redis_url, key_builder=DefaultKeyBuilder(prefix=FSM_KEY_PREFIX))


def build_dispatcher(
    *, settings: Settings, sessionmaker: SessionMaker, storage: BaseStorage | None = None,
    clock: Callable[[], datetime] = utcnow, **workflow: Any,
) -> Dispatcher:  # fmt: skip
    """A Dispatcher with fresh routers; `storage` defaults to MemoryStorage (pass redis_storage() in production)."""
    dp = Dispatcher(storage=storage or MemoryStorage(), settings=settings, sessionmaker=sessionmaker, clock=clock,
                    **workflow)  # fmt: skip
    # Outer middlewares run in the order registered: the session first, then the sender looked up in it.
    dp.update.outer_middleware(DbSessionMiddleware())
    dp.update.outer_middleware(SenderMiddleware())
    dp.include_routers(*build_routers())
    return dp
