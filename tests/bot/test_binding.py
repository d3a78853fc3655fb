"""Binding by /start with an invite token: bound, used, expired, unknown."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import AuditLog, Person
from models.db import SessionMaker
from notifier.core.settings import Settings
from notifier.reporting.invites import create_invite
from tests.bot.harness import NOW, harness
from tests.notifier.bot_world import make_world


async def test_bind_then_used(session: AsyncSession, settings: Settings, sessionmaker: SessionMaker) -> None:
    world = await make_world(session)
    assert world.lead.id
    issued = await create_invite(session, settings=settings, person_id=world.lead.id, now=NOW)
    h = harness(settings, sessionmaker)
    assert h.texts(await h.text(111, f"/start {issued.token}")) == [
        "王伟,绑定成功!今后每周的进展报送提醒将发送到这里。发送 /help 查看可用命令。"
    ]
    assert h.texts(await h.text(111, "/start")) == ["王伟,您已绑定。发送 /help 查看可用命令。"]
    assert h.texts(await h.text(555, f"/start {issued.token}")) == [
        "该邀请链接已使用过,每个链接只能使用一次。如需重新绑定,请向管理员索取新的邀请链接。"
    ]
    lead = await session.get(Person, world.lead.id, populate_existing=True)
    assert lead is not None and lead.telegram_id == 111


@pytest.mark.parametrize(
    ("case", "answer"),
    [
        ("unknown", "邀请链接无效,请向管理员索取新的邀请链接。"),
        ("expired", "该邀请链接已过期(有效期7天),请向管理员索取新的邀请链接。"),
    ],
)
async def test_refused_tokens(
    session: AsyncSession, settings: Settings, sessionmaker: SessionMaker, case: str, answer: str
) -> None:
    world = await make_world(session)
    assert world.lead.id
    issued = await create_invite(
        session, settings=settings, person_id=world.lead.id, now=NOW - timedelta(days=8)
    )
    h = harness(settings, sessionmaker)
    token = issued.token if case == "expired" else "not-a-token"
    assert h.texts(await h.text(111, f"/start {token}")) == [answer]
    bound = (await session.exec(select(Person).where(Person.telegram_id == 111))).all()
    assert bound == []
    audit = (await session.exec(select(AuditLog))).one()
    assert audit.action == "bot.bind" and audit.allowed is False and case in (audit.detail or "")
