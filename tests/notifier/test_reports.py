"""submit_report: versions, deadline, ownership, remaining total, project dates and procedure items."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Channel, ProcedureItem, ProgressReport, Project, Stage
from notifier.reports import ReportError, report_deadline, submit_report
from notifier.settings import Settings
from tests.notifier.bot_world import make_world

WEEK = "2026-W48"  # Mon 23 Nov - Sun 29 Nov 2026
NOW = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)  # Thu 11:00 Beijing


def test_deadline_is_saturday_noon_beijing(settings: Settings) -> None:
    deadline = report_deadline(settings, WEEK)
    assert deadline.astimezone(settings.tz).replace(tzinfo=None) == datetime(2026, 11, 28, 12, 0)


async def _reports(session: AsyncSession, project_id: int) -> list[ProgressReport]:
    rows = await session.exec(
        select(ProgressReport)
        .where(ProgressReport.project_id == project_id)
        .order_by(col(ProgressReport.version))
    )
    return list(rows.all())


async def test_resubmission_replaces_and_keeps_history(session: AsyncSession, settings: Settings) -> None:
    world = await make_world(session)
    project = world.projects[0]
    assert project.id and world.lead.id and world.items[0].id and world.items[1].id
    first = await submit_report(session, settings=settings, project_id=project.id, reporter_id=world.lead.id,
                                week=WEEK, stage=Stage.NEW, investment=Decimal("30000000"),
                                procedure_item_ids=[world.items[0].id], blockers=" 用地审批慢 ",
                                channel=Channel.TELEGRAM, now=NOW)  # fmt: skip
    assert first.version == 1 and first.procedures_completed == 1 and first.blockers == "用地审批慢"
    second = await submit_report(session, settings=settings, project_id=project.id, reporter_id=world.lead.id,
                                 week=WEEK, stage=Stage.NEW, investment=Decimal("35000000"),
                                 procedure_item_ids=[world.items[0].id, world.items[1].id], blockers=None,
                                 channel=Channel.WEB, now=NOW)  # fmt: skip
    rows = await _reports(session, project.id)
    assert [(r.version, r.is_current, r.investment) for r in rows] == [
        (1, False, Decimal("30000000.00")),
        (2, True, Decimal("35000000.00")),
    ]
    assert second.procedures_completed == 2 and second.week_end == date(2026, 11, 29)
    # The project loaded in this session shows what the report changed, without a reload.
    assert project.actual_start == date(2026, 11, 26) and project.stage == Stage.NEW
    refreshed = await session.get(Project, project.id, populate_existing=True)
    assert refreshed is not None
    assert refreshed.actual_start == date(2026, 11, 26) and refreshed.stage == Stage.NEW
    done = (
        await session.exec(select(ProcedureItem.name).where(col(ProcedureItem.done_on).is_not(None)))
    ).all()
    assert sorted(done) == ["用地", "立项"]


async def test_continuing_project_resumed(session: AsyncSession, settings: Settings) -> None:
    world = await make_world(session)
    project = world.projects[1]
    assert project.id and world.lead.id
    await submit_report(session, settings=settings, project_id=project.id, reporter_id=world.lead.id, week=WEEK,
                        stage=Stage.CONTINUING, investment=Decimal("0"), procedure_item_ids=[], blockers=None,
                        channel=Channel.TELEGRAM, now=NOW)  # fmt: skip
    refreshed = await session.get(Project, project.id, populate_existing=True)
    assert refreshed is not None and refreshed.resumed_on == date(2026, 11, 26)


@pytest.mark.parametrize(
    ("case", "fragment"),
    [
        ("late", "已于2026-11-28 12:00截止"),
        ("not_yours", "不由您负责"),
        ("over_total", "超过项目剩余总投资4.00亿元"),
    ],
)
async def test_refusals_store_nothing(
    session: AsyncSession, settings: Settings, case: str, fragment: str
) -> None:
    world = await make_world(session)
    project = world.projects[2] if case == "not_yours" else world.projects[0]
    assert project.id and world.lead.id
    now = datetime(2026, 11, 28, 4, 1, tzinfo=UTC) if case == "late" else NOW
    amount = Decimal("400000000.01") if case == "over_total" else Decimal("1")
    with pytest.raises(ReportError) as caught:
        await submit_report(session, settings=settings, project_id=project.id, reporter_id=world.lead.id, week=WEEK,
                            stage=Stage.NEW, investment=amount, procedure_item_ids=[], blockers=None,
                            channel=Channel.TELEGRAM, now=now)  # fmt: skip
    assert fragment in str(caught.value)
    assert await _reports(session, project.id) == []


async def test_admin_correction_after_deadline(session: AsyncSession, settings: Settings) -> None:
    world = await make_world(session)
    project = world.projects[0]
    assert project.id
    late = datetime(2026, 12, 1, 4, 0, tzinfo=UTC)
    report = await submit_report(session, settings=settings, project_id=project.id, reporter_id=world.admin.id,
                                 week=WEEK, stage=Stage.PREPARATORY, investment=Decimal("400000000"),
                                 procedure_item_ids=[], blockers=None, channel=Channel.ADMIN, now=late)  # fmt: skip
    assert report.is_current and report.channel == Channel.ADMIN
