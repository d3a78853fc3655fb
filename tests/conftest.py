"""Shared fixtures: a real Redis and real databases (SQLite always, PostgreSQL when configured).

- REDIS_URL / TEST_REDIS_URL: the Redis to use; otherwise a private server is started once.
  TEST_REDIS_DB picks the database number (default 9); it is flushed around every test.
- TEST_DATABASE_URL: a PostgreSQL database; when set, every database test also runs on it.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

import models  # noqa: F401
from models.db import SessionMaker, create_engine, create_sessionmaker
from notifier.redis_server import EmbeddedRedis
from notifier.settings import Settings, load_settings
from web.fakes.twilio import FakeTwilio

PG_URL = os.environ.get("TEST_DATABASE_URL")
DB_PARAMS = ["sqlite"] + (["postgresql"] if PG_URL else [])
_pg_ready = False


@pytest.fixture(scope="session")
def redis_base_url() -> Iterator[str]:
    configured = os.environ.get("TEST_REDIS_URL") or os.environ.get("REDIS_URL")
    if configured:
        yield configured.rsplit("/", 1)[0] if configured.count("/") > 2 else configured
        return
    server = EmbeddedRedis()
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture(scope="session")
def redis_url(redis_base_url: str) -> str:
    db = int(os.environ.get("TEST_REDIS_DB", "9"))
    if redis_base_url.startswith("unix://"):
        return f"{redis_base_url}?db={db}"
    return f"{redis_base_url.rstrip('/')}/{db}"


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(redis_url)
    await client.flushdb()
    yield client
    await client.flushdb()
    await client.aclose()


@pytest.fixture(params=DB_PARAMS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgresql":
        assert PG_URL
        return PG_URL
    return f"sqlite+aiosqlite:///{tmp_path / 'guatu.db'}"


async def _reset_schema(engine: AsyncEngine) -> None:
    global _pg_ready
    if engine.dialect.name == "sqlite":
        async with engine.begin() as conn:
            await conn.run_sync(SQLModel.metadata.create_all)
        return
    async with engine.begin() as conn:
        if not _pg_ready:
            await conn.run_sync(SQLModel.metadata.drop_all)
            await conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
            await conn.run_sync(SQLModel.metadata.create_all)
            _pg_ready = True
        else:
            # Tests of migrations and imports drop the schema; recreate whatever is missing.
            await conn.run_sync(SQLModel.metadata.create_all)
            names = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
            await conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    eng = create_engine(db_url)
    await _reset_schema(eng)
    yield eng
    await eng.dispose()


@pytest.fixture
def sessionmaker(engine: AsyncEngine) -> SessionMaker:
    return create_sessionmaker(engine)


@pytest.fixture
async def session(sessionmaker: SessionMaker) -> AsyncIterator[AsyncSession]:
    async with sessionmaker() as s:
        yield s


@pytest.fixture
def settings(db_url: str, redis_url: str, tmp_path: Path) -> Settings:
    """Settings for a test: its database, the test Redis, the file SMS backend in tmp_path."""
    return load_settings(
        database_url=db_url,
        redis_url=redis_url,
        sms_backend="file",
        sms_file_path=tmp_path / "sms.jsonl",
        secret_key="test-secret-key-not-for-production",
        quiet_hours="",
        _env_file=None,
    )


@pytest.fixture
async def fake_twilio() -> AsyncIterator[FakeTwilio]:
    """A running fake of Twilio's Messages API on 127.0.0.1 (a free port); `.settings()` points
    TwilioProvider at it. Fault knobs (throttle_rate, fail_rate, latency_ms, spike_rate/spike_ms,
    permanent, undeliverable) may be set per test; its random draws are seeded."""
    fake = await FakeTwilio().start()
    yield fake
    await fake.stop()
