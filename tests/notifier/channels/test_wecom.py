"""Binding people to WeCom members by the mobile number already imported: on first contact and by
`sync_wecom`; misses recorded and not asked again until a recheck; a member bound to someone else
is a conflict that changes nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Person, Role, WecomState
from notifier.channels.wecom import WecomBindingConflictError, bind_wecom, sync_wecom, wecom_mobile
from web.fakes.wecom import FakeWecom
from wecom.channel import WecomChannel
from wecom.client import WecomClient


@pytest.fixture
async def api(fake_wecom: FakeWecom, redis: Any) -> AsyncIterator[WecomChannel]:
    channel = WecomChannel(WecomClient(fake_wecom.settings(), redis, backoff_seconds=0.01))
    yield channel
    await channel.aclose()


async def _person(session: AsyncSession, name: str, phone: str | None, **extra: Any) -> Person:
    person = Person(name=name, phone=phone, role=Role.LEAD, **extra)
    session.add(person)
    await session.commit()
    return person


@pytest.mark.parametrize(
    ("phone", "mobile"), [("+8613904830001", "13904830001"), ("+85251234567", "+85251234567")]
)
def test_wecom_mobile(phone: str, mobile: str) -> None:
    assert wecom_mobile(phone) == mobile


async def test_first_contact_binds_by_mobile(
    session: AsyncSession, fake_wecom: FakeWecom, api: WecomChannel
) -> None:
    fake_wecom.add_member("13904830001", "zhangsan")
    person = await _person(session, "张三", "+8613904830001")
    assert await bind_wecom(session, api, person) == "zhangsan"
    await session.commit()
    await session.refresh(person)
    assert (person.wecom_userid, person.wecom_state) == ("zhangsan", WecomState.BOUND)
    assert person.wecom_checked_at is not None
    assert await bind_wecom(session, api, person) == "zhangsan"
    assert fake_wecom.stats()["lookup_misses"] == 0


async def test_a_miss_is_recorded_and_not_asked_again(
    session: AsyncSession, fake_wecom: FakeWecom, api: WecomChannel
) -> None:
    person = await _person(session, "李四", "+8613904830002")
    assert await bind_wecom(session, api, person) is None
    assert await bind_wecom(session, api, person) is None
    await session.commit()
    assert person.wecom_state == WecomState.NO_USER and person.wecom_userid is None
    assert fake_wecom.lookup_misses == 1  # WeCom bars the lookup for a day after too many misses


async def test_no_phone_no_lookup(session: AsyncSession, fake_wecom: FakeWecom, api: WecomChannel) -> None:
    person = await _person(session, "无号码", None)
    assert await bind_wecom(session, api, person) is None
    assert fake_wecom.lookup_misses == 0 and person.wecom_state is None


async def test_member_of_someone_else_is_a_conflict(
    session: AsyncSession, fake_wecom: FakeWecom, api: WecomChannel
) -> None:
    fake_wecom.add_member("13904830003", "wangwu")
    await _person(session, "王五", "+8613904830004", wecom_userid="wangwu", wecom_state=WecomState.BOUND)
    other = await _person(session, "王五(旧号)", "+8613904830003")
    with pytest.raises(WecomBindingConflictError, match="wangwu"):
        await bind_wecom(session, api, other)
    assert other.wecom_userid is None and other.wecom_state is None


async def test_sync_binds_everyone_once_and_rechecks_on_request(
    session: AsyncSession, fake_wecom: FakeWecom, api: WecomChannel
) -> None:
    fake_wecom.add_member("13904830011", "a")
    fake_wecom.add_member("13904830012", "b")
    for i, phone in enumerate(["+8613904830011", "+8613904830012", "+8613904830013", None]):
        await _person(session, f"人{i}", phone)
    report = await sync_wecom(session, api)
    assert (report.bound, report.no_user, report.already, report.skipped) == (2, 1, 0, 0)
    again = await sync_wecom(session, api)
    assert (again.bound, again.no_user, again.already, again.skipped) == (0, 0, 2, 1)
    assert fake_wecom.lookup_misses == 1
    fake_wecom.add_member("13904830013", "c")  # the office added the third person to WeCom
    recheck = await sync_wecom(session, api, recheck=True)
    assert (recheck.bound, recheck.already, recheck.no_user) == (1, 2, 0)
    assert "newly bound 1" in str(recheck)
