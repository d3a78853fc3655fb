"""A month of the worker's bulletin crons under the default BULLETIN_APPROVAL=required: the 10th and
20th dispatches and the monthly report are composed ahead of their send time, an approver signs
each draft off in Telegram, and each goes out at its send time; a draft nobody approves is not
sent, approvers are told, the archive shows it late, and "approve and send now" still sends it.

The clock is moved with time-machine from one cron firing to the next, as arq computes them
(CronJob.calculate_next over the worker's own cron list). The every-minute release cron runs at
each of those firings and at each draft's send time (it has nothing to do in the minutes between).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from arq.connections import RedisSettings, create_pool
from sqlmodel import col, select

import worker
from models import (
    Bulletin,
    BulletinKind,
    BulletinState,
    Campaign,
    CampaignState,
    Delivery,
    DeliveryState,
    LeaderLevel,
    Person,
    Project,
    Role,
    Stage,
    Unit,
    UnitKind,
)
from models.db import SessionMaker
from notifier.bulletins.signoff import ArchiveStatus, approve_bulletin, approve_late, list_archive
from notifier.core.settings import Settings
from notifier.jobs import bulletins as bulletin_jobs
from notifier.jobs.sms import send_campaign

TZ = ZoneInfo("Asia/Shanghai")
APPROVER_TELEGRAM = 7001


@pytest.fixture
async def ctx(
    redis: Any, redis_url: str, sessionmaker: SessionMaker, settings: Settings
) -> AsyncIterator[dict[str, Any]]:
    pool = await create_pool(RedisSettings.from_dsn(redis_url))
    context: dict[str, Any] = {"settings": settings, "redis": pool}
    await worker.startup(context)
    context["sessionmaker"] = sessionmaker
    yield context
    await worker.shutdown(context)
    await pool.aclose()


async def _office(sessionmaker: SessionMaker) -> None:
    async with sessionmaker() as session:
        unit = Unit(code="ALZQ", name="阿拉善左旗", short_name="阿左旗", kind=UnitKind.BANNER)
        session.add(unit)
        await session.flush()
        session.add_all([
            Person(name="审核人", phone="+8613904830100", role=Role.APPROVER, telegram_id=APPROVER_TELEGRAM),
            Person(name="盟领导", phone="+8613904830101", role=Role.LEADER, level=LeaderLevel.LEAGUE),
            Person(name="旗领导", phone="+8613904830102", role=Role.LEADER, level=LeaderLevel.UNIT, unit_id=unit.id),
            Project(code="P1", name="供水工程", unit_id=unit.id or 0, year=2026, stage=Stage.CONTINUING,
                    annual_plan=Decimal(1000), ytd_base=Decimal(600)),
        ])  # fmt: skip
        await session.commit()


async def _open(sessionmaker: SessionMaker) -> list[Bulletin]:
    """Drafts and approved bulletins still to go."""
    async with sessionmaker() as session:
        return list((await session.exec(select(Bulletin).where(
            col(Bulletin.state).in_([BulletinState.DRAFT, BulletinState.APPROVED])))).all())  # fmt: skip


async def _send_queued(ctx: dict[str, Any]) -> None:
    """What the worker's send jobs do once queued: send every queued campaign."""
    async with ctx["sessionmaker"]() as session:
        queued = (await session.exec(select(Campaign.id).where(Campaign.state == CampaignState.QUEUED))).all()
    for campaign_id in queued:
        await send_campaign(ctx, campaign_id or 0)


async def _run_month(ctx: dict[str, Any], start: datetime, end: datetime, *, approve: bool) -> list[str]:
    crons = [
        job for job in bulletin_jobs.cron_jobs(ctx["settings"]) if job.name != "cron:release_bulletins_job"
    ]
    release = next(
        j for j in bulletin_jobs.cron_jobs(ctx["settings"]) if j.name == "cron:release_bulletins_job"
    )
    log: list[str] = []
    now = start
    with time_machine.travel(now, tick=False) as clock:
        while True:
            for job in [*crons, release]:
                job.calculate_next(now)
            drafts = await _open(ctx["sessionmaker"])
            send_times = [d.send_at for d in drafts if d.send_at is not None]
            after_sends = []
            for send_at in send_times:
                release.calculate_next(send_at.astimezone(TZ) - timedelta(seconds=1))
                after_sends.append(release.next_run)
            moment = min([j.next_run for j in crons if j.next_run] + [m for m in after_sends if m])
            if moment >= end:
                break
            now = moment
            clock.move_to(now)
            for job in crons:
                if job.next_run == moment:
                    log.append(f"{now:%m-%d %H:%M} {job.name}: {await job.coroutine(ctx)}")
            log.append(f"{now:%m-%d %H:%M} release: {await bulletin_jobs.release_bulletins_job(ctx)}")
            if approve:  # the approver, asked in Telegram by the release run, taps Approve on each new draft's Telegram message
                async with ctx["sessionmaker"]() as session:
                    for draft in (
                        await session.exec(select(Bulletin).where(Bulletin.state == BulletinState.DRAFT))
                    ).all():
                        approver = (
                            await session.exec(select(Person).where(Person.role == Role.APPROVER))
                        ).one()
                        await approve_bulletin(session, settings=ctx["settings"], bulletin_id=draft.id or 0,
                                               person=approver, channel="telegram")  # fmt: skip
                        await session.commit()
            await _send_queued(ctx)
    return log


