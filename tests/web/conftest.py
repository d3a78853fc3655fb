"""The web app on the test database and Redis, and an HTTP client on it (no network)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from models.db import SessionMaker
from notifier.core.settings import Settings
from web.app import create_app


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
