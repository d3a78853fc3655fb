"""The worker's chat sender: Telegram alone while WeCom is off (said in one line), Telegram and
WeCom behind ChannelChat once the five WeCom settings are set."""

from __future__ import annotations

from typing import Any

import pytest

import worker
from models.db import SessionMaker
from notifier.channels.router import ChannelChat
from notifier.core.chat import RecordingChatSender
from notifier.core.settings import Settings
from web.fakes.wecom import FakeWecom


def test_without_wecom_the_worker_says_so_once(
    settings: Settings, sessionmaker: SessionMaker, caplog: pytest.LogCaptureFixture
) -> None:
    chat = worker.build_chat_sender(settings, sessionmaker=sessionmaker, redis=None)
    assert isinstance(chat, RecordingChatSender)
    lines = [r.getMessage() for r in caplog.records if "WeCom is off" in r.getMessage()]
    assert len(lines) == 1 and "\n" not in lines[0]


async def test_with_wecom_the_worker_routes_by_person(
    fake_wecom: FakeWecom, settings: Settings, sessionmaker: SessionMaker, redis: Any
) -> None:
    chat = worker.build_chat_sender(fake_wecom.settings(database_url=settings.database_url),
                                    sessionmaker=sessionmaker, redis=redis)  # fmt: skip
    assert isinstance(chat, ChannelChat) and isinstance(chat.telegram, RecordingChatSender)
    await worker.shutdown({"chat": chat})
