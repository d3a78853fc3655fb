"""`guatu wecom sync|status` and `guatu channels PHONE [ORDER]` from the shell: binding through the
WeCom fake, WeCom off said in one line, and a bad channel order refused with nothing changed."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import SQLModel, select
from typer.testing import CliRunner

from models import Person, Role, WecomState
from models.db import create_engine, create_sessionmaker
from notifier.cli import app
from web.fakes.wecom import FakeWecom


async def _seed(url: str) -> None:
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(SQLModel.metadata.create_all)
    async with create_sessionmaker(engine)() as session:
        session.add_all([Person(name="王伟", phone="+8613904830001", role=Role.LEAD),
                         Person(name="李娜", phone="+8613904830002", role=Role.LEADER)])  # fmt: skip
        await session.commit()
    await engine.dispose()


async def _people(url: str) -> dict[str, Person]:
    engine = create_engine(url)
    async with create_sessionmaker(engine)() as session:
        people = {p.name: p for p in (await session.exec(select(Person))).all()}
    await engine.dispose()
    return people


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'guatu.db'}"
    asyncio.run(_seed(url))
    return url


def _wecom_env(fake: FakeWecom, url: str, redis_url: str) -> dict[str, Any]:
    return {"DATABASE_URL": url, "REDIS_URL": redis_url, "WECOM_CORP_ID": fake.corp_id,
            "WECOM_AGENT_ID": str(fake.agent_id), "WECOM_SECRET": fake.secret, "WECOM_TOKEN": fake.token,
            "WECOM_AES_KEY": fake.aes_key, "WECOM_API_BASE": fake.api_base}  # fmt: skip


async def test_wecom_sync_binds_by_mobile(
    fake_wecom: FakeWecom, tmp_path: Path, redis_url: str, redis: Any
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'guatu.db'}"
    await _seed(url)
    fake_wecom.add_member("13904830001", "wangwei")
    env = _wecom_env(fake_wecom, url, redis_url)
    # The command runs its own event loop, in a thread; the fake answers on this one.
    result = await asyncio.to_thread(CliRunner().invoke, app, ["wecom", "sync", "--json"], env=env)
    assert result.exit_code == 0, result.output
    assert '"bound": 1' in result.output and '"no_user": 1' in result.output
    people = await _people(url)
    assert (people["王伟"].wecom_userid, people["王伟"].wecom_state) == ("wangwei", WecomState.BOUND)
    assert people["李娜"].wecom_state == WecomState.NO_USER
    status = await asyncio.to_thread(CliRunner().invoke, app, ["wecom", "status"], env=env)
    assert status.exit_code == 0 and '"bound": 1' in status.output and "企业微信:开启" in status.output


def test_wecom_off_is_said_in_one_line(db: str) -> None:
    result = CliRunner().invoke(app, ["wecom", "sync"], env={"DATABASE_URL": db, "WECOM_CORP_ID": ""})
    assert result.exit_code != 0
    message = str(result.exception)
    assert "WECOM_CORP_ID" in message and "\n" not in message and "off" in message


def test_partial_wecom_settings_are_refused(db: str) -> None:
    result = CliRunner().invoke(app, ["wecom", "status"], env={"DATABASE_URL": db, "WECOM_CORP_ID": "ww1"})
    assert result.exit_code != 0 and "WECOM_SECRET" in str(result.exception)


def test_channels_shows_and_sets_a_persons_order(db: str) -> None:
    env = {"DATABASE_URL": db, "CHANNEL_ORDER": "telegram,wecom,sms"}
    shown = CliRunner().invoke(app, ["channels", "13904830001"], env=env)
    assert shown.exit_code == 0 and "王伟: telegram,wecom,sms (CHANNEL_ORDER)" in shown.output
    set_ = CliRunner().invoke(app, ["channels", "13904830001", "wecom, SMS"], env=env)
    assert set_.exit_code == 0 and "王伟: wecom,sms" in set_.output
    assert asyncio.run(_people(db))["王伟"].channels == "wecom,sms"
    reset = CliRunner().invoke(app, ["channels", "13904830001", "default"], env=env)
    assert reset.exit_code == 0 and asyncio.run(_people(db))["王伟"].channels is None


@pytest.mark.parametrize(("phone", "order", "says"), [("13904830001", "wecom,fax", "wecom,sms"),
                                                      ("13904839999", "sms", "+8613904839999"),
                                                      ("12", "sms", "12")])  # fmt: skip
def test_channels_refuses_bad_input_and_changes_nothing(db: str, phone: str, order: str, says: str) -> None:
    result = CliRunner().invoke(app, ["channels", phone, order], env={"DATABASE_URL": db})
    assert result.exit_code != 0 and says in str(result.exception)
    assert all(p.channels is None for p in asyncio.run(_people(db)).values())
