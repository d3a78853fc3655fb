"""`guatu round now` (this week's prompts now, nobody twice) and `guatu round test PHONE`."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import date, timedelta
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from typer.testing import CliRunner

from models import Campaign, Delivery, WeekPrompt
from notifier.core.errors import GuatuError
from notifier.core.settings import Settings
from tests.notifier.bot_world import World, make_world

NEXT_WEEK = (date.today() + timedelta(days=7)).isoformat()  # a week whose deadline is still ahead


def _env(settings: Settings) -> dict[str, str | None]:
    return {"DATABASE_URL": settings.database_url, "REDIS_URL": settings.redis_url or "", "SMS_BACKEND": "file",
            "SMS_FILE_PATH": str(settings.sms_file_path), "QUIET_HOURS": "", "GUATU_LANGUAGE": "zh",
            "TELEGRAM_BOT_TOKEN": None, "SECRET_KEY": "test-secret-key-not-for-production"}  # fmt: skip


async def _guatu(settings: Settings, *args: str, input: str | None = None) -> Any:
    """The real CLI, in a thread: it runs its own event loop."""
    from notifier.cli import app

    return await asyncio.to_thread(CliRunner().invoke, app, list(args), env=_env(settings), input=input)


async def _world(session: AsyncSession) -> World:
    world = await make_world(session)
    world.lead.telegram_id = 111  # 王伟 in Telegram (two projects); 李娜 by SMS only
    session.add(world.lead)
    await session.commit()
    return world


async def _count(session: AsyncSession, model: Any) -> int:
    session.expire_all()
    return len((await session.exec(select(model))).all())


async def test_round_now_twice_prompts_nobody_twice(
    session: AsyncSession, settings: Settings, redis: Any
) -> None:
    await _world(session)
    first = await _guatu(settings, "round", "now", "--as-of", NEXT_WEEK, "--yes", "--json")
    assert first.exit_code == 0, first.output
    data = json.loads(first.output.splitlines()[-1])
    assert (data["telegram"], data["sms"], data["already"]) == (2, 1, 0)
    assert len(data["sms_campaigns"]) == 1
    assert await _count(session, WeekPrompt) == 3
    again = await _guatu(settings, "round", "now", "--as-of", NEXT_WEEK, "--yes", "--json")
    assert again.exit_code == 0, again.output
    assert json.loads(again.output.splitlines()[-1]) == {"week": data["week"], "prompted": 0, "already": 3}
    assert await _count(session, WeekPrompt) == 3
    assert await _count(session, Campaign) == 1  # the SMS to the lead outside Telegram went once


async def test_round_now_previews_and_a_no_sends_nothing(
    session: AsyncSession, settings: Settings, redis: Any
) -> None:
    await _world(session)
    result = await _guatu(settings, "round", "now", "--as-of", NEXT_WEEK, input="n\n")
    assert result.exit_code == 1
    assert "将提醒 3 个项目 —— Telegram 2 个,短信表单链接 1 个,无法联系 0 个" in result.output.replace(
        "\n", ""
    )
    assert await _count(session, WeekPrompt) == 0 and await _count(session, Campaign) == 0


async def test_round_now_after_the_deadline_is_refused(
    session: AsyncSession, settings: Settings, redis: Any
) -> None:
    await _world(session)
    result = await _guatu(settings, "round", "now", "--as-of", "2026-01-07", "--yes")
    assert isinstance(result.exception, GuatuError) and "已于" in str(result.exception)
    assert await _count(session, WeekPrompt) == 0


async def test_round_test_goes_to_the_given_number_only(
    session: AsyncSession, settings: Settings, redis: Any
) -> None:
    await _world(session)
    result = await _guatu(settings, "round", "test", "13904830009", "--as-of", NEXT_WEEK, "--yes", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output.splitlines()[-1])
    assert data["phone"] == "+8613904830009" and data["text"].startswith("请于")
    [delivery] = (
        await session.exec(select(Delivery).where(col(Delivery.campaign_id) == data["campaign_id"]))
    ).all()
    assert delivery.phone == "+8613904830009" and "光伏电站" in delivery.body
    assert await _count(session, WeekPrompt) == 0  # a test prompts no project
    # A lead testing with their own number sees their own projects' form links.
    own = await _guatu(settings, "round", "test", "13904830001", "--as-of", NEXT_WEEK, "--yes", "--json")
    text = json.loads(own.output.splitlines()[-1])["text"]
    assert "光伏电站 /r/" in text and "供水管网 /r/" in text and "道路改造" not in text


async def test_round_test_malformed_number_sends_nothing(
    session: AsyncSession, settings: Settings, redis: Any
) -> None:
    await _world(session)
    result = await _guatu(settings, "round", "test", "12345", "--yes")
    assert isinstance(result.exception, GuatuError) and "12345" in str(result.exception)
    assert await _count(session, Campaign) == 0


async def test_projects_added_after_round_now_get_the_calendars_sms(
    session: AsyncSession, settings: Settings, redis: Any, redis_url: str
) -> None:
    """Round now on Tuesday, a project imported on Wednesday, the calendar's round on Thursday: the
    new project's lead (not in Telegram) still gets the SMS with the form link."""
    from arq.connections import RedisSettings, create_pool

    from models import Person, Project, Role, Stage
    from models.base import utcnow
    from notifier.core.chat import RecordingChatSender
    from notifier.reporting.prompts import send_weekly_prompts

    world = await _world(session)
    first = await _guatu(settings, "round", "now", "--as-of", NEXT_WEEK, "--yes", "--json")
    week = json.loads(first.output.splitlines()[-1])["week"]
    newcomer = Person(name="赵敏", phone="+8613904830005", role=Role.LEAD, unit_id=world.unit.id)
    session.add(newcomer)
    await session.flush()
    session.add(Project(code="P004", name="污水处理厂", unit_id=world.unit.id or 0, year=2026, stage=Stage.NEW,
                        lead_id=newcomer.id))  # fmt: skip
    await session.commit()
    pool = await create_pool(RedisSettings.from_dsn(redis_url))
    try:
        result = await send_weekly_prompts(session, settings=settings, chat=RecordingChatSender(), week=week,
                                           now=utcnow(), redis=pool)  # fmt: skip
    finally:
        await pool.aclose()
    assert (result.no_chat, result.skipped, len(result.sms_campaigns)) == (1, 3, 1)
    [body] = (await session.exec(select(Delivery.body).where(Delivery.phone == "+8613904830005"))).all()
    assert "污水处理厂 /r/" in body
    assert await _count(session, Campaign) == 2


async def test_round_now_speaks_english_in_english_mode(
    session: AsyncSession, settings: Settings, redis: Any
) -> None:
    await _world(session)
    from notifier.cli import app

    env = {**_env(settings), "GUATU_LANGUAGE": "en"}
    result = await asyncio.to_thread(
        CliRunner().invoke, app, ["round", "now", "--as-of", NEXT_WEEK, "--yes"], env=env
    )
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "3 projects to prompt — 2 in Telegram, 1 by SMS with form links" in text
    assert "prompt sent: Telegram 2, SMS 1" in text
    assert not re.search(r"[\u4e00-\u9fff]", result.output)


async def test_json_without_yes_is_refused(session: AsyncSession, settings: Settings, redis: Any) -> None:
    await _world(session)
    for args in (["round", "now", "--json"], ["round", "test", "13904830009", "--json"]):
        result = await _guatu(settings, *args)
        assert isinstance(result.exception, GuatuError) and "--yes" in str(result.exception)
    assert await _count(session, WeekPrompt) == 0 and await _count(session, Campaign) == 0
