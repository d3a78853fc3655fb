"""Calendar crons: each run twice for the same period does its work once (real Redis, real DB)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from arq.connections import RedisSettings, create_pool
from sqlmodel import select

from models import JobRun
from models.db import SessionMaker
from notifier.core.settings import Settings, load_settings
from notifier.jobs import calendar
from notifier.jobs.calendar import cron_jobs, run_week_step

TZ = ZoneInfo("Asia/Shanghai")


@pytest.fixture
async def ctx(
    redis: Any, redis_url: str, sessionmaker: SessionMaker, settings: Settings
) -> AsyncIterator[dict[str, Any]]:
    pool = await create_pool(RedisSettings.from_dsn(redis_url))
    yield {"settings": settings, "sessionmaker": sessionmaker, "redis": pool}
    await pool.aclose()


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """Stand-ins for the bot's prompt jobs, recording (step, week) for each call."""
    recorded: list[tuple[str, str]] = []

    def target(name: str) -> Any:
        async def job(ctx: dict[str, Any], week: str) -> str:
            recorded.append((name, week))
            return f"{name} done"

        return job

    for step, (field, real) in list(calendar.WEEKLY_TARGETS.items()):
        monkeypatch.setitem(calendar.WEEKLY_TARGETS, step, (field, target(real.__name__)))
    return recorded


async def test_weekly_prompt_run_twice_prompts_once(
    ctx: dict[str, Any], calls: list[tuple[str, str]]
) -> None:
    first = await run_week_step(ctx, "prompt", today=date(2026, 11, 26))
    second = await run_week_step(ctx, "prompt", today=date(2026, 11, 26))
    assert calls == [("weekly_prompt", "2026-W48")]
    assert first == ["2026-W48: weekly_prompt done"] and second == ["2026-W48: already run"]
    async with ctx["sessionmaker"]() as session:
        run = await session.get(JobRun, "prompt:2026-W48")
    assert run is not None and run.finished_at is not None and run.result == "weekly_prompt done"


async def test_moved_deadline_runs_both_weeks_once_each(
    ctx: dict[str, Any], calls: list[tuple[str, str]]
) -> None:
    for _ in range(2):
        await run_week_step(ctx, "deadline", today=date(2026, 10, 10))  # 调休 Saturday after National Day
    await run_week_step(ctx, "deadline", today=date(2026, 10, 3))  # the holiday: nothing due
    assert calls == [("deadline_round", "2026-W40"), ("deadline_round", "2026-W41")]


async def test_reminder_on_other_days_does_nothing(ctx: dict[str, Any], calls: list[tuple[str, str]]) -> None:
    assert await run_week_step(ctx, "reminder", today=date(2026, 11, 26)) == []
    assert calls == []


async def test_dispatch_crons_compose_only_within_the_lead(ctx: dict[str, Any]) -> None:
    from notifier.jobs.bulletins import cron_jobs as bulletin_crons

    crons = {job.name: job for job in bulletin_crons(ctx["settings"])}
    job = crons["cron:investment_compose_cron"]
    assert (job.hour, job.minute) == ({8}, {0})  # 20 09:00 less BULLETIN_COMPOSE_LEAD_MINUTES (60)
    with time_machine.travel(datetime(2026, 11, 19, 8, 0, tzinfo=TZ), tick=False):
        assert await job.coroutine(ctx) == "not due"
    with time_machine.travel(datetime(2026, 11, 20, 8, 0, tzinfo=TZ), tick=False):
        assert (await job.coroutine(ctx)).endswith("draft")
    async with ctx["sessionmaker"]() as session:
        from models import Bulletin

        [bulletin] = (await session.exec(select(Bulletin))).all()
    assert bulletin.send_at is not None
    assert bulletin.send_at.astimezone(TZ) == datetime(2026, 11, 20, 9, 0, tzinfo=TZ)


def test_crons_fire_at_the_configured_times_of_day() -> None:
    settings = load_settings(_env_file=None, schedule_prompt="wed 07:15", schedule_deadline="sun 18:45",
                             schedule_alerts="06:10")  # fmt: skip
    times = {job.name: (job.hour, job.minute, job.second) for job in cron_jobs(settings)}
    assert times == {
        "cron:prompt_cron": ({7}, {15}, {0}),
        "cron:reminder_cron": ({9}, {0}, {0}),
        "cron:deadline_cron": ({18}, {45}, {0}),
        "cron:alerts_cron": ({6}, {10}, {0}),
    }


def test_worker_registers_the_calendar_in_the_office_time_zone() -> None:
    import worker

    settings = load_settings(_env_file=None, timezone="Asia/Shanghai")
    names = {job.name for job in worker.cron_jobs(settings)}
    assert {"cron:prompt_cron", "cron:reminder_cron", "cron:deadline_cron", "cron:alerts_cron"} <= names
    assert worker.worker_settings(settings, "redis://127.0.0.1:6379/4")["timezone"].key == "Asia/Shanghai"
    assert "raise_alerts_job" in {getattr(f, "__name__", "") for f in worker.job_functions()}


