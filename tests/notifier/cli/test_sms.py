"""`guatu sms segments`, `guatu broadcast` and `guatu campaign ...` through the real CLI."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import SQLModel, func, select
from typer.testing import CliRunner

from models import Campaign, Delivery, Person, Role
from models.db import create_engine, create_sessionmaker
from notifier.cli import app
from notifier.core.errors import GuatuError


async def _seed(url: str) -> None:
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(SQLModel.metadata.create_all)
    async with create_sessionmaker(engine)() as session:
        session.add_all([
            Person(name="王盟长", phone="+8613904830001", role=Role.LEADER),
            Person(name="李旗长", phone="+8613904830002", role=Role.LEADER),
            Person(name="退订者", phone="+8613904830003", role=Role.LEADER, opted_out=True),
        ])  # fmt: skip
        await session.commit()
    await engine.dispose()


async def _counts(url: str) -> tuple[int, int]:
    engine = create_engine(url)
    async with create_sessionmaker(engine)() as session:
        campaigns = (await session.exec(select(func.count()).select_from(Campaign))).one()
        deliveries = (await session.exec(select(func.count()).select_from(Delivery))).one()
    await engine.dispose()
    return int(campaigns), int(deliveries)


@pytest.fixture
def env(tmp_path: Path, redis_url: str, redis: object) -> dict[str, str]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'guatu.db'}"
    asyncio.run(_seed(url))
    return {"DATABASE_URL": url, "REDIS_URL": redis_url, "SMS_BACKEND": "file", "QUIET_HOURS": "",
            "SMS_FILE_PATH": str(tmp_path / "sms.jsonl")}  # fmt: skip


def _last_json(output: str) -> Any:
    return json.loads(output.strip().splitlines()[-1])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hello", {"encoding": "GSM-7", "characters": 5, "segments": 1, "per_segment": 160}),
        ("€" * 81, {"encoding": "GSM-7", "characters": 81, "segments": 2, "per_segment": 153}),
        ("中" * 71, {"encoding": "UCS-2", "characters": 71, "segments": 2, "per_segment": 67}),
        ("【阿拉善盟发改委】周报", {"encoding": "UCS-2", "characters": 11, "segments": 1, "per_segment": 70}),
    ],
)
def test_sms_segments_json(text: str, expected: dict[str, object]) -> None:
    result = CliRunner().invoke(app, ["sms", "segments", text, "--json"])
    assert result.exit_code == 0, result.output
    assert _last_json(result.output) == expected


def test_dry_run_previews_and_stores_nothing(env: dict[str, str]) -> None:
    result = CliRunner().invoke(
        app, ["broadcast", "--audience", "all-leaders", "--text", "{name}您好,请报送进展。", "--dry-run", "--json"],
        env=env,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "收件人 2 人" in result.output and "已退订 1" in result.output
    data = _last_json(result.output)
    assert (data["dry_run"], data["recipients"], data["skipped"]) == (True, 2, {"opted_out": 1})
    assert data["samples"][0]["body"] == "【阿拉善盟发改委】王盟长您好,请报送进展。"
    assert data["estimated_cost"] == "0.10"
    assert asyncio.run(_counts(env["DATABASE_URL"])) == (0, 0)


def test_broadcast_queues_then_status_pause_cancel(env: dict[str, str]) -> None:
    runner = CliRunner()
    sent = runner.invoke(app, ["broadcast", "--audience", "all-leaders", "--text", "通知", "--json"], env=env)
    assert sent.exit_code == 0, sent.output
    campaign_id = _last_json(sent.output)["campaign_id"]
    status = runner.invoke(app, ["campaign", "status", str(campaign_id), "--json"], env=env)
    data = _last_json(status.output)
    assert (data["state"], data["counts"]["pending"], data["counts"]["skipped"]) == ("queued", 2, 1)
    assert runner.invoke(app, ["campaign", "pause", str(campaign_id)], env=env).exit_code == 0
    assert runner.invoke(app, ["campaign", "cancel", str(campaign_id)], env=env).exit_code == 0
    final = _last_json(runner.invoke(app, ["campaign", "status", str(campaign_id), "--json"], env=env).output)
    assert (final["state"], final["counts"]["pending"], final["counts"]["skipped"]) == ("cancelled", 0, 3)
    again = runner.invoke(app, ["campaign", "resume", str(campaign_id)], env=env)
    assert isinstance(again.exception, GuatuError) and "已暂停" in str(again.exception)
    log = runner.invoke(app, ["campaign", "status", str(campaign_id), "--recipients", "--json"], env=env)
    listed = _last_json(log.output)
    assert listed["total"] == 3 and {r["state"] for r in listed["recipients"]} == {"skipped"}
    assert {r["skip_reason"] for r in listed["recipients"]} == {"cancelled", "opted_out"}
    table = runner.invoke(app, ["campaign", "status", str(campaign_id), "--recipients", "--state", "skipped"],
                          env=env)  # fmt: skip
    assert table.exit_code == 0 and "逐条记录" in table.output and "+86" in table.output
    wrong = runner.invoke(
        app, ["campaign", "status", str(campaign_id), "--recipients", "--state", "lost"], env=env
    )
    assert wrong.exit_code == 2 and "未知的状态" in wrong.output


@pytest.mark.parametrize(
    ("audience", "text", "message"),
    [
        ("everyone", "通知", "无法识别的受众"),
        ("unit:NOPE", "通知", "NOPE"),
        ("all-leaders", "{who}您好", "未知占位符"),
    ],
)
def test_bad_broadcast_is_refused_and_creates_nothing(
    env: dict[str, str], audience: str, text: str, message: str
) -> None:
    result = CliRunner().invoke(app, ["broadcast", "--audience", audience, "--text", text, "--json"], env=env)
    assert isinstance(result.exception, GuatuError) and message in str(result.exception)
    assert asyncio.run(_counts(env["DATABASE_URL"])) == (0, 0)


def test_unknown_campaign_is_a_clear_error(env: dict[str, str]) -> None:
    result = CliRunner().invoke(app, ["campaign", "status", "999"], env=env)
    assert isinstance(result.exception, GuatuError) and "999" in str(result.exception)


def test_template_registry_from_the_shell(env: dict[str, str]) -> None:
    runner = CliRunner()
    added = runner.invoke(
        app, ["sms", "template", "add", "MEET01", "请{name}于{time}参加重点项目调度会。"], env=env
    )
    assert added.exit_code == 0 and "MEET01" in added.output
    broken = runner.invoke(app, ["sms", "template", "add", "MEET02", "请{name参加"], env=env)
    assert isinstance(broken.exception, GuatuError) and "花括号" in str(broken.exception)
    listed = runner.invoke(app, ["sms", "template", "list", "--json"], env=env)
    assert _last_json(listed.output) == {"registry_on": False,
                                         "templates": [{"code": "MEET01", "body": "请{name}于{time}参加重点项目调度会。"}]}  # fmt: skip
    check = runner.invoke(
        app,
        ["sms", "template", "check", "【阿拉善盟发改委】请王盟长于周五参加重点项目调度会。", "--json"],
        env=env,
    )
    assert check.exit_code == 0 and _last_json(check.output) == {"template": "MEET01"}
    assert runner.invoke(app, ["sms", "template", "check", "开会", "--json"], env=env).exit_code == 1
    on = {**env, "SMS_TEMPLATE_REGISTRY": "true"}
    refused = runner.invoke(
        app, ["broadcast", "--audience", "all-leaders", "--text", "今天开会。", "--yes"], env=on
    )
    assert isinstance(refused.exception, GuatuError) and "已报备的模板" in str(refused.exception)
    assert asyncio.run(_counts(env["DATABASE_URL"])) == (0, 0)  # refused before anything was stored
    sent = runner.invoke(app, ["broadcast", "--audience", "all-leaders", "--text", "请{name}于周五参加重点项目调度会。",
                               "--yes", "--json"], env=on)  # fmt: skip
    assert sent.exit_code == 0, sent.output
    assert _last_json(sent.output)["recipients"] == 2
