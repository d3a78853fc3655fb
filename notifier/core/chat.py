"""Sending to people in chat without importing a chat library: the ChatSender protocol (Telegram),
and PersonChat for senders that reach a person by their channel order (Telegram, WeCom).

bot/sender.py implements ChatSender on aiogram's Bot; RecordingChatSender stands in when no bot
token is set; notifier.channels.router.ChannelChat wraps a ChatSender and adds WeCom (PersonChat).
Code that messages known people (the bulletins' chat copies) selects them with `chat_reach` and
sends with `send_chat`, so it works with either kind.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from sqlalchemy import ColumnElement, and_
from sqlmodel import col

from models import Person

log = logging.getLogger("guatu.chat")

Buttons = list[list[tuple[str, str]]]  # rows of (label, callback data)


class ChatSender(Protocol):
    """Send a chat message; False when the person blocked the bot (the caller falls back to SMS)."""

    async def send_text(self, *, telegram_id: int, text: str, buttons: Buttons | None = None) -> bool: ...

    async def send_photo(self, *, telegram_id: int, png: bytes, caption: str) -> bool: ...


@runtime_checkable
class PersonChat(Protocol):
    """A ChatSender that also reaches people by their channel order."""

    def reach(self) -> ColumnElement[bool]:
        """The Person rows it may reach (a filter for queries; the channel order decides at send time)."""
        ...

    async def send_to_person(self, person_id: int, *, text: str, buttons: Buttons | None = None) -> bool:
        """Send through the first of the person's channels that takes it; False when none did."""
        ...


def telegram_reach() -> ColumnElement[bool]:
    """People bound to Telegram who have not blocked the bot."""
    return and_(col(Person.telegram_id).is_not(None), col(Person.telegram_blocked).is_(False))


def chat_reach(chat: object) -> ColumnElement[bool]:
    """The people `chat` may reach: by their channel order for a PersonChat, else in Telegram."""
    return chat.reach() if isinstance(chat, PersonChat) else telegram_reach()


async def send_chat(
    chat: ChatSender,
    *,
    person_id: int | None,
    telegram_id: int | None,
    text: str,
    buttons: Buttons | None = None,
) -> bool:
    """To a person through their channel order when `chat` is a PersonChat, else to their Telegram
    (a chat known only by its Telegram id, like TELEGRAM_ADMIN_IDS, always goes to Telegram)."""
    if person_id is not None and isinstance(chat, PersonChat):
        return await chat.send_to_person(person_id, text=text, buttons=buttons)
    if telegram_id is None:
        return False
    return await chat.send_text(telegram_id=telegram_id, text=text, buttons=buttons)


@dataclass
class SentChat:
    telegram_id: int
    text: str
    buttons: Buttons | None = None
    png: bytes | None = None


@dataclass
class RecordingChatSender:
    """A simulated Telegram: records every message and delivers nothing (no TELEGRAM_BOT_TOKEN set)."""

    sent: list[SentChat] = field(default_factory=list)
    blocked: set[int] = field(default_factory=set)

    async def send_text(self, *, telegram_id: int, text: str, buttons: Buttons | None = None) -> bool:
        if telegram_id in self.blocked:
            return False
        self.sent.append(SentChat(telegram_id=telegram_id, text=text, buttons=buttons))
        log.info("simulated Telegram message to %s (no bot token): %s", telegram_id, text.splitlines()[0])
        return True

    async def send_photo(self, *, telegram_id: int, png: bytes, caption: str) -> bool:
        if telegram_id in self.blocked:
            return False
        self.sent.append(SentChat(telegram_id=telegram_id, text=caption, png=png))
        return True
