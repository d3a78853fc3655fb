"""The chat channels' Turn (notifier.reporting.conversation.Turn) on an aiogram message or pressed
inline button."""

from __future__ import annotations

from dataclasses import dataclass

from aiogram.types import CallbackQuery, Message

from bot.sender import markup
from notifier.core.chat import Buttons


@dataclass
class TelegramTurn:
    """The conversation's Turn on a message or a pressed inline button."""

    event: Message | CallbackQuery

    def _message(self) -> Message:
        message = self.event.message if isinstance(self.event, CallbackQuery) else self.event
        assert isinstance(message, Message)
        return message

    async def say(self, text: str, buttons: Buttons | None = None) -> None:
        await self._message().answer(text, reply_markup=markup(buttons))

    async def alert(self, text: str) -> None:
        if isinstance(self.event, CallbackQuery):
            await self.event.answer(text, show_alert=True)
        else:
            await self.event.answer(text)

    async def ack(self, text: str | None = None, *, label: str | None = None, keep: bool = False) -> None:
        if isinstance(self.event, CallbackQuery):
            await self.event.answer(text)
            if keep and text and self.event.message is not None:
                await self.event.message.answer(text)
        elif keep and text:
            await self.event.answer(text)
