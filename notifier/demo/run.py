"""`guatu demo`: the whole weekly cycle on embedded defaults, end to end, with real components.

Steps: a fresh SQLite database (migrated with Alembic); the 100-project sample list; a week of
lead replies fed through the real bot dispatcher; the leads who left it unanswered reminded and
answering in WeCom (a fake WeCom app, the real callback URL); the real arq worker composing the weekly
bulletin and mass-sending it through the file SMS backend, its card with 已阅 to the league leaders in
WeCom and one read through the callback; then the bulletin and a summary.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from sqlalchemy.ext.asyncio import AsyncEngine

from models import utcnow
from models.db import SessionMaker, create_engine, create_sessionmaker, session_scope
from models.migrate import upgrade
from notifier.core.settings import Settings
from notifier.core.texts import label, t
from notifier.demo.sample import load_sample


@dataclass
class DemoRun:
    settings: Settings
    redis_url: str
    as_of: date
    console: Console
    directory: Path = Path(".")
    engine: AsyncEngine | None = None
    sessionmaker: SessionMaker | None = None
    results: dict[str, Any] = field(default_factory=dict)
    wecom: Any = None  # wecom.demo.WecomDemo: the fake WeCom app, open from the WeCom step to the bulletin

    @property
    def lang(self) -> str:
        return self.settings.language


Step = Callable[[DemoRun], Awaitable[None]]


async def step_database(run: DemoRun) -> None:
    run.engine = create_engine(run.settings.database_url)
    run.sessionmaker = create_sessionmaker(run.engine)
    await upgrade(run.engine)


async def step_sample(run: DemoRun) -> None:
    assert run.sessionmaker is not None
    async with session_scope(run.sessionmaker) as session:
        counts = await load_sample(session, as_of=run.as_of)
    run.console.print(t("core.demo.sample_done", run.lang, **counts.__dict__))


async def step_bot_week(run: DemoRun) -> None:
    """Leads bind by invite, get the week's prompt and reply through the real bot Dispatcher (no network)."""
    from bot.demo_week import run_bot_week  # aiogram is imported only when the demo gets here
    from notifier.numbers.weeks import previous_week, week_key

    assert run.sessionmaker is not None
    week = previous_week(week_key(run.as_of))  # the last complete week, which Monday's bulletin reports
    result = await run_bot_week(run.settings, run.sessionmaker, week=week)
    run.results["bot_week"] = result.__dict__
    run.console.print(t("bot.demo.done", run.lang, **result.__dict__))


async def step_wecom(run: DemoRun) -> None:
    """The week's unanswered leads in WeCom, on the fake WeCom app (wecom/demo.py)."""
    from notifier.numbers.weeks import previous_week, week_key
    from wecom.demo import WecomDemo, run_wecom_week, summary

    assert run.sessionmaker is not None
    run.wecom = await WecomDemo.start(run.settings, run.sessionmaker, redis_url=run.redis_url)
    result = await run_wecom_week(run.wecom, run.sessionmaker, week=previous_week(week_key(run.as_of)))
    run.results["wecom_week"] = result.__dict__
    run.console.print(summary(result, run.lang))


async def step_worker_bulletin(run: DemoRun) -> None:
    """Compose the weekly bulletin as a draft, sign it off, and let the real arq worker send it."""
    from arq import create_pool
    from arq.connections import RedisSettings
    from arq.worker import Worker
    from sqlmodel import select

    import worker as worker_module
    from models import BulletinKind, Person, Role
    from notifier.bulletins.compose import draft_bulletin
    from notifier.bulletins.signoff import approve_bulletin

    assert run.sessionmaker is not None
    async with run.sessionmaker() as session:
        admin = (await session.exec(select(Person).where(Person.role == Role.ADMIN))).first()
        bulletin, composed = await draft_bulletin(session, settings=run.settings, kind=BulletinKind.WEEKLY,
                                                  as_of=run.as_of, send_at=utcnow(),
                                                  composed_by_id=admin.id if admin else None)  # fmt: skip
        if bulletin.state == "draft":
            await approve_bulletin(session, settings=run.settings, bulletin_id=bulletin.id or 0, person=admin,
                                   channel="cli")  # fmt: skip
            await session.commit()
            run.console.print(
                t("core.demo.approved", run.lang, id=bulletin.id, name=admin.name if admin else "")
            )
    run.results["bulletin"] = composed
    pool = await create_pool(RedisSettings.from_dsn(run.redis_url))
    try:
        await pool.enqueue_job("release_bulletins_job", _job_id=f"demo-release:{bulletin.id}")
    finally:
        await pool.aclose()
    settings = run.settings
    if run.wecom is not None:  # the worker runs with WeCom on (the fake): league leaders get the card
        from wecom.demo import league_leaders_join

        settings = run.wecom.settings
        await league_leaders_join(run.wecom, run.sessionmaker)
    options = worker_module.worker_settings(settings, run.redis_url)
    options["cron_jobs"] = []  # the demo runs its jobs now, not on the calendar
    demo_worker = Worker(**options, burst=True, poll_delay=0.05, handle_signals=False)
    try:
        await demo_worker.main()
    finally:
        await demo_worker.close()
    if run.wecom is not None:
        from wecom.demo import bulletin_summary, read_in_wecom

        read = await read_in_wecom(run.wecom, run.sessionmaker, bulletin_id=bulletin.id or 0)
        run.results["wecom_bulletin"] = read.__dict__
        run.console.print(bulletin_summary(read, run.lang))
    run.console.rule(t("bulletin.kind.weekly", run.lang) + f" {composed.period_key}")
    run.console.print(composed.sms, highlight=False, markup=False)


