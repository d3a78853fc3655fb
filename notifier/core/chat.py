"""Sending to people in Telegram without importing a Telegram library: the ChatSender protocol.

bot/sender.py implements it on aiogram's Bot; RecordingChatSender stands in when no bot token is set.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Protocol

log = logging.getLogger("guatu.chat")

Buttons = list[list[tuple[str, str]]]  # rows of (label, callback data)


class ChatSender(Protocol):
    """Send a chat message; False when the person blocked the bot (the caller falls back to SMS)."""

    async def send_text(self, *, telegram_id: int, text: str, buttons: Buttons | None = None) -> bool: ...

    async def send_photo(self, *, telegram_id: int, png: bytes, caption: str) -> bool: ...


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
