"""Per-update middlewares: the update's database session, then who is writing and in which language."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, User
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Person
from notifier.core.metrics import count_bot_update

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class DbSessionMiddleware(BaseMiddleware):
    """One database session per update (`session`, from the dispatcher's `sessionmaker`). Handlers
    commit what they change; whatever they leave is rolled back when the session closes. Counts the
    update for /metrics when the dispatcher holds an `arq` Redis connection."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        redis = data.get("arq")
        if redis is not None:
            await count_bot_update(redis)
        async with data["sessionmaker"]() as session:
            data["session"] = session
            return await handler(event, data)


class SenderMiddleware(BaseMiddleware):
    """`person`: the Person bound to the sender's Telegram account (None when unbound), looked up on
    every update so that a binding, a role or a language changed anywhere shows at once; `lang`: theirs,
    else the Telegram client's when English, else Chinese."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user: User | None = data.get("event_from_user")
        session: AsyncSession = data["session"]
        person = None
        if user is not None:
            person = (await session.exec(select(Person).where(col(Person.telegram_id) == user.id))).first()
        data["person"] = person
        if person is not None:
            data["lang"] = person.language
        else:
            data["lang"] = "en" if user is not None and (user.language_code or "").startswith("en") else "zh"
        return await handler(event, data)
