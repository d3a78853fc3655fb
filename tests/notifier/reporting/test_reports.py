"""submit_report: versions, deadline, ownership, remaining total, project dates and procedure items."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import insert, text
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Channel, ProcedureItem, ProgressReport, Project, Stage
from models.db import SessionMaker
from notifier.core.settings import Settings
from notifier.reporting.reports import ReportError, report_deadline, submit_report
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


async def test_a_report_racing_another_of_the_same_week_is_stored_after_it(
    session: AsyncSession, settings: Settings, sessionmaker: SessionMaker
) -> None:
    """Two submissions of one project and week at once (two bot processes, the bot and the web form):
    the second waits on the one-current-version index while the first is being stored, then is stored
    as the next version instead of failing — nothing the lead sent is lost."""
    engine = sessionmaker.kw["bind"]
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time: submissions cannot race")
    world = await make_world(session)
    project = world.projects[0]
    assert project.id and world.lead.id
    other = {"project_id": project.id, "week": WEEK, "year": 2026, "week_end": date(2026, 11, 29),
             "reporter_id": world.lead.id, "channel": Channel.WEB, "investment": Decimal("1000000"),
             "procedures_completed": 0, "procedure_names": "[]", "stage": Stage.NEW, "submitted_at": NOW,
             "is_current": True, "version": 1}  # fmt: skip
    async with engine.connect() as first:
        await first.execute(insert(ProgressReport).values(**other))  # stored, not yet committed
        async with sessionmaker() as racing:
            pending = asyncio.create_task(
                submit_report(
                    racing,
                    settings=settings,
                    project_id=project.id,
                    reporter_id=world.lead.id,
                    week=WEEK,
                    stage=Stage.NEW,
                    investment=Decimal("2000000"),
                    procedure_item_ids=[],
                    blockers=None,
                    channel=Channel.TELEGRAM,
                    now=NOW,
                )  # fmt: skip
            )
            async with engine.connect() as watcher:  # until the racing insert waits on the index
                for _ in range(200):
                    waiting = (await watcher.execute(text(
                        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"))).scalar_one()  # fmt: skip
                    if waiting or pending.done():
                        break
                    await asyncio.sleep(0.02)
            assert not pending.done()
            await first.commit()
            stored = await pending
    assert stored.version == 2
    rows = await _reports(session, project.id)
    assert [(r.version, r.is_current, r.investment) for r in rows] == [
        (1, False, Decimal("1000000.00")),
        (2, True, Decimal("2000000.00")),
    ]
