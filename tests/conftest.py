"""Shared fixtures: a real Redis and real databases (SQLite always, PostgreSQL when configured).

- TEST_REDIS_URL / REDIS_URL: a shared Redis server; the run claims a db number of its own on it
  (tests/isolation.py) and flushes only that one. Otherwise a private server is started once.
- TEST_DATABASE_URL: a PostgreSQL server; the run creates its own database there, every database
  test also runs on it, and it is dropped at the end.
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
from notifier.core.redis_server import EmbeddedRedis
from notifier.core.settings import Settings, load_settings
from tests.isolation import OwnDatabase, RedisClaim
from web.fakes.twilio import FakeTwilio
from web.fakes.wecom import FakeWecom

DB_PARAMS = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])
_own_database: OwnDatabase | None = None
_pg_ready = False


def pytest_configure(config: pytest.Config) -> None:
    """Before any test module is imported: this run's own PostgreSQL database."""
    global _own_database
    server = os.environ.get("TEST_DATABASE_URL")
    if server and _own_database is None:
        _own_database = OwnDatabase(server)
        os.environ["TEST_DATABASE_URL"] = _own_database.create()


def pytest_unconfigure(config: pytest.Config) -> None:
    if _own_database is not None:
        _own_database.drop()


def _shared_redis_base() -> str | None:
    configured = os.environ.get("TEST_REDIS_URL") or os.environ.get("REDIS_URL")
    if not configured:
        return None
    if configured.startswith("unix://"):
        return configured.split("?", 1)[0]
    return configured.rsplit("/", 1)[0] if configured.count("/") > 2 else configured


@pytest.fixture(scope="session")
def redis_claim() -> Iterator[RedisClaim | None]:
    base = _shared_redis_base()
    if base is None:
        yield None
        return
    claim = RedisClaim(base)
    claim.acquire()
    try:
        yield claim
    finally:
        claim.release()


@pytest.fixture(scope="session")
def redis_url(redis_claim: RedisClaim | None) -> Iterator[str]:
    """The run's own Redis database: a claimed db number on the shared server, else a private server."""
    if redis_claim is not None:
        assert redis_claim.db is not None
        yield redis_claim.url(redis_claim.db)
        return
    server = EmbeddedRedis()
    try:
        yield f"{server.start()}?db=9"
    finally:
        server.stop()


@pytest.fixture
async def redis(redis_url: str, redis_claim: RedisClaim | None) -> AsyncIterator[aioredis.Redis]:
    """A client on the run's Redis database, emptied before and after the test."""
    client = aioredis.Redis.from_url(redis_url)

    async def empty() -> None:
        if redis_claim is not None:
            redis_claim.reset()  # keeps the marker that says whose data this is
        else:
            await client.flushdb()

    await empty()
    yield client
    await empty()
    await client.aclose()


@pytest.fixture(params=DB_PARAMS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgresql":
        return os.environ["TEST_DATABASE_URL"]
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


@pytest.fixture
async def fake_wecom() -> AsyncIterator[FakeWecom]:
    """A running fake of a WeCom self-built app on 127.0.0.1 (a free port); `.settings()` points
    Guatu's WeCom client and callback at it. Members are added with `add_member`."""
    fake = await FakeWecom().start()
    yield fake
    await fake.stop()
