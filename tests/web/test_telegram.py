"""The Telegram webhook: the secret header is required, and updates reach the real Dispatcher."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.app import build_dispatcher
from bot.fake_session import RecordingSession, recording_bot
from models.db import SessionMaker
from notifier.core.settings import Settings, load_settings
from web.app import create_app

SECRET = "s3cret-hook"


@pytest.fixture
async def hook(
    db_url: str, tmp_path: Path, sessionmaker: SessionMaker
) -> AsyncIterator[tuple[httpx.AsyncClient, RecordingSession]]:
    settings: Settings = load_settings(database_url=db_url, telegram_bot_token="42:TEST",
                                       telegram_webhook_secret=SECRET, _env_file=None)  # fmt: skip
    app = create_app(settings)
    app.state.sessionmaker = sessionmaker
    recorded = RecordingSession()
    app.state.telegram = (
        recording_bot(recorded),
        build_dispatcher(settings=settings, sessionmaker=sessionmaker),
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://internal"
    ) as client:
        yield client, recorded


def _update(text: str) -> dict[str, Any]:
    return {"update_id": 1, "message": {"message_id": 5, "date": 1764000000, "text": text,
                                        "chat": {"id": 999, "type": "private"},
                                        "from": {"id": 999, "is_bot": False, "first_name": "U"}}}  # fmt: skip


@pytest.mark.parametrize("header", [None, "wrong"])
async def test_refused_without_the_secret(
    hook: tuple[httpx.AsyncClient, RecordingSession], header: str | None
) -> None:
    client, recorded = hook
    headers = {"X-Telegram-Bot-Api-Secret-Token": header} if header else {}
    response = await client.post("/webhooks/telegram", json=_update("你好"), headers=headers)
    assert response.status_code == 403
    assert recorded.requests == []


async def test_update_reaches_the_dispatcher(hook: tuple[httpx.AsyncClient, RecordingSession]) -> None:
    client, recorded = hook
    response = await client.post("/webhooks/telegram", json=_update("你好"),
                                 headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})  # fmt: skip
    assert response.status_code == 200
    assert [r.text for r in recorded.sent()] == [
        "您好,此账号尚未绑定。请使用管理员发给您的邀请链接打开本机器人。"
    ]
