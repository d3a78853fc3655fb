"""`guatu admin create`: an admin with an argon2 password, read from stdin."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select
from typer.testing import CliRunner

from models import Person, Role
from models.db import create_engine, create_sessionmaker
from notifier.cli import app
from web.security import verify_password


@pytest.fixture
def env(db_url: str, engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("DATABASE_URL", db_url)
    return db_url


def _people(db_url: str) -> list[Person]:
    # The command runs its own event loop, so the check reads the database from a fresh one too.
    async def read() -> list[Person]:
        engine = create_engine(db_url)
        try:
            async with create_sessionmaker(engine)() as session:
                return list((await session.exec(select(Person))).all())
        finally:
            await engine.dispose()

    return asyncio.run(read())


def test_admin_create_from_stdin(env: str) -> None:
    result = CliRunner().invoke(app, ["admin", "create", "王五", "13900000009", "--password-stdin"],
                                input="a long enough password\n")  # fmt: skip
    assert result.exit_code == 0, result.output
    [person] = _people(env)
    assert person.phone == "+8613900000009"
    assert person.role == Role.ADMIN
    assert verify_password(person.password_hash, "a long enough password")
    assert not verify_password(person.password_hash, "wrong")


@pytest.mark.parametrize(
    ("args", "password"),
    [(["王五", "13900000009"], "short\n"), (["王五", "not-a-phone"], "a long enough password\n")],
)
def test_admin_create_refuses_bad_input(env: str, args: list[str], password: str) -> None:
    result = CliRunner().invoke(app, ["admin", "create", *args, "--password-stdin"], input=password)
    assert result.exit_code != 0
    assert _people(env) == []


def test_a_second_admin_of_the_same_name_is_refused(env: str) -> None:
    runner = CliRunner()
    first = runner.invoke(app, ["admin", "create", "王五", "13900000009", "--password-stdin"],
                          input="a long enough password\n")  # fmt: skip
    assert first.exit_code == 0, first.output
    second = runner.invoke(app, ["admin", "create", "王五", "13900000008", "--password-stdin"],
                           input="a long enough password\n")  # fmt: skip
    assert second.exit_code != 0
    assert "已有名为 王五 的管理员" in str(second.exception)
    assert [p.phone for p in _people(env)] == ["+8613900000009"]


def test_admin_revoke_names_an_admin(env: str) -> None:
    runner = CliRunner()
    unknown = runner.invoke(app, ["admin", "revoke", "无此人"])
    assert unknown.exit_code != 0 and "没有名为 无此人 的管理员" in str(unknown.exception)
    runner.invoke(
        app, ["admin", "create", "王五", "13900000009", "--password-stdin"], input="a long enough password\n"
    )
    done = runner.invoke(app, ["admin", "revoke", "王五"])
    assert done.exit_code == 0 and "0 session(s) ended" in done.output