async def test_dispatches_and_monthly_report_go_out_under_sign_off(ctx: dict[str, Any]) -> None:
    assert ctx["settings"].bulletin_approval == "required"
    await _office(ctx["sessionmaker"])
    log = await _run_month(ctx, datetime(2026, 11, 30, 12, 0, tzinfo=TZ), datetime(2027, 1, 1, 12, 0, tzinfo=TZ),
                           approve=True)  # fmt: skip
    async with ctx["sessionmaker"]() as session:
        bulletins = (await session.exec(select(Bulletin).order_by(col(Bulletin.id)))).all()
        by_kind = {(b.kind, b.period_key): b for b in bulletins}
        for key in [(BulletinKind.MONTHLY, "2026-11"), (BulletinKind.PROCEDURES, "2026-12"),
                    (BulletinKind.INVESTMENT, "2026-12"), (BulletinKind.MONTHLY, "2026-12")]:  # fmt: skip
            bulletin = by_kind[key]
            assert bulletin.state == BulletinState.SENT, (key, log)
            # Composed an hour ahead (BULLETIN_COMPOSE_LEAD_MINUTES), sent at its send time.
            assert bulletin.send_at is not None and bulletin.sent_at is not None
            ahead = bulletin.send_at - bulletin.created_at.replace(tzinfo=bulletin.send_at.tzinfo)
            assert timedelta(minutes=59) < ahead <= timedelta(hours=1)  # arq fires at .123456 s
            assert timedelta(0) <= bulletin.sent_at - bulletin.send_at < timedelta(minutes=1)
            campaign = (await session.exec(select(Campaign).where(Campaign.bulletin_id == bulletin.id))).one()
            assert campaign.state == CampaignState.DONE
            states = (
                await session.exec(select(Delivery.state).where(Delivery.campaign_id == campaign.id))
            ).all()
            assert sorted(states) == [DeliveryState.SENT, DeliveryState.SENT]
        # The monthly report sent on 1 January covers December and the 2026 list.
        assert by_kind[(BulletinKind.MONTHLY, "2026-12")].as_of.isoformat() == "2026-12-31"
        archive = await list_archive(session)
    monthly = {e.period_key: e.status for e in archive if e.kind == BulletinKind.MONTHLY}
    assert monthly == {"2026-11": ArchiveStatus.SENT, "2026-12": ArchiveStatus.SENT}
    # The approver was asked about each draft in Telegram.
    asked = [m for m in ctx["chat"].sent if m.telegram_id == APPROVER_TELEGRAM and "通报待审核" in m.text]
    assert len(asked) >= 4


async def test_a_draft_nobody_approves_is_late_then_approved_and_sent_now(ctx: dict[str, Any]) -> None:
    await _office(ctx["sessionmaker"])
    await _run_month(ctx, datetime(2026, 12, 9, 12, 0, tzinfo=TZ), datetime(2026, 12, 10, 12, 0, tzinfo=TZ),
                     approve=False)  # fmt: skip
    async with ctx["sessionmaker"]() as session:
        [bulletin] = (await session.exec(select(Bulletin))).all()
        assert (bulletin.kind, bulletin.state) == (BulletinKind.PROCEDURES, BulletinState.EXPIRED)
        assert (await session.exec(select(Campaign))).all() == []
        [entry] = await list_archive(session)
        assert entry.status == ArchiveStatus.LATE and entry.sent_at is None
        told = [
            m for m in ctx["chat"].sent if m.telegram_id == APPROVER_TELEGRAM and "仍未审核,未发送" in m.text
        ]
        assert len(told) == 1
        approver = (await session.exec(select(Person).where(Person.role == Role.APPROVER))).one()
        await approve_late(session, settings=ctx["settings"], bulletin_id=bulletin.id or 0, person=approver,
                           channel="web")  # fmt: skip
        await session.commit()
    with time_machine.travel(datetime(2026, 12, 10, 12, 5, tzinfo=TZ), tick=False):
        await bulletin_jobs.release_bulletins_job(ctx)
        await _send_queued(ctx)
    async with ctx["sessionmaker"]() as session:
        [entry] = await list_archive(session)
    assert entry.status == ArchiveStatus.SENT_LATE and entry.recipients == 2
