"""Admin commands: each one for an admin, and refused (audit-logged, nothing created) for anyone else."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
from arq.connections import ArqRedis, RedisSettings, create_pool
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import AuditLog, Bulletin, Campaign, CampaignKind, Invite
from models.db import SessionMaker
from notifier.core.metrics import bot_updates
from notifier.core.settings import Settings
from tests.bot.harness import harness, keyboard
from tests.notifier.bot_world import make_world

ADMIN, LEAD, BY_ID = 900, 111, 901


async def _setup(session: AsyncSession, settings: Settings, sessionmaker: SessionMaker) -> None:
    world = await make_world(session)
    world.admin.telegram_id = ADMIN
    world.lead.telegram_id = LEAD
    session.add_all([world.admin, world.lead])
    session.add(Campaign(id=7, kind=CampaignKind.BROADCAST, title="防汛通知", text="x", audience="all-leads",
                         recipients=2, estimated_cost=Decimal("0.1")))  # fmt: skip
    await session.commit()


async def test_invite(session: AsyncSession, settings: Settings, sessionmaker: SessionMaker) -> None:
    await _setup(session, settings, sessionmaker)
    h = harness(settings, sessionmaker)
    [answer] = h.texts(await h.text(ADMIN, "/invite 13904830002"))
    assert answer.startswith("李娜的邀请链接(7天内有效,只能使用一次):\nhttps://t.me/")
    assert len((await session.exec(select(Invite))).all()) == 1
    assert h.texts(await h.text(ADMIN, "/invite")) == ["用法:/invite 手机号"]


async def test_admin_by_telegram_id_setting(
    session: AsyncSession, settings: Settings, sessionmaker: SessionMaker
) -> None:
    await _setup(session, settings, sessionmaker)
    h = harness(settings.model_copy(update={"telegram_admin_ids": [BY_ID]}), sessionmaker)
    assert h.texts(await h.text(BY_ID, "/campaign 7")) == ["群发任务7“防汛通知”:draft,收件人2\n—"]


async def test_campaign_and_overdue(
    session: AsyncSession, settings: Settings, sessionmaker: SessionMaker
) -> None:
    await _setup(session, settings, sessionmaker)
    h = harness(settings, sessionmaker)
    assert h.texts(await h.text(ADMIN, "/campaign 7")) == ["群发任务7“防汛通知”:draft,收件人2\n—"]
    assert h.texts(await h.text(ADMIN, "/campaign x")) == ["用法:/campaign 编号"]
    assert h.texts(await h.text(ADMIN, "/overdue")) == ["截至2026-11-26没有预警。"]


@pytest.fixture
async def pool(redis: Any, redis_url: str) -> AsyncIterator[ArqRedis]:
    arq_pool = await create_pool(RedisSettings.from_dsn(redis_url))
    yield arq_pool
    await arq_pool.aclose()


async def test_broadcast_preview_confirm_queue(
    session: AsyncSession, settings: Settings, sessionmaker: SessionMaker, pool: ArqRedis
) -> None:
    await _setup(session, settings, sessionmaker)
    h = harness(settings, sessionmaker, arq=pool)
    assert h.texts(await h.text(ADMIN, "/broadcast")) == ["用法:/broadcast 短信内容"]
    sent = await h.text(ADMIN, "/broadcast 明天上午停水,请相互转告")
    assert h.texts(sent) == ["发给谁?"]
    assert keyboard(sent[-1]) == [[("全部项目负责人", "aud:all-leads")], [("全部领导", "aud:all-leaders")]]
    assert h.texts(await h.text(ADMIN, "全部")) == ["请点击上方消息中的按钮继续。"]
    [preview] = h.texts(await h.tap(ADMIN, "aud:all-leads"))
    assert preview.startswith("预览:收件人2人,跳过:无,共2条计费短信,预计费用")
    assert "明天上午停水,请相互转告" in preview
    assert len((await session.exec(select(Campaign))).all()) == 1  # a preview creates nothing
    [queued] = h.texts(await h.tap(ADMIN, "acf:broadcast:1"))
    campaigns = (await session.exec(select(Campaign).where(Campaign.kind == CampaignKind.BROADCAST,
                                                           Campaign.id != 7))).all()  # fmt: skip
    assert len(campaigns) == 1 and campaigns[0].state == "queued" and campaigns[0].recipients == 2
    assert (
        queued
        == f"群发任务{campaigns[0].id}已排队发送,收件人2人。发送 /campaign {campaigns[0].id} 查看进度。"
    )
    # A double tap: the stale answer, no second campaign.
    assert h.alerts(await h.tap(ADMIN, "acf:broadcast:1")) == ["这个按钮已失效(报送已处理或已过期)。"]
    assert len((await session.exec(select(Campaign))).all()) == 2
    assert await bot_updates(pool) == 6  # every update counted for /metrics (3 messages, 3 taps)


async def test_bulletin_preview_then_draft(
    session: AsyncSession, settings: Settings, sessionmaker: SessionMaker
) -> None:
    await _setup(session, settings, sessionmaker)
    h = harness(settings, sessionmaker)
    sent = await h.text(ADMIN, "/bulletin")
    [preview] = h.texts(sent)
    assert preview.startswith("本周通报预览:\n") and "重点项目周通报" in preview
    assert keyboard(sent[-1]) == [[("确认发送", "acf:bulletin:1"), ("取消", "acf:bulletin:0")]]
    assert (await session.exec(select(Bulletin))).all() == []
    [drafted] = h.texts(await h.tap(ADMIN, "acf:bulletin:1"))
    bulletin = (await session.exec(select(Bulletin))).one()
    assert drafted == f"通报草稿 #{bulletin.id} 已提交(状态:{bulletin.state}),审核通过后按时发送。"


@pytest.mark.parametrize(
    "command", ["/bulletin", "/broadcast 明天停水", "/overdue", "/invite 13904830002", "/campaign 7"]
)
async def test_non_admin_refused_and_logged(
    session: AsyncSession, settings: Settings, sessionmaker: SessionMaker, command: str
) -> None:
    await _setup(session, settings, sessionmaker)
    h = harness(settings, sessionmaker)
    assert h.texts(await h.text(LEAD, command)) == ["您没有权限使用此命令。"]
    audit = (await session.exec(select(AuditLog))).one()
    assert audit.allowed is False and audit.actor_telegram_id == LEAD
    assert audit.action == "bot." + command.split()[0].lstrip("/")
    assert (await session.exec(select(Invite))).all() == []
    assert len((await session.exec(select(Campaign))).all()) == 1
    assert (await session.exec(select(Bulletin))).all() == []
