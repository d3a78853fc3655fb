"""The weekly round: prompts once per project, a reminder once, the deadline round by SMS and to contacts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from arq.connections import ArqRedis, RedisSettings, create_pool
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Campaign, CampaignKind, Channel, Delivery, Person, Stage, WeekPrompt
from notifier.core.chat import RecordingChatSender
from notifier.core.settings import Settings
from notifier.reporting.prompts import deadline_round, remind_leads, send_weekly_prompts
from notifier.reporting.reports import submit_report
from tests.notifier.bot_world import World, make_world

WEEK = "2026-W48"
NOW = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)


@pytest.fixture
async def pool(redis: Any, redis_url: str) -> AsyncIterator[ArqRedis]:
    arq_pool = await create_pool(RedisSettings.from_dsn(redis_url))
    yield arq_pool
    await arq_pool.aclose()


async def _bind(session: AsyncSession, world: World) -> None:
    world.lead.telegram_id = 111
    world.contact.telegram_id = 333
    session.add_all([world.lead, world.contact])
    await session.commit()


async def test_prompt_once_per_project(session: AsyncSession, settings: Settings) -> None:
    world = await make_world(session)
    await _bind(session, world)
    chat = RecordingChatSender()
    first = await send_weekly_prompts(session, settings=settings, chat=chat, week=WEEK, now=NOW)
    assert (first.chat, first.no_chat) == (2, 1)  # 李娜 has not bound Telegram
    assert [m.text for m in chat.sent] == [
        "王伟您好!请报送项目<b>光伏电站</b>(P001)2026-W48周的进展,截止时间11-28 12:00。",
        "王伟您好!请报送项目<b>供水管网</b>(P002)2026-W48周的进展,截止时间11-28 12:00。",
    ]
    assert chat.sent[0].buttons == [[("填报本周进展", f"rep:{world.projects[0].id}:{WEEK}")]]
    again = await send_weekly_prompts(session, settings=settings, chat=chat, week=WEEK, now=NOW)
    assert again.skipped == 3 and len(chat.sent) == 2
    assert len((await session.exec(select(WeekPrompt))).all()) == 3


async def test_blocked_lead_is_marked(session: AsyncSession, settings: Settings) -> None:
    world = await make_world(session)
    await _bind(session, world)
    chat = RecordingChatSender(blocked={111})
    result = await send_weekly_prompts(session, settings=settings, chat=chat, week=WEEK, now=NOW)
    assert result.blocked == 2 and chat.sent == []
    lead = await session.get(Person, world.lead.id, populate_existing=True)
    assert lead is not None and lead.telegram_blocked


async def test_reminder_only_to_missing_and_once(session: AsyncSession, settings: Settings) -> None:
    world = await make_world(session)
    await _bind(session, world)
    chat = RecordingChatSender()
    await send_weekly_prompts(session, settings=settings, chat=chat, week=WEEK, now=NOW)
    assert world.projects[0].id and world.lead.id
    await submit_report(session, settings=settings, project_id=world.projects[0].id, reporter_id=world.lead.id,
                        week=WEEK, stage=Stage.NEW, investment=Decimal("1000000"), procedure_item_ids=[],
                        blockers=None, channel=Channel.TELEGRAM, now=NOW)  # fmt: skip
    chat.sent.clear()
    result = await remind_leads(session, settings=settings, chat=chat, week=WEEK, now=NOW)
    assert (result.chat, result.no_chat) == (1, 1)
    assert [m.text for m in chat.sent] == [
        "提醒:项目<b>供水管网</b>(P002)2026-W48周进展尚未报送,截止时间11-28 12:00,请尽快填报。"
    ]
    again = await remind_leads(session, settings=settings, chat=chat, week=WEEK, now=NOW)
    assert again.skipped == 2 and len(chat.sent) == 1


async def test_deadline_round_sms_and_contact(
    session: AsyncSession, settings: Settings, pool: ArqRedis
) -> None:
    world = await make_world(session)
    await _bind(session, world)
    chat = RecordingChatSender()
    await send_weekly_prompts(session, settings=settings, chat=chat, week=WEEK, now=NOW)
    chat.sent.clear()
    result = await deadline_round(session, pool, settings=settings, chat=chat, week=WEEK)
    assert len(result.sms_campaigns) == 1 and result.chat == 1
    assert [m.text for m in chat.sent] == [
        "2026-W48周进展截止时仍有3个项目未报送:光伏电站(王伟)、供水管网(王伟)、道路改造(李娜)。"
    ]
    campaign = (await session.exec(select(Campaign))).one()
    assert campaign.kind == CampaignKind.REMINDER and campaign.dedupe_key == f"deadline-leads:{WEEK}"
    bodies = sorted(
        (await session.exec(select(Delivery.body).where(col(Delivery.campaign_id) == campaign.id))).all()
    )
    assert any("光伏电站、供水管网" in body for body in bodies) and any("道路改造" in body for body in bodies)
    again = await deadline_round(session, pool, settings=settings, chat=RecordingChatSender(), week=WEEK)
    assert again.sms_campaigns == result.sms_campaigns
    assert len((await session.exec(select(Campaign))).all()) == 1
