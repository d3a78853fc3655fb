"""Alerts: each kind raised once and never twice, weekly repeats for a still-overdue milestone."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from arq.connections import ArqRedis, RedisSettings, create_pool
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import (
    AlertRecord,
    Campaign,
    CampaignKind,
    CampaignState,
    Delivery,
    Milestone,
    Person,
    Project,
    Role,
    Stage,
    Unit,
    UnitKind,
    WeekPrompt,
)
from notifier.bulletins.alerts import AlertKind, current_alerts, milestone_key, raise_alerts
from notifier.core.settings import Settings
from notifier.sending.segments import segment_info

AS_OF = date(2026, 11, 24)


@pytest.fixture
async def pool(redis: Any, redis_url: str) -> AsyncIterator[ArqRedis]:
    arq_pool = await create_pool(RedisSettings.from_dsn(redis_url))
    yield arq_pool
    await arq_pool.aclose()


@dataclass
class World:
    project: Project
    people: dict[str, Person]


async def _world(session: AsyncSession, *, planned_start: date | None = None) -> World:
    unit = Unit(code="ALZQ", name="阿拉善左旗", kind=UnitKind.BANNER)
    session.add(unit)
    await session.flush()
    people = {
        "lead": Person(name="负责人", phone="+8613904830001", role=Role.LEAD, unit_id=unit.id),
        "league": Person(name="盟领导", phone="+8613904830002", role=Role.LEADER),
        "unit": Person(
            name="旗领导", phone="+8613904830003", role=Role.LEADER, unit_id=unit.id, language="en"
        ),
        "contact": Person(name="联系人", phone="+8613904830004", role=Role.STAFF),
    }
    session.add_all(people.values())
    await session.flush()
    project = Project(code="P1", name="风电项目", unit_id=unit.id or 0, year=2026, stage=Stage.NEW,
                      annual_plan=Decimal("1000000"), planned_start=planned_start,
                      # on schedule unless it is late to start, so only the alert under test fires
                      ytd_base=Decimal("0") if planned_start else Decimal("1000000"),
                      actual_start=None if planned_start else date(2026, 3, 1),
                      lead_id=people["lead"].id, league_leader_id=people["league"].id,
                      unit_leader_id=people["unit"].id, department_contact_id=people["contact"].id)  # fmt: skip
    session.add(project)
    await session.commit()
    return World(project=project, people=people)


async def _alert_campaigns(session: AsyncSession) -> list[Campaign]:
    rows = await session.exec(
        select(Campaign).where(Campaign.kind == CampaignKind.ALERT).order_by(col(Campaign.id))
    )
    return list(rows.all())


async def _phones(session: AsyncSession, campaign_id: int | None) -> set[str]:
    rows = await session.exec(select(Delivery.phone).where(Delivery.campaign_id == campaign_id))
    return set(rows.all())


@pytest.mark.parametrize(
    ("due", "as_of", "key"),
    [
        (date(2026, 11, 20), date(2026, 11, 21), "milestone:5:0"),
        (date(2026, 11, 20), date(2026, 11, 27), "milestone:5:0"),
        (date(2026, 11, 20), date(2026, 11, 28), "milestone:5:1"),
        (date(2026, 11, 20), date(2026, 12, 5), "milestone:5:2"),
    ],
)
def test_milestone_key_changes_every_seven_days_overdue(due: date, as_of: date, key: str) -> None:
    assert milestone_key(5, due=due, as_of=as_of) == key


async def test_overdue_milestone_alerts_lead_and_chain_once(
    session: AsyncSession, settings: Settings, pool: ArqRedis
) -> None:
    world = await _world(session)
    session.add(
        Milestone(project_id=world.project.id or 0, title="主体工程封顶", due_date=date(2026, 11, 20))
    )
    session.add(Milestone(project_id=world.project.id or 0, title="未到期", due_date=date(2026, 12, 20)))
    session.add(Milestone(project_id=world.project.id or 0, title="已完成", due_date=date(2026, 11, 1),
                          done_date=date(2026, 11, 2)))  # fmt: skip
    await session.commit()

    first = await raise_alerts(session, pool, settings=settings, as_of=AS_OF)
    second = await raise_alerts(session, pool, settings=settings, as_of=AS_OF)

    assert [a.key.split(":")[0] for a, _ in first.raised] == ["milestone"]
    assert second.raised == [] and second.already_sent == 1
    campaigns = await _alert_campaigns(session)
    assert len(campaigns) == 1 and campaigns[0].state == CampaignState.QUEUED
    assert await _phones(session, campaigns[0].id) == {p.phone for p in world.people.values()}
    bodies = (await session.exec(select(Delivery.body).where(Delivery.campaign_id == campaigns[0].id))).all()
    assert any("主体工程封顶" in b and "逾期4天" in b for b in bodies)
    assert any("4 days overdue" in b for b in bodies)  # the unit leader reads English
    records = (await session.exec(select(AlertRecord))).all()
    assert [(r.kind, r.campaign_id) for r in records] == [("milestone", campaigns[0].id)]


async def test_still_overdue_milestone_repeats_weekly(
    session: AsyncSession, settings: Settings, pool: ArqRedis
) -> None:
    world = await _world(session)
    milestone = Milestone(project_id=world.project.id or 0, title="设备安装", due_date=date(2026, 11, 20))
    session.add(milestone)
    await session.commit()
    raised = []
    for day in (AS_OF, AS_OF + timedelta(days=3), AS_OF + timedelta(days=4), AS_OF + timedelta(days=10)):
        raised.append(len((await raise_alerts(session, pool, settings=settings, as_of=day)).raised))
    assert raised == [1, 0, 1, 0]  # overdue days 4, 7 (same week), 8 (a new week), 14
    milestone.done_date = AS_OF + timedelta(days=11)
    session.add(milestone)
    await session.commit()
    assert (
        await raise_alerts(session, pool, settings=settings, as_of=AS_OF + timedelta(days=30))
    ).raised == []
    assert len(await _alert_campaigns(session)) == 2


async def test_new_black_list_entry_alerts_unit_leader_once_per_stay(
    session: AsyncSession, settings: Settings, pool: ArqRedis
) -> None:
    world = await _world(session, planned_start=date(2026, 5, 1))  # past its planned start, not started

    first = await raise_alerts(session, pool, settings=settings, as_of=AS_OF)
    again = await raise_alerts(session, pool, settings=settings, as_of=AS_OF + timedelta(days=1))
    assert [a.kind for a, _ in first.raised] == [AlertKind.BLACK_LIST]
    assert again.raised == [] and again.already_sent == 1
    campaigns = await _alert_campaigns(session)
    assert len(campaigns) == 1
    assert await _phones(session, campaigns[0].id) == {world.people["unit"].phone}

    world.project.actual_start = date(2026, 11, 25)  # started and on schedule: off the list
    world.project.ytd_base = Decimal("1000000")
    session.add(world.project)
    await session.commit()
    left = await raise_alerts(session, pool, settings=settings, as_of=AS_OF + timedelta(days=2))
    assert left.closed == 1 and left.raised == []

    world.project.actual_start = None  # the start is withdrawn: back on the list, a new fact
    session.add(world.project)
    await session.commit()
    back = await raise_alerts(session, pool, settings=settings, as_of=AS_OF + timedelta(days=3))
    assert [a.key for a, _ in back.raised] == [f"black-list:{world.project.id}:2"]
    assert len(await _alert_campaigns(session)) == 2


async def test_current_alerts_lists_every_kind_with_reasons(
    session: AsyncSession, settings: Settings
) -> None:
    world = await _world(session, planned_start=date(2026, 5, 1))
    pid = world.project.id or 0
    session.add(Milestone(project_id=pid, title="土建完工", due_date=date(2026, 11, 10)))
    # Prompted for W47; the deadline (Sat 2026-11-21 12:00 local) passed with no report.
    session.add(
        WeekPrompt(project_id=pid, week="2026-W47", deadline=datetime(2026, 11, 21, 4, 0, tzinfo=UTC))
    )
    await session.commit()

    alerts = await current_alerts(session, settings=settings, as_of=AS_OF)

    by_kind = {a.kind: a for a in alerts}
    assert set(by_kind) == {AlertKind.NO_REPORT, AlertKind.MILESTONE, AlertKind.BLACK_LIST}
    assert by_kind[AlertKind.NO_REPORT].recipient_ids == (world.people["lead"].id, world.people["contact"].id)
    assert "2026-W47" in by_kind[AlertKind.NO_REPORT].reason
    assert (
        "土建完工" in by_kind[AlertKind.MILESTONE].reason
        and "逾期14天" in by_kind[AlertKind.MILESTONE].reason
    )
    assert "逾期未开工" in by_kind[AlertKind.BLACK_LIST].reason
    assert not any(a.sent for a in alerts)
    count = (await session.exec(select(func.count()).select_from(Campaign))).one()
    assert count == 0  # listing sends nothing


async def test_chain_without_phone_numbers_records_nothing(
    session: AsyncSession, settings: Settings, pool: ArqRedis
) -> None:
    world = await _world(session)
    for person in world.people.values():
        person.phone = None
        session.add(person)
    session.add(Milestone(project_id=world.project.id or 0, title="节点", due_date=date(2026, 11, 1)))
    await session.commit()
    result = await raise_alerts(session, pool, settings=settings, as_of=AS_OF)
    assert result.raised == [] and result.unreachable == 1
    assert (await session.exec(select(AlertRecord))).all() == []


async def test_two_workers_at_once_send_one_alert(
    sessionmaker: Any, settings: Settings, pool: ArqRedis
) -> None:
    async with sessionmaker() as session:
        world = await _world(session)
        session.add(Milestone(project_id=world.project.id or 0, title="同时检查", due_date=date(2026, 11, 1)))
        await session.commit()

    async def check() -> int:
        async with sessionmaker() as own:
            return len((await raise_alerts(own, pool, settings=settings, as_of=AS_OF)).raised)

    results = await asyncio.gather(check(), check())
    assert sorted(results) == [0, 1]
    async with sessionmaker() as session:
        assert len(await _alert_campaigns(session)) == 1
        assert len((await session.exec(select(AlertRecord))).all()) == 1


async def test_missing_report_is_sent_once_the_deadline_round_told_the_lead(
    session: AsyncSession, settings: Settings
) -> None:
    from notifier.sending.campaigns import create_campaign

    world = await _world(session)
    session.add(WeekPrompt(project_id=world.project.id or 0, week="2026-W47",
                           deadline=datetime(2026, 11, 21, 4, 0, tzinfo=UTC)))  # fmt: skip
    await session.commit()

    async def sent() -> list[bool]:
        alerts = await current_alerts(session, settings=settings, as_of=AS_OF)
        return [a.sent for a in alerts if a.kind == AlertKind.NO_REPORT]

    assert await sent() == [False]
    await create_campaign(session, settings=settings, kind=CampaignKind.REMINDER, text="请报送第47周进展",
                          audience=f"phones:{world.people['lead'].phone}",
                          dedupe_key="deadline-leads:2026-W47")  # fmt: skip
    await session.commit()
    assert await sent() == [True]


async def test_one_digest_a_day_per_leader_by_project_name(
    session: AsyncSession, settings: Settings, pool: ArqRedis
) -> None:
    """Three facts on two projects: one alert campaign, one SMS per person listing their projects by
    name (no codes); a leader of many projects gets one SMS within the budget, the rest counted."""
    world = await _world(session, planned_start=date(2026, 5, 1))  # black-listed: 逾期未开工
    second = Project(code="ALZQ-2026-017", name="供水管网项目", unit_id=world.project.unit_id, year=2026,
                     stage=Stage.NEW, annual_plan=Decimal("1000000"), ytd_base=Decimal("1000000"),
                     actual_start=date(2026, 3, 1), lead_id=world.people["lead"].id,
                     unit_leader_id=world.people["unit"].id)  # fmt: skip
    session.add(second)
    await session.flush()
    session.add(
        Milestone(project_id=world.project.id or 0, title="主体工程封顶", due_date=date(2026, 11, 20))
    )
    for i in range(12):
        session.add(
            Milestone(project_id=second.id or 0, title=f"第{i + 1}段管线贯通", due_date=date(2026, 11, 1))
        )
    await session.commit()

    result = await raise_alerts(session, pool, settings=settings, as_of=AS_OF)
    assert len(result.raised) == 14
    [campaign] = await _alert_campaigns(session)
    rows = (
        await session.exec(select(Delivery.phone, Delivery.body).where(Delivery.campaign_id == campaign.id))
    ).all()
    bodies: dict[str | None, str] = dict(rows)
    assert len(rows) == len(bodies) == 4  # lead, league leader, unit leader, contact: once each
    lead = bodies[world.people["lead"].phone]
    assert "风电项目" in lead and "供水管网项目" in lead and "另有" in lead
    assert "P1" not in lead and "ALZQ" not in lead and "2026-017" not in lead
    assert segment_info(lead).segments <= settings.sms_segment_budget
    unit_leader = bodies[world.people["unit"].phone]  # reads English: the black list and the milestones
    assert "black list" in unit_leader and "ALZQ" not in unit_leader and "阿拉善左旗" in unit_leader
    league = bodies[world.people["league"].phone]  # only the first project's milestone is theirs
    assert "风电项目" in league and "供水管网项目" not in league and "1项预警" in league
    # A second check the same day finds nothing new and adds no campaign.
    again = await raise_alerts(session, pool, settings=settings, as_of=AS_OF)
    assert again.raised == [] and len(await _alert_campaigns(session)) == 1
