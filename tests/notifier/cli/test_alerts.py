"""`guatu overdue`, `guatu alerts send` and `guatu calendar` through the real CLI."""

from __future__ import annotations

import asyncio
import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlmodel import SQLModel, func, select
from typer.testing import CliRunner

from models import AlertRecord, Milestone, Person, Project, Role, Stage, Unit, UnitKind
from models.db import create_engine, create_sessionmaker
from notifier.cli import app
from notifier.core.errors import GuatuError


async def _seed(url: str) -> None:
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(SQLModel.metadata.create_all)
    async with create_sessionmaker(engine)() as session:
        unit = Unit(code="ALYQ", name="阿拉善右旗", kind=UnitKind.BANNER)
        lead = Person(name="负责人", phone="+8613904830021", role=Role.LEAD)
        session.add_all([unit, lead])
        await session.flush()
        project = Project(code="P7", name="公路项目", unit_id=unit.id or 0, year=2026, stage=Stage.CONTINUING,
                          annual_plan=Decimal("100"), ytd_base=Decimal("100"), actual_start=date(2025, 4, 1),
                          lead_id=lead.id)  # fmt: skip
        session.add(project)
        await session.flush()
        session.add(Milestone(project_id=project.id or 0, title="路基完工", due_date=date(2026, 11, 20)))
        await session.commit()
    await engine.dispose()


async def _records(url: str) -> int:
    engine = create_engine(url)
    async with create_sessionmaker(engine)() as session:
        count = (await session.exec(select(func.count()).select_from(AlertRecord))).one()
    await engine.dispose()
    return int(count)


@pytest.fixture
def env(tmp_path: Path, redis_url: str) -> dict[str, str]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'guatu.db'}"
    asyncio.run(_seed(url))
    return {"DATABASE_URL": url, "REDIS_URL": redis_url, "SMS_BACKEND": "file", "QUIET_HOURS": ""}


def test_overdue_lists_alerts_as_json_and_sends_nothing(env: dict[str, str]) -> None:
    result = CliRunner().invoke(app, ["overdue", "--as-of", "2026-11-24", "--json"], env=env)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output.strip().splitlines()[-1])
    assert data["as_of"] == "2026-11-24"
    assert [(a["kind"], a["project"], a["sent"]) for a in data["alerts"]] == [("milestone", "P7", False)]
    assert "路基完工" in data["alerts"][0]["reason"]
    assert asyncio.run(_records(env["DATABASE_URL"])) == 0


def test_alerts_send_then_overdue_shows_it_sent(env: dict[str, str], redis: object) -> None:
    runner = CliRunner()
    first = runner.invoke(app, ["alerts", "send", "--as-of", "2026-11-24", "--json"], env=env)
    again = runner.invoke(app, ["alerts", "send", "--as-of", "2026-11-24", "--json"], env=env)
    assert first.exit_code == 0 and again.exit_code == 0, first.output + again.output
    assert len(json.loads(first.output.strip().splitlines()[-1])["raised"]) == 1
    assert json.loads(again.output.strip().splitlines()[-1])["already_sent"] == 1
    listed = runner.invoke(app, ["overdue", "--as-of", "2026-11-24"], env=env)
    assert "节点逾期" in listed.output and "是" in listed.output
    assert asyncio.run(_records(env["DATABASE_URL"])) == 1


def test_overdue_bad_date_is_refused(env: dict[str, str]) -> None:
    result = CliRunner().invoke(app, ["overdue", "--as-of", "2026-13-01"], env=env)
    assert result.exit_code != 0
    assert isinstance(result.exception, GuatuError) and "YYYY-MM-DD" in str(result.exception)


def test_calendar_prints_next_runs(env: dict[str, str]) -> None:
    result = CliRunner().invoke(app, ["calendar", "--after", "2026-11-24T10:00", "--json"], env=env)
    assert result.exit_code == 0, result.output
    runs = json.loads(result.output.strip().splitlines()[-1])
    assert runs[0] == {"job": "alerts", "at": "2026-11-25T09:30:00+08:00", "period": "2026-11-25"}
    assert {r["job"] for r in runs} >= {"prompt", "reminder", "deadline", "weekly_bulletin", "monthly_report"}


def test_calendar_bad_time_is_refused(env: dict[str, str]) -> None:
    result = CliRunner().invoke(app, ["calendar", "--after", "next thursday"], env=env)
    assert isinstance(result.exception, GuatuError) and "YYYY-MM-DDTHH:MM" in str(result.exception)
