"""A Bot API session that records every request and answers with canned results (no network).

Used by the tests and the demo so that aiogram's real Bot, Dispatcher and handlers run end to end.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncGenerator
from typing import Any

from aiogram import Bot
from aiogram.client.session.base import BaseSession
from aiogram.exceptions import TelegramForbiddenError, TelegramRetryAfter
from aiogram.methods import TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import Chat, Message, User

BOT_USER = User(id=42, is_bot=True, first_name="Guatu", username="guatu_bot")


class RecordingSession(BaseSession):
    """Records (method name, parameters) and returns what Telegram would: a Message for sends, True else;
    `latency` (seconds) is how long each request takes, as a round trip to Telegram would."""

    def __init__(
        self,
        *,
        forbidden: set[int] | None = None,
        retry_after: dict[int, int] | None = None,
        latency: float = 0.0,
    ) -> None:
        super().__init__()
        self.latency = latency
        self.requests: list[TelegramMethod[Any]] = []
        self.forbidden = forbidden or set()
        self.retry_after = dict(retry_after or {})  # chat id -> seconds, raised once
        self._next_id = 1000

    async def make_request(
        self, bot: Bot, method: TelegramMethod[TelegramType], timeout: int | None = None
    ) -> Any:
        if self.latency:
            await asyncio.sleep(self.latency)
        chat_id = getattr(method, "chat_id", None)
        if isinstance(chat_id, int) and chat_id in self.forbidden:
            raise TelegramForbiddenError(method=method, message="Forbidden: bot was blocked by the user")
        if isinstance(chat_id, int) and chat_id in self.retry_after:
            raise TelegramRetryAfter(
                method=method, message="Too Many Requests", retry_after=self.retry_after.pop(chat_id)
            )
        self.requests.append(method)
        name = type(method).__name__
        if name == "GetMe":
            return BOT_USER
        if name in {"SendMessage", "SendPhoto", "EditMessageText"} and isinstance(chat_id, int):
            self._next_id += 1
            return Message(message_id=self._next_id, date=dt.datetime.now(dt.UTC),
                           chat=Chat(id=chat_id, type="private"), from_user=BOT_USER,
                           text=getattr(method, "text", None) or getattr(method, "caption", None))  # fmt: skip
        return True

    async def close(self) -> None:
        return None

    async def stream_content(
        self, url: str, headers: dict[str, Any] | None = None, timeout: int = 30,
        chunk_size: int = 65536, raise_for_status: bool = True,
    ) -> AsyncGenerator[bytes, None]:  # fmt: skip
        raise NotImplementedError("no downloads without a network")
        yield b""  # pragma: no cover

    def sent(self, name: str = "SendMessage") -> list[Any]:
        """Requests of one method (SendMessage by default), in order."""
        return [request for request in self.requests if type(request).__name__ == name]


def recording_bot(session: RecordingSession | None = None, token: str = "42:TEST") -> Bot:
    """A real aiogram Bot on a RecordingSession."""
    return Bot(token=token, session=session or RecordingSession())
