"""`guatu invite PHONE` prints a deep link; `guatu bot` without a token says so in one line."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlmodel import SQLModel, select
from typer.testing import CliRunner

from models import Invite, Person, Role
from models.db import create_engine, create_sessionmaker
from notifier.cli import app
from notifier.reporting.invites import token_hash


async def _seed(url: str) -> None:
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(SQLModel.metadata.create_all)
    async with create_sessionmaker(engine)() as session:
        session.add(Person(name="王伟", phone="+8613904830001", role=Role.LEAD))
        await session.commit()
    await engine.dispose()


async def _hashes(url: str) -> list[str]:
    engine = create_engine(url)
    async with create_sessionmaker(engine)() as session:
        rows = list((await session.exec(select(Invite.token_hash))).all())
    await engine.dispose()
    return rows


def test_invite_prints_deep_link(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'guatu.db'}"
    asyncio.run(_seed(url))
    env = {"DATABASE_URL": url, "TELEGRAM_BOT_USERNAME": "alashan_bot"}
    result = CliRunner().invoke(app, ["invite", "139-0483-0001"], env=env)
    assert result.exit_code == 0, result.output
    name, link = result.output.strip().split(": ")
    assert name == "王伟" and link.startswith("https://t.me/alashan_bot?start=")
    assert asyncio.run(_hashes(url)) == [token_hash(link.split("start=")[1])]


def test_bot_without_token(tmp_path: Path) -> None:
    env = {"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'guatu.db'}", "TELEGRAM_BOT_TOKEN": ""}
    result = CliRunner().invoke(app, ["bot"], env=env)
    assert result.exit_code != 0
    assert "TELEGRAM_BOT_TOKEN is not set" in str(result.exception)
