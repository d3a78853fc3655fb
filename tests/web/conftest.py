"""The web app on the test database and Redis, and an HTTP client on it (no network); for the
browser tests, the app under uvicorn on a free port and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import socket
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from models.db import SessionMaker
from notifier.channels.router import ChannelChat
from notifier.core.chat import RecordingChatSender
from notifier.core.settings import Settings
from web.app import create_app
from web.fakes.twilio import FakeTwilio
from wecom.channel import WecomChannel
from wecom.client import WecomClient

CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture
async def app(settings: Settings, sessionmaker: SessionMaker, redis: object) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def web_settings(settings: Settings, fake_twilio: FakeTwilio) -> Settings:
    return fake_twilio.settings(
        database_url=settings.database_url,
        redis_url=settings.redis_url,
        secret_key="browser-test-secret",
        quiet_hours="",
        sms_rate_per_sec=100.0,
        sms_fanout=1,
    )


@pytest.fixture
def server(web_settings: Settings, sessionmaker: SessionMaker) -> Iterator[str]:
    """The app under uvicorn in a thread (its own event loop), on 127.0.0.1 and a free port."""
    port = _free_port()
    config = uvicorn.Config(create_app(web_settings), host="127.0.0.1", port=port, log_level="warning")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    for _ in range(200):
        if srv.started:
            break
        threading.Event().wait(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(10)


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            yield chromium
        finally:
            await chromium.close()


# The WeCom tests' client of their app (`wecom_app`) and their chat through WeCom (`wecom_settings`):
# both fixtures are the test modules' own.
@pytest.fixture
async def http(wecom_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=wecom_app), base_url="http://test"
    ) as client:
        yield client


@pytest.fixture
async def chat(
    wecom_settings: Settings, redis: Any, sessionmaker: SessionMaker
) -> AsyncIterator[ChannelChat]:
    wecom = WecomChannel(WecomClient(wecom_settings, redis, backoff_seconds=0.01))
    yield ChannelChat(
        telegram=RecordingChatSender(), wecom=wecom, sessionmaker=sessionmaker, settings=wecom_settings
    )
    await wecom.aclose()
