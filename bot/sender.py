"""ChatSender on aiogram's Bot: flood-control waits honoured, a blocked bot reported as False."""

from __future__ import annotations

import asyncio
import logging

from aiogram import Bot
from aiogram.exceptions import TelegramForbiddenError, TelegramRetryAfter
from aiogram.types import BufferedInputFile, InlineKeyboardButton, InlineKeyboardMarkup
from sqlmodel import col, update

from models.db import SessionMaker
from notifier.core.chat import Buttons

log = logging.getLogger("guatu.bot.sender")
MAX_RETRIES = 3


def markup(buttons: Buttons | None) -> InlineKeyboardMarkup | None:
    """Rows of (label, callback data) as an inline keyboard."""
    if not buttons:
        return None
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=label, callback_data=data) for label, data in row] for row in buttons
        ]
    )


class AiogramChatSender:
    """Sends through `bot`; on TelegramForbiddenError marks the person blocked (when a sessionmaker is given)."""

    def __init__(self, bot: Bot, *, sessionmaker: SessionMaker | None = None) -> None:
        self.bot = bot
        self.sessionmaker = sessionmaker

    async def _blocked(self, telegram_id: int) -> bool:
        log.info("telegram user %s blocked the bot; falling back to SMS", telegram_id)
        if self.sessionmaker is not None:
            from models import Person

            async with self.sessionmaker() as session:
                await session.exec(  # type: ignore[call-overload]
                    update(Person).where(col(Person.telegram_id) == telegram_id).values(telegram_blocked=True)
                )
                await session.commit()
        return False

    async def send_text(self, *, telegram_id: int, text: str, buttons: Buttons | None = None) -> bool:
        for _attempt in range(MAX_RETRIES):
            try:
                await self.bot.send_message(chat_id=telegram_id, text=text, reply_markup=markup(buttons))
                return True
            except TelegramRetryAfter as exc:  # Telegram's flood control names the wait
                await asyncio.sleep(exc.retry_after)
            except TelegramForbiddenError:
                return await self._blocked(telegram_id)
        return False

    async def send_photo(self, *, telegram_id: int, png: bytes, caption: str) -> bool:
        for _attempt in range(MAX_RETRIES):
            try:
                await self.bot.send_photo(
                    chat_id=telegram_id, photo=BufferedInputFile(png, "chart.png"), caption=caption
                )
                return True
            except TelegramRetryAfter as exc:
                await asyncio.sleep(exc.retry_after)
            except TelegramForbiddenError:
                return await self._blocked(telegram_id)
        return False
