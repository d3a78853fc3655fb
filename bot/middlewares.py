"""Per-update middlewares: a database session, the current Person and their language."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, User
from sqlalchemy import bindparam
from sqlmodel import col, select

from models import Person

# Updates handled at once with a database session: the PostgreSQL pool's steady size (10), so a burst
# of updates (hundreds of leads answering the Thursday prompt) waits its turn here instead of timing
# out on the pool or opening overflow connections that are closed again after each use.
MAX_CONCURRENT_SESSIONS = 10

# Built once: every update looks its sender up.
PERSON_BY_TELEGRAM_ID = select(Person).where(col(Person.telegram_id) == bindparam("telegram_id"))


class DbSessionMiddleware(BaseMiddleware):
    """Opens one session per update (from the `sessionmaker` in the dispatcher's workflow data)."""

    def __init__(self, limit: int = MAX_CONCURRENT_SESSIONS) -> None:
        self._slots = asyncio.Semaphore(limit)

    async def __call__(
        self, handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]], event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:  # fmt: skip
        async with self._slots, data["sessionmaker"]() as session:
            data["session"] = session
            return await handler(event, data)


class PersonMiddleware(BaseMiddleware):
    """Injects `person` (None when the Telegram account is not bound) and `lang`."""

    async def __call__(
        self, handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]], event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:  # fmt: skip
        user: User | None = data.get("event_from_user")
        person = None
        if user is not None:
            person = (
                await data["session"].exec(PERSON_BY_TELEGRAM_ID, params={"telegram_id": user.id})
            ).first()
        data["person"] = person
        data["lang"] = (
            person.language
            if person is not None
            else ("en" if (user and user.language_code or "").startswith("en") else "zh")
        )
        return await handler(event, data)


class MetricsMiddleware(BaseMiddleware):
    """Counts each update in Redis for /metrics (through the dispatcher's `arq` connection, when present)."""

    async def __call__(
        self, handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]], event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:  # fmt: skip
        redis = data.get("arq")
        if redis is not None:
            from notifier.metrics import count_bot_update

            await count_bot_update(redis)
        return await handler(event, data)
