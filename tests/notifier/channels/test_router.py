"""ChannelChat: each person's channel order decides where a chat message goes (Telegram, WeCom,
then the caller's SMS); WeCom members are bound on first contact; a member the app cannot reach
is recorded and the next channel takes the message."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Person, Role, WecomState
from models.db import SessionMaker
from notifier.channels.router import ChannelChat, channel_order, set_channel_order
from notifier.core.chat import RecordingChatSender, chat_reach, send_chat
from notifier.core.errors import GuatuError, NotFoundError
from notifier.core.phones import PhoneError
from notifier.core.settings import Settings
from web.fakes.wecom import FakeWecom
from wecom.channel import WecomChannel
from wecom.client import WecomClient


@pytest.fixture
async def chat(
    fake_wecom: FakeWecom, redis: Any, sessionmaker: SessionMaker, settings: Settings
) -> AsyncIterator[ChannelChat]:
    wecom_settings = fake_wecom.settings(database_url=settings.database_url)
    wecom = WecomChannel(WecomClient(wecom_settings, redis, backoff_seconds=0.01))
    yield ChannelChat(
        telegram=RecordingChatSender(), wecom=wecom, sessionmaker=sessionmaker, settings=wecom_settings
    )
    await wecom.aclose()


def _telegram(chat: ChannelChat) -> RecordingChatSender:
    assert isinstance(chat.telegram, RecordingChatSender)
    return chat.telegram


async def _person(session: AsyncSession, phone: str | None, **extra: Any) -> int:
    person = Person(name="某人", phone=phone, role=Role.LEADER, **extra)
    session.add(person)
    await session.commit()
    assert person.id is not None
    return person.id


async def _get(sessionmaker: SessionMaker, person_id: int) -> Person:
    async with sessionmaker() as session:
        person = await session.get(Person, person_id)
        assert person is not None
        return person


async def test_default_order_prefers_a_bound_telegram(
    session: AsyncSession, chat: ChannelChat, fake_wecom: FakeWecom
) -> None:
    fake_wecom.add_member("13904830001", "both")
    pid = await _person(session, "+8613904830001", telegram_id=1001)
    assert await chat.send_to_person(pid, text="通报", buttons=[[("已阅", "rd:1")]])
    assert [m.telegram_id for m in _telegram(chat).sent] == [1001] and fake_wecom.messages == []


async def test_own_order_puts_wecom_first_and_binds_on_first_contact(
    session: AsyncSession, sessionmaker: SessionMaker, chat: ChannelChat, fake_wecom: FakeWecom
) -> None:
    fake_wecom.add_member("13904830002", "lisi")
    pid = await _person(session, "+8613904830002", telegram_id=1002, channels="wecom,sms")
    assert await chat.send_to_person(
        pid, text="<b>第47周通报</b>\n开复工率94.0%", buttons=[[("已阅", "rd:5")]]
    )
    [card] = fake_wecom.to("lisi")
    assert card.msgtype == "template_card" and card.buttons == [("已阅", "rd:5")]
    assert card.text == "第47周通报\n开复工率94.0%"  # Telegram's markup made plain
    assert _telegram(chat).sent == []
    person = await _get(sessionmaker, pid)
    assert (person.wecom_userid, person.wecom_state) == ("lisi", WecomState.BOUND)


async def test_a_number_without_a_member_falls_through_and_is_not_looked_up_again(
    session: AsyncSession, sessionmaker: SessionMaker, chat: ChannelChat, fake_wecom: FakeWecom
) -> None:
    pid = await _person(session, "+8613904830003", telegram_id=1003, channels="wecom,telegram,sms")
    assert await chat.send_to_person(pid, text="一")
    assert await chat.send_to_person(pid, text="二")
    assert [m.text for m in _telegram(chat).sent] == ["一", "二"]
    assert fake_wecom.lookup_misses == 1
    assert (await _get(sessionmaker, pid)).wecom_state == WecomState.NO_USER


async def test_a_member_outside_the_visible_range_is_recorded_and_skipped(
    session: AsyncSession, sessionmaker: SessionMaker, chat: ChannelChat, fake_wecom: FakeWecom
) -> None:
    fake_wecom.add_member("13904830004", "hidden", visible=False)
    pid = await _person(session, "+8613904830004", channels="wecom,sms")
    assert not await chat.send_to_person(pid, text="一")
    assert not await chat.send_to_person(pid, text="二")
    assert fake_wecom.refused[81013] == 1  # not retried
    person = await _get(sessionmaker, pid)
    assert (person.wecom_userid, person.wecom_state) == ("hidden", WecomState.NOT_VISIBLE)


async def test_sms_only_sends_no_chat(
    session: AsyncSession, chat: ChannelChat, fake_wecom: FakeWecom
) -> None:
    fake_wecom.add_member("13904830005", "smsonly")
    pid = await _person(session, "+8613904830005", telegram_id=1005, channels="sms")
    assert not await chat.send_to_person(pid, text="x")
    assert _telegram(chat).sent == [] and fake_wecom.messages == [] and fake_wecom.lookup_misses == 0


async def test_a_wecom_failure_hands_the_message_to_the_next_channel(
    session: AsyncSession, chat: ChannelChat, fake_wecom: FakeWecom
) -> None:
    fake_wecom.add_member("13904830006", "busy")
    pid = await _person(session, "+8613904830006", telegram_id=1006, channels="wecom,telegram")
    fake_wecom.throttle_next = 100  # WeCom keeps answering 45009
    assert await chat.send_to_person(pid, text="x")
    assert [m.telegram_id for m in _telegram(chat).sent] == [1006]


async def test_reach_selects_who_a_chat_can_reach(
    session: AsyncSession, sessionmaker: SessionMaker, chat: ChannelChat
) -> None:
    ids = {
        "telegram": await _person(session, None, telegram_id=2001),
        "blocked": await _person(session, None, telegram_id=2002, telegram_blocked=True),
        "unchecked": await _person(session, "+8613904830011"),
        "bound": await _person(session, "+8613904830012", wecom_userid="b", wecom_state=WecomState.BOUND),
        "no_user": await _person(session, "+8613904830013", wecom_state=WecomState.NO_USER),
        "nothing": await _person(session, None),
    }

    async def reached(condition: Any) -> set[str]:
        found = set((await session.exec(select(Person.id).where(condition))).all())
        return {name for name, pid in ids.items() if pid in found}

    assert await reached(chat_reach(chat)) == {"telegram", "unchecked", "bound"}
    assert await reached(chat_reach(RecordingChatSender())) == {"telegram"}
    assert await reached(col(Person.id).is_not(None)) == set(ids)


async def test_send_chat_without_routing_goes_to_telegram(session: AsyncSession) -> None:
    telegram = RecordingChatSender()
    assert await send_chat(telegram, person_id=7, telegram_id=3001, text="x")
    assert not await send_chat(telegram, person_id=7, telegram_id=None, text="x")
    assert [m.telegram_id for m in telegram.sent] == [3001]


async def test_set_channel_order(session: AsyncSession, settings: Settings) -> None:
    await _person(session, "+8613904830021")
    person = await set_channel_order(session, phone="139 0483 0021", order="WeCom, sms")
    assert person.channels == "wecom,sms" and channel_order(person, settings) == ["wecom", "sms"]
    person = await set_channel_order(session, phone="+8613904830021", order=None)
    assert person.channels is None and channel_order(person, settings) == ["telegram", "wecom", "sms"]


@pytest.mark.parametrize(
    ("phone", "order", "error"),
    [
        ("+8613904830021", "wecom,fax", GuatuError),
        ("+8613904830099", "sms", NotFoundError),
        ("12", "sms", PhoneError),
    ],
)
async def test_bad_channel_order_changes_nothing(
    session: AsyncSession, phone: str, order: str, error: type[Exception]
) -> None:
    pid = await _person(session, "+8613904830021", channels="telegram,sms")
    with pytest.raises(error):
        await set_channel_order(session, phone=phone, order=order)
    person = await session.get(Person, pid)
    assert person is not None
    await session.refresh(person)
    assert person.channels == "telegram,sms"
