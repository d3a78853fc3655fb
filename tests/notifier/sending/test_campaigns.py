"""Audiences and campaigns: resolution, personalisation, previews, states; bad input changes nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlmodel import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import (
    Campaign,
    CampaignKind,
    CampaignState,
    Delivery,
    DeliveryState,
    OptOut,
    Person,
    Role,
    Unit,
    UnitKind,
)
from notifier.core.settings import Settings
from notifier.sending.audiences import AudienceError, parse_audience, resolve_audience
from notifier.sending.campaigns import (
    CampaignError,
    cancel_campaign,
    create_campaign,
    pause_campaign,
    preview_campaign,
)
from notifier.sending.carrier import MessageTooLongError


async def _people(session: AsyncSession) -> None:
    unit = Unit(code="ALZQ", name="阿拉善左旗", kind=UnitKind.BANNER)
    session.add(unit)
    await session.flush()
    session.add_all([
        Person(name="王盟长", phone="+8613904830001", role=Role.LEADER),
        Person(name="李旗长", phone="+8613904830002", role=Role.LEADER, unit_id=unit.id),
        Person(name="退订者", phone="+8613904830003", role=Role.LEADER, opted_out=True),
        Person(name="赵负责", phone="+8613904830004", role=Role.LEAD, unit_id=unit.id),
        Person(name="无号码", phone=None, role=Role.LEADER),
    ])  # fmt: skip
    session.add(OptOut(phone="+8613904830009", source="sms"))
    await session.commit()


async def _count(session: AsyncSession, model: type) -> int:
    return int((await session.exec(select(func.count()).select_from(model))).one())


@pytest.mark.parametrize(
    ("spec", "kinds"),
    [
        ("all-leaders", ["all-leaders"]),
        ("unit:ALZQ, role:lead", ["unit", "role"]),
        ("phones:+8613904830001,13904830002,all-leads", ["phones", "all-leads"]),
        ("black-list-leads,all-leaders", ["black-list-leads", "all-leaders"]),
    ],
)
def test_parse_audience(spec: str, kinds: list[str]) -> None:
    assert [s.kind for s in parse_audience(spec)] == kinds


@pytest.mark.parametrize("spec", ["", "everyone", "unit:", "+8613904830001"])
def test_bad_audience_is_refused(spec: str) -> None:
    with pytest.raises(AudienceError):
        parse_audience(spec)


async def test_resolution_dedupes_and_skips(session: AsyncSession, settings: Settings) -> None:
    await _people(session)
    result = await resolve_audience(
        session, settings=settings,
        audience="all-leaders,unit:ALZQ,phones:13904830001,+8613904830009,12345",
    )  # fmt: skip
    assert sorted(r.phone for r in result.recipients) == [
        "+8613904830001",
        "+8613904830002",
        "+8613904830004",
    ]
    assert result.skipped_by_reason() == {"opted_out": 2, "no_number": 1, "invalid_number": 1}
    li = next(r for r in result.recipients if r.phone == "+8613904830002")
    assert (li.name, li.unit_code, li.unit_name) == ("李旗长", "ALZQ", "阿拉善左旗")


async def test_a_phone_list_larger_than_one_query_allows_resolves(
    session: AsyncSession, settings: Settings
) -> None:
    """40,000 listed numbers exceed PostgreSQL's 32,767 bind parameters in one IN (...)."""
    await _people(session)
    listed = [f"+86139{n:08d}" for n in range(40_000)] + ["+8613904830002", "+8613904830009"]
    result = await resolve_audience(session, settings=settings, audience="phones:" + ",".join(listed))
    assert len(result.recipients) == 40_001
    assert result.skipped_by_reason() == {"opted_out": 1}
    li = next(r for r in result.recipients if r.phone == "+8613904830002")
    assert (li.name, li.unit_code) == ("李旗长", "ALZQ")


