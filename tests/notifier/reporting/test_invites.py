"""Invites: single use, hashed, 7-day expiry, one Telegram account per person, rebinding by a new invite."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Invite, Person
from models.db import SessionMaker
from notifier.core.errors import NotFoundError
from notifier.core.settings import Settings
from notifier.reporting.invites import InviteError, consume_invite, create_invite, invite_by_phone, token_hash
from tests.notifier.bot_world import make_world

NOW = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)


async def test_invite_binds_once_and_stores_only_the_hash(session: AsyncSession, settings: Settings) -> None:
    world = await make_world(session)
    person, issued = await invite_by_phone(session, settings=settings, phone="139 0483 0001", now=NOW)
    assert person.id == world.lead.id
    assert issued.link == f"https://t.me/{settings.telegram_bot_username}?start={issued.token}"
    stored = (await session.exec(select(Invite))).one()
    assert stored.token_hash == token_hash(issued.token) and issued.token not in stored.token_hash
    bound = await consume_invite(session, token=issued.token, telegram_id=111, now=NOW + timedelta(hours=1))
    assert bound.telegram_id == 111
    with pytest.raises(InviteError) as caught:
        await consume_invite(session, token=issued.token, telegram_id=111, now=NOW + timedelta(hours=2))
    assert caught.value.reason == "used" and "已使用过" in str(caught.value)


@pytest.mark.parametrize(
    ("case", "fragment"), [("unknown", "邀请链接无效"), ("expired", "已过期"), ("taken", "已绑定给李娜")]
)
async def test_refused_invites_change_nothing(
    session: AsyncSession, settings: Settings, case: str, fragment: str
) -> None:
    world = await make_world(session)
    assert world.lead.id and world.other_lead.id
    issued = await create_invite(session, settings=settings, person_id=world.lead.id, now=NOW)
    if case == "taken":
        other = await create_invite(session, settings=settings, person_id=world.other_lead.id, now=NOW)
        await consume_invite(session, token=other.token, telegram_id=222, now=NOW)
    token = "nonsense" if case == "unknown" else issued.token
    when = NOW + timedelta(days=7, seconds=1) if case == "expired" else NOW
    with pytest.raises(InviteError) as caught:
        await consume_invite(session, token=token, telegram_id=222, now=when)
    assert caught.value.reason == case and fragment in str(caught.value)
    lead = await session.get(Person, world.lead.id, populate_existing=True)
    assert lead is not None and lead.telegram_id is None
    invite = await session.get(Invite, issued.invite.id, populate_existing=True)
    assert invite is not None and invite.used_at is None


async def test_rebinding_needs_a_new_invite(session: AsyncSession, settings: Settings) -> None:
    world = await make_world(session)
    assert world.lead.id
    first = await create_invite(session, settings=settings, person_id=world.lead.id, now=NOW)
    await consume_invite(session, token=first.token, telegram_id=111, now=NOW)
    second = await create_invite(session, settings=settings, person_id=world.lead.id, now=NOW)
    person = await consume_invite(session, token=second.token, telegram_id=333, now=NOW)
    assert person.telegram_id == 333


async def test_unknown_phone(session: AsyncSession, settings: Settings) -> None:
    await make_world(session)
    with pytest.raises(NotFoundError, match="没有手机号为\\+8613900000000的人员"):
        await invite_by_phone(session, settings=settings, phone="13900000000", now=NOW)
    assert (await session.exec(select(Invite))).all() == []


async def test_racing_taps_bind_once(
    session: AsyncSession, settings: Settings, sessionmaker: SessionMaker
) -> None:
    world = await make_world(session)
    assert world.lead.id
    issued = await create_invite(session, settings=settings, person_id=world.lead.id, now=NOW)

    async def tap(telegram_id: int) -> int | BaseException:
        async with sessionmaker() as own:
            try:
                person = await consume_invite(own, token=issued.token, telegram_id=telegram_id, now=NOW)
            except InviteError as exc:
                return exc
            assert person.telegram_id is not None
            return person.telegram_id

    outcomes = await asyncio.gather(tap(111), tap(222))
    bound = [o for o in outcomes if isinstance(o, int)]
    refused = [o for o in outcomes if isinstance(o, InviteError)]
    assert len(bound) == 1 and len(refused) == 1 and refused[0].reason == "used"
    lead = await session.get(Person, world.lead.id, populate_existing=True)
    assert lead is not None and lead.telegram_id == bound[0]