async def test_failed_step_keeps_its_claim_and_records_why(
    ctx: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(ctx: dict[str, Any], week: str) -> str:
        raise RuntimeError("bot unreachable")

    monkeypatch.setitem(calendar.WEEKLY_TARGETS, "prompt", ("schedule_prompt", broken))
    with pytest.raises(RuntimeError):
        await run_week_step(ctx, "prompt", today=date(2026, 11, 26))
    assert await run_week_step(ctx, "prompt", today=date(2026, 11, 26)) == ["2026-W48: already run"]
    async with ctx["sessionmaker"]() as session:
        run = await session.get(JobRun, "prompt:2026-W48")
    assert run is not None and run.result is not None and "bot unreachable" in run.result


@pytest.mark.parametrize(
    ("job", "after", "expected"),
    [
        (
            "cron:alerts_cron",
            datetime(2026, 11, 24, 10, 0, tzinfo=TZ),
            datetime(2026, 11, 25, 9, 30, tzinfo=TZ),
        ),
        (
            "cron:prompt_cron",
            datetime(2026, 11, 24, 10, 0, tzinfo=TZ),
            datetime(2026, 11, 25, 9, 0, tzinfo=TZ),
        ),
        (
            "cron:deadline_cron",
            datetime(2026, 11, 24, 3, 0, tzinfo=UTC),
            datetime(2026, 11, 24, 12, 0, tzinfo=TZ),
        ),
    ],
)
def test_arq_evaluates_the_crons_in_the_office_time_zone(
    job: str, after: datetime, expected: datetime
) -> None:
    """arq computes the next run from a time in the worker's zone; ours is TIMEZONE (Asia/Shanghai)."""
    settings = load_settings(_env_file=None)
    cron_job = {j.name: j for j in cron_jobs(settings)}[job]
    cron_job.calculate_next(after.astimezone(settings.tz))
    assert cron_job.next_run is not None
    assert cron_job.next_run.replace(microsecond=0) == expected  # arq fires at .123456 past the second


def test_worker_settings_class_uses_the_office_time_zone() -> None:
    import worker

    assert worker.WorkerSettings.timezone == load_settings().tz


async def test_bulletin_crons_run_twice_send_once(ctx: dict[str, Any], sessionmaker: SessionMaker) -> None:
    """The weekly bulletin and the monthly dispatch crons (notifier.jobs.bulletins) under the calendar's rule."""
    from models import Bulletin, Campaign, CampaignKind, Person, Role
    from notifier.jobs.bulletins import cron_jobs as bulletin_crons
    from notifier.jobs.bulletins import release_bulletins_job, send_bulletin_job

    # A send time of midnight has always passed when the cron fires, whatever the hour of the run.
    ctx["settings"] = ctx["settings"].model_copy(
        update={"bulletin_approval": "auto", "schedule_bulletin": "mon 00:00"}
    )
    async with sessionmaker() as session:
        session.add(Person(name="盟领导", phone="+8613904830031", role=Role.LEADER))
        await session.commit()
    crons = {job.name: job.coroutine for job in bulletin_crons(ctx["settings"])}
    # The dispatch of the 10th is composed an hour ahead of 09:00; released once due.
    with time_machine.travel(datetime(2026, 11, 10, 8, 0, tzinfo=TZ), tick=False):
        for _ in range(2):
            await crons["cron:weekly_compose_cron"](ctx)
            await crons["cron:procedures_compose_cron"](ctx)
    with time_machine.travel(datetime(2026, 11, 10, 9, 0, 30, tzinfo=TZ), tick=False):
        for _ in range(2):
            await release_bulletins_job(ctx)
    await send_bulletin_job(ctx, "investment", "2026-11-20")
    await send_bulletin_job(ctx, "investment", "2026-11-20")
    async with sessionmaker() as session:
        kinds = sorted(b.kind for b in (await session.exec(select(Bulletin))).all())
        campaigns = (await session.exec(select(Campaign).where(Campaign.kind == CampaignKind.BULLETIN))).all()
    assert kinds == ["investment", "procedures", "weekly"]
    assert len(campaigns) == 3


async def test_weekly_bulletin_waits_for_its_send_time(
    ctx: dict[str, Any], sessionmaker: SessionMaker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Composed ahead of a send time still to come, the weekly bulletin is a draft and nothing goes out."""
    from models import Bulletin, BulletinState, Campaign, Person, Role
    from notifier.jobs import bulletins as bulletin_jobs

    later_8am = datetime.combine(date.today() + timedelta(days=2), time(8, 0))

    class Later(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> Any:  # type: ignore[override]
            return later_8am.replace(tzinfo=tz)

    monkeypatch.setattr(bulletin_jobs, "datetime", Later)
    ctx["settings"] = ctx["settings"].model_copy(update={"bulletin_approval": "auto"})
    async with sessionmaker() as session:
        session.add(Person(name="盟领导", phone="+8613904830031", role=Role.LEADER))
        await session.commit()
    await bulletin_jobs.weekly_compose_cron(ctx)
    await bulletin_jobs.release_bulletins_job(ctx)
    async with sessionmaker() as session:
        bulletins = (await session.exec(select(Bulletin))).all()
        campaigns = (await session.exec(select(Campaign))).all()
    assert [(b.kind, b.state) for b in bulletins] == [("weekly", BulletinState.APPROVED)]
    assert bulletins[0].send_at is not None and bulletins[0].send_at > datetime.now(UTC)
    assert campaigns == []
