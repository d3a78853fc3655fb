"""Filters: bound users, administrators, text messages.

Every filter here is a coroutine: aiogram runs a plain function (a bare `State`, an `F` magic
filter) in a worker thread on each check, which costs a thread hop per handler tried per update.
Routers use `StateFilter(...)` and these classes instead."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from aiogram.filters import Filter
from aiogram.types import Message, TelegramObject, User
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.middlewares import confirm_person, reads, release_connection
from models import Person, Role
from notifier.core.settings import Settings


class Bound(Filter):
    """The Telegram account is bound to a person."""

    async def __call__(self, event: TelegramObject, person: Person | None = None) -> bool:
        return person is not None


LEADER_ROLES = {Role.LEADER, Role.STAFF, Role.ADMIN, Role.APPROVER}


class IsLeader(Filter):
    """Leaders, staff and admins see the rate views; leads see their own projects."""

    async def __call__(
        self, event: TelegramObject, session: AsyncSession, person: Person | None = None
    ) -> bool:
        if person is None or person.role not in LEADER_ROLES:
            return False
        await reads(session)
        fresh = await confirm_person(session, person)  # the role as it is now, not as cached
        await release_connection(session)  # a read: whatever answers next may talk to Telegram first
        return fresh is not None and fresh.role in LEADER_ROLES


class IsAdmin(Filter):
    """Role admin, or a Telegram id listed in TELEGRAM_ADMIN_IDS."""

    async def __call__(self, event: TelegramObject, settings: Settings, session: AsyncSession,
                       person: Person | None = None, event_from_user: User | None = None, **_: Any) -> bool:  # fmt: skip
        if event_from_user is not None and event_from_user.id in settings.telegram_admin_ids:
            return True
        if person is None or person.role != Role.ADMIN:
            return False
        await reads(session)
        fresh = await confirm_person(session, person)  # the role as it is now, not as cached
        await release_connection(session)  # a read: whatever answers next may talk to Telegram first
        return fresh is not None and fresh.role == Role.ADMIN


class HasText(Filter):
    """A message with non-empty text (the coroutine form of `F.text`)."""

    async def __call__(self, message: Message) -> bool:
        return bool(message.text)


class NotCommand(Filter):
    """Anything but a message whose text is a bot command (`/help`, `/start TOKEN`); `answers` are
    command-like words that answer a question (`/skip`)."""

    def __init__(self, answers: Collection[str] = ()) -> None:
        self.answers = frozenset(answers)

    async def __call__(self, event: TelegramObject) -> bool:
        if not isinstance(event, Message) or not (event.text or "").startswith("/"):
            return True
        return (event.text or "").strip().lower() in self.answers
