"""Drive the real Dispatcher with feed_update and a Bot whose session records every request."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, field
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.fsm.storage.base import BaseStorage
from aiogram.types import CallbackQuery, Chat, Message, Update, User

from bot.app import build_dispatcher
from bot.fake_session import RecordingSession, recording_bot
from models.db import SessionMaker
from notifier.core.settings import Settings

NOW = dt.datetime(2026, 11, 26, 3, 0, tzinfo=dt.UTC)  # Thu 11:00 Beijing, week 2026-W48
WEEK = "2026-W48"


@dataclass
class Harness:
    dp: Dispatcher
    bot: Bot
    session: RecordingSession
    now: dt.datetime = NOW
    ids: Any = field(default_factory=lambda: itertools.count(1))

    async def _feed(self, update: Update) -> None:
        await self.dp.feed_update(self.bot, update)

    def _message(self, user_id: int, text: str) -> Message:
        return Message(message_id=next(self.ids), date=self.now, chat=Chat(id=user_id, type="private"),
                       from_user=User(id=user_id, is_bot=False, first_name="U"), text=text)  # fmt: skip

    async def text(self, user_id: int, text: str) -> list[Any]:
        """Send a message as `user_id`; returns the requests the bot made in answer."""
        before = len(self.session.requests)
        await self._feed(Update(update_id=next(self.ids), message=self._message(user_id, text)))
        return self.session.requests[before:]

    async def tap(self, user_id: int, data: str) -> list[Any]:
        """Tap an inline button carrying `data` as `user_id`."""
        before = len(self.session.requests)
        query = CallbackQuery(id=str(next(self.ids)), from_user=User(id=user_id, is_bot=False, first_name="U"),
                              chat_instance="c", data=data, message=self._message(user_id, "prompt"))  # fmt: skip
        await self._feed(Update(update_id=next(self.ids), callback_query=query))
        return self.session.requests[before:]

    def texts(self, requests: list[Any]) -> list[str]:
        return [r.text for r in requests if type(r).__name__ == "SendMessage"]

    def alerts(self, requests: list[Any]) -> list[str]:
        return [r.text for r in requests if type(r).__name__ == "AnswerCallbackQuery" and r.text]


def harness(
    settings: Settings, sessionmaker: SessionMaker, *, storage: BaseStorage | None = None, **workflow: Any
) -> Harness:
    session = RecordingSession()
    h = Harness(dp=Dispatcher(), bot=recording_bot(session), session=session)
    h.dp = build_dispatcher(settings=settings, sessionmaker=sessionmaker, storage=storage, clock=lambda: h.now,
                            **workflow)  # fmt: skip
    return h


def keyboard(request: Any) -> list[list[tuple[str, str]]]:
    markup = request.reply_markup
    return [[(b.text, b.callback_data) for b in row] for row in markup.inline_keyboard] if markup else []
