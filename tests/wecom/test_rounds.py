"""The weekly round through the channel order: leads and contacts known only by their number are
reached in WeCom (bound on first contact), those without a WeCom member get the SMS link, and an
access token that expires between the prompt and the reminder loses no message."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from arq.connections import ArqRedis, RedisSettings, create_pool
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Campaign, Person, WecomState
from models.db import SessionMaker
from notifier.channels.router import ChannelChat
from notifier.core.chat import RecordingChatSender
from notifier.core.settings import Settings
from notifier.reporting.prompts import deadline_round, remind_leads, send_weekly_prompts
from tests.notifier.bot_world import make_world
from web.fakes.wecom import FakeWecom
from wecom.channel import WecomChannel
from wecom.client import WecomClient

WEEK = "2026-W48"
NOW = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)


@pytest.fixture
def wecom_settings(fake_wecom: FakeWecom, db_url: str, redis_url: str, tmp_path: Path) -> Settings:
    return fake_wecom.settings(database_url=db_url, redis_url=redis_url, sms_backend="file", quiet_hours="",
                               sms_file_path=tmp_path / "sms.jsonl", secret_key="test-secret-key-not-for-production")  # fmt: skip


@pytest.fixture
async def pool(redis: Any, redis_url: str) -> AsyncIterator[ArqRedis]:
    arq_pool = await create_pool(RedisSettings.from_dsn(redis_url))
    yield arq_pool
    await arq_pool.aclose()


@pytest.fixture
async def chat(
    wecom_settings: Settings, pool: ArqRedis, sessionmaker: SessionMaker
) -> AsyncIterator[ChannelChat]:
    wecom = WecomChannel(WecomClient(wecom_settings, pool, backoff_seconds=0.01))
    yield ChannelChat(
        telegram=RecordingChatSender(), wecom=wecom, sessionmaker=sessionmaker, settings=wecom_settings
    )
    await wecom.aclose()


async def test_prompt_reminder_and_deadline_reach_people_in_wecom(
    session: AsyncSession, wecom_settings: Settings, fake_wecom: FakeWecom, chat: ChannelChat, pool: ArqRedis,
) -> None:  # fmt: skip
    world = await make_world(session)
    fake_wecom.add_member("13904830001", "wx-lead")  # 王伟, two projects
    fake_wecom.add_member("13904830003", "wx-contact")  # the department contact
    # 李娜 (+8613904830002) has no WeCom member: her prompt goes by SMS with a form link.
    prompted = await send_weekly_prompts(session, settings=wecom_settings, chat=chat, week=WEEK, now=NOW,
                                         redis=pool)  # fmt: skip
    assert (prompted.chat, prompted.no_chat, len(prompted.sms_campaigns)) == (2, 1, 1)
    prompts = [m for m in fake_wecom.to("wx-lead") if m.buttons]
    assert [m.buttons[0][1] for m in prompts] == [f"rep:{p.id}:{WEEK}" for p in world.projects[:2]]
    assert "王伟您好" in prompts[0].text or "王伟您好" in fake_wecom.to("wx-lead")[0].text

    fake_wecom.expire_tokens()  # two hours later: the token has run out
    reminded = await remind_leads(session, settings=wecom_settings, chat=chat, week=WEEK, now=NOW, redis=pool)
    assert (reminded.chat, reminded.no_chat) == (2, 1)
    reminders = [m for m in fake_wecom.to("wx-lead") if m.buttons][2:]
    assert [m.buttons[0][1] for m in reminders] == [f"rep:{p.id}:{WEEK}" for p in world.projects[:2]]
    assert fake_wecom.refused[42001] >= 1 and fake_wecom.gettoken_calls == 2

    result = await deadline_round(session, pool, settings=wecom_settings, chat=chat, week=WEEK)
    assert result.chat == 1  # the contact, in WeCom
    [notice] = fake_wecom.to("wx-contact")
    assert notice.text.startswith("2026-W48周进展截止时仍有3个项目未报送")
    people = {
        p.name: p
        for p in (await session.exec(select(Person).execution_options(populate_existing=True))).all()
    }
    assert (people["王伟"].wecom_userid, people["王伟"].wecom_state) == ("wx-lead", WecomState.BOUND)
    assert people["李娜"].wecom_state == WecomState.NO_USER
    assert fake_wecom.lookup_misses == 1  # a miss is looked up once, not on every round
    assert len((await session.exec(select(Campaign))).all()) == 3  # prompt, reminder and deadline SMS
