"""Filters: bound users, administrators, text messages.

Every filter here is a coroutine: aiogram runs a plain function (a bare `State`, an `F` magic
filter) in a worker thread on each check, which costs a thread hop per handler tried per update.
Routers use `StateFilter(...)` and these classes instead."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from aiogram.filters import Filter
from aiogram.types import Message, TelegramObject, User

from models import Person, Role
from notifier.core.settings import Settings


class Bound(Filter):
    """The Telegram account is bound to a person."""

    async def __call__(self, event: TelegramObject, person: Person | None = None) -> bool:
        return person is not None


LEADER_ROLES = {Role.LEADER, Role.STAFF, Role.ADMIN, Role.APPROVER}


class IsLeader(Filter):
    """Leaders, staff and admins see the rate views; leads see their own projects."""

    async def __call__(self, event: TelegramObject, person: Person | None = None) -> bool:
        return person is not None and person.role in LEADER_ROLES


class IsAdmin(Filter):
    """Role admin, or a Telegram id listed in TELEGRAM_ADMIN_IDS."""

    async def __call__(self, event: TelegramObject, settings: Settings, person: Person | None = None,
                       event_from_user: User | None = None, **_: Any) -> bool:  # fmt: skip
        if event_from_user is not None and event_from_user.id in settings.telegram_admin_ids:
            return True
        return person is not None and person.role == Role.ADMIN


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