async def test_unknown_unit_and_role(session: AsyncSession, settings: Settings) -> None:
    await _people(session)
    with pytest.raises(AudienceError, match="NOPE"):
        await resolve_audience(session, settings=settings, audience="unit:NOPE")
    with pytest.raises(AudienceError, match="未知角色"):
        await resolve_audience(session, settings=settings, audience="role:king")


async def test_create_personalises_and_signs(session: AsyncSession, settings: Settings) -> None:
    await _people(session)
    campaign = await create_campaign(session, settings=settings, kind=CampaignKind.BROADCAST,
                                     text="{name}您好:{unit}请报送进展。", audience="all-leaders")  # fmt: skip
    await session.commit()
    rows = (await session.exec(select(Delivery).order_by(Delivery.phone))).all()  # type: ignore[arg-type]
    bodies = {d.phone: (d.state, d.body) for d in rows}
    assert bodies["+8613904830002"] == (
        DeliveryState.PENDING,
        "【阿拉善盟发改委】李旗长您好:阿拉善左旗请报送进展。",
    )
    assert bodies["+8613904830003"][0] == DeliveryState.SKIPPED
    assert (campaign.recipients, campaign.skipped, campaign.state) == (2, 2, CampaignState.DRAFT)
    assert campaign.estimated_cost == Decimal("0.10")


@pytest.mark.parametrize(
    ("text", "error"),
    [("", CampaignError), ("   ", CampaignError), ("{nme}您好", CampaignError), ("{name", CampaignError),
     ("长" * 520, MessageTooLongError)],
)  # fmt: skip
async def test_bad_text_creates_nothing(
    session: AsyncSession, settings: Settings, text: str, error: type
) -> None:
    await _people(session)
    with pytest.raises(error):
        await create_campaign(session, settings=settings, kind=CampaignKind.BROADCAST, text=text,
                              audience="all-leaders")  # fmt: skip
    await session.rollback()
    assert await _count(session, Campaign) == 0
    assert await _count(session, Delivery) == 0


async def test_preview_sends_and_stores_nothing(session: AsyncSession, settings: Settings) -> None:
    await _people(session)
    preview = await preview_campaign(
        session, settings=settings, text="通知" * 40, audience="all-leaders,all-leads"
    )
    assert (preview.recipients, preview.max_segments, preview.segments) == (3, 2, 6)
    assert preview.estimated_cost == Decimal("0.30")
    assert preview.samples[0][1].startswith("【阿拉善盟发改委】")
    assert await _count(session, Campaign) == 0


async def test_dedupe_key_returns_the_same_campaign(session: AsyncSession, settings: Settings) -> None:
    await _people(session)
    first = await create_campaign(session, settings=settings, kind=CampaignKind.BULLETIN, text="周通报",
                                  audience="all-leaders", dedupe_key="weekly-bulletin:2026-W47")  # fmt: skip
    await session.commit()
    again = await create_campaign(session, settings=settings, kind=CampaignKind.BULLETIN, text="周通报",
                                  audience="all-leaders", dedupe_key="weekly-bulletin:2026-W47")  # fmt: skip
    assert again.id == first.id
    assert await _count(session, Campaign) == 1
    assert await _count(session, Delivery) == 4


async def test_pause_and_cancel_rules(session: AsyncSession, settings: Settings) -> None:
    await _people(session)
    campaign = await create_campaign(session, settings=settings, kind=CampaignKind.BROADCAST, text="通知",
                                     audience="all-leaders")  # fmt: skip
    await session.commit()
    with pytest.raises(CampaignError):
        await pause_campaign(session, campaign_id=campaign.id or 0)  # a draft is not sending
    cancelled = await cancel_campaign(session, campaign_id=campaign.id or 0)
    assert cancelled.state == CampaignState.CANCELLED
    pending = (await session.exec(select(func.count()).where(Delivery.state == DeliveryState.PENDING))).one()
    assert pending == 0
    with pytest.raises(CampaignError):
        await cancel_campaign(session, campaign_id=campaign.id or 0)
