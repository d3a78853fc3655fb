"""The schema's guarantees, on every database: one delivery per campaign and phone, one current report."""

from datetime import date

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import (
    Campaign,
    CampaignKind,
    Channel,
    Delivery,
    Person,
    ProgressReport,
    Project,
    Role,
    Stage,
    Unit,
    UnitKind,
)


async def _project(session: AsyncSession) -> Project:
    unit = Unit(code="ALZQ", name="阿拉善左旗", kind=UnitKind.BANNER)
    session.add(unit)
    await session.flush()
    lead = Person(name="王伟", phone="+8613904830001", role=Role.LEAD, unit_id=unit.id)
    session.add(lead)
    await session.flush()
    project = Project(
        code="P1", name="项目一", unit_id=unit.id or 0, year=2026, stage=Stage.NEW, lead_id=lead.id
    )
    session.add(project)
    await session.commit()
    return project


def _report(project: Project, *, current: bool = True, version: int = 1) -> ProgressReport:
    return ProgressReport(
        project_id=project.id or 0,
        week="2026-W47",
        year=2026,
        week_end=date(2026, 11, 22),
        channel=Channel.TELEGRAM,
        stage=Stage.NEW,
        is_current=current,
        version=version,
    )


async def test_one_delivery_per_campaign_and_phone(session: AsyncSession) -> None:
    campaign = Campaign(kind=CampaignKind.BROADCAST, text="通知", audience="phones:+8613904830001")
    session.add(campaign)
    await session.flush()
    session.add(Delivery(campaign_id=campaign.id or 0, phone="+8613904830001", body="通知"))
    await session.commit()
    session.add(Delivery(campaign_id=campaign.id or 0, phone="+8613904830001", body="通知"))
    with pytest.raises(IntegrityError):
        await session.commit()
    await session.rollback()
    rows = (await session.exec(select(Delivery))).all()
    assert len(rows) == 1


async def test_one_current_report_per_project_and_week(session: AsyncSession) -> None:
    project = await _project(session)
    session.add(_report(project))
    await session.commit()
    session.add(_report(project, version=2))
    with pytest.raises(IntegrityError):
        await session.commit()
    await session.rollback()


async def test_superseded_versions_are_kept(session: AsyncSession) -> None:
    project = await _project(session)
    session.add(_report(project, current=False, version=1))
    session.add(_report(project, current=False, version=2))
    session.add(_report(project, current=True, version=3))
    await session.commit()
    rows = (await session.exec(select(ProgressReport).order_by(col(ProgressReport.version)))).all()
    assert [(r.version, r.is_current) for r in rows] == [(1, False), (2, False), (3, True)]