async def step_summary(run: DemoRun) -> None:
    """Every campaign of the demo with its delivery counts, segments and cost, read from the database."""
    from rich.table import Table

    from notifier.sending.campaigns import campaign_status, list_campaigns

    assert run.sessionmaker is not None
    table = Table(title=t("core.demo.step_summary", run.lang))
    for i, heading in enumerate(t("sms.summary.columns", run.lang).split(",")):
        table.add_column(heading, justify="left" if 0 < i < 3 else "right", overflow="fold")
    async with run.sessionmaker() as session:
        for campaign in reversed(await list_campaigns(session)):
            status = await campaign_status(session, campaign_id=campaign.id or 0)
            c = status.counts
            table.add_row(str(campaign.id), label("CampaignKind", campaign.kind, run.lang),
                          label("CampaignState", status.state, run.lang), str(c["sent"]), str(c["delivered"]),
                          str(c["failed"]), str(c["skipped"]), str(c["pending"] + c["sending"]),
                          str(campaign.segments), f"{campaign.estimated_cost:.2f}")  # fmt: skip
            run.results.setdefault("campaigns", []).append(status.to_json())
    run.console.print(table)
    outbox = run.settings.sms_file_path
    lines = outbox.read_text(encoding="utf-8").count("\n") if outbox.exists() else 0
    run.console.print(t("core.demo.outbox", run.lang, count=lines, path=outbox))


async def step_files(run: DemoRun) -> None:
    """The unit ranking chart (PNG) of the week's bulletin and the monthly report workbook (.xlsx),
    written into the demo's folder."""
    from models import BulletinKind
    from notifier.bulletins.charts import ranking_chart
    from notifier.bulletins.compose import compose_bulletin
    from notifier.bulletins.workbook import monthly_workbook
    from notifier.numbers.rates import project_figures

    assert run.sessionmaker is not None
    async with run.sessionmaker() as session:
        weekly = run.results.get("bulletin") or await compose_bulletin(
            session, settings=run.settings, kind=BulletinKind.WEEKLY, as_of=run.as_of
        )
        monthly = await compose_bulletin(
            session, settings=run.settings, kind=BulletinKind.MONTHLY, as_of=run.as_of
        )
        figures = await project_figures(session, as_of=monthly.numbers.as_of, year=monthly.numbers.year)
    chart = run.directory / "ranking-chart.png"
    chart.write_bytes(ranking_chart(weekly.numbers, lang=run.lang))
    workbook = run.directory / f"monthly-report-{monthly.period_key}.xlsx"
    workbook.write_bytes(monthly_workbook(monthly.numbers, figures))
    run.results["files"] = {"chart": str(chart), "workbook": str(workbook)}
    run.console.print(
        t("cli.demo.chart", run.lang, path=chart), highlight=False, markup=False, soft_wrap=True
    )
    run.console.print(
        t("cli.demo.workbook", run.lang, path=workbook), highlight=False, markup=False, soft_wrap=True
    )


STEPS: list[tuple[str, Step]] = [
    ("core.demo.step_db", step_database),
    ("core.demo.step_sample", step_sample),
    ("core.demo.step_bot", step_bot_week),
    ("wecom.demo.step", step_wecom),
    ("core.demo.step_worker", step_worker_bulletin),
    ("core.demo.step_summary", step_summary),
    ("cli.demo.step_files", step_files),
]


def prepare_directory(directory: Path) -> None:
    """The demo starts from nothing each time: its own directory, wiped."""
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)


async def run_demo(
    settings: Settings, *, redis_url: str, as_of: date | None, console: Console, directory: Path = Path(".")
) -> DemoRun:
    run = DemoRun(settings=settings, redis_url=redis_url, as_of=as_of or datetime.now(settings.tz).date(),
                  console=console, directory=directory)  # fmt: skip
    started = time.monotonic()
    console.rule(t("core.demo.title", run.lang))
    try:
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                      console=console, transient=False) as progress:  # fmt: skip
            overall = progress.add_task("", total=len(STEPS))
            for key, step in STEPS:
                progress.update(overall, description=t(key, run.lang))
                await step(run)
                progress.advance(overall)
    finally:
        if run.wecom is not None:
            await run.wecom.aclose()
        if run.engine is not None:
            await run.engine.dispose()
    run.results["seconds"] = time.monotonic() - started
    return run
