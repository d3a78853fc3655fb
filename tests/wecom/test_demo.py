"""The demo's WeCom channel on the sample list: the leads who did not answer in Telegram are reminded
in WeCom and every one of their projects is reported through the callback URL; then the worker's
bulletin step runs with WeCom on (the same fake), the league leaders get the bulletin card with 已阅
and one read is recorded through the callback — and nothing says WeCom is off."""

from __future__ import annotations

import logging
from datetime import date
from io import StringIO

import pytest
from rich.console import Console
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.demo_week import run_bot_week
from models import BulletinRead, BulletinRecipient, LeaderLevel, Person, ProgressReport, Role, WecomState
from models.db import SessionMaker
from notifier.core.settings import Settings
from notifier.core.texts import t
from notifier.demo.run import DemoRun, step_worker_bulletin
from notifier.demo.sample import load_sample
from wecom.demo import WecomDemo, run_wecom_week, summary

AS_OF = date(2026, 11, 24)


async def test_wecom_week_then_the_bulletin_read_in_wecom(
    session: AsyncSession, settings: Settings, sessionmaker: SessionMaker, redis_url: str, redis: object,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    await load_sample(session, as_of=AS_OF)
    await session.commit()
    bot = await run_bot_week(settings, sessionmaker, week="2026-W47")
    assert bot.unanswered > 0
    demo = await WecomDemo.start(settings, sessionmaker, redis_url=redis_url)
    try:
        result = await run_wecom_week(demo, sessionmaker, week="2026-W47")
        reports = (await session.exec(select(ProgressReport.channel, func.count()).where(
            col(ProgressReport.is_current).is_(True)).group_by(col(ProgressReport.channel)))).all()  # fmt: skip
        assert dict(reports) == {"telegram": bot.reports, "wecom": bot.unanswered}
        assert result.reports == result.reminded == bot.unanswered
        bound = (await session.exec(select(func.count()).select_from(Person).where(
            Person.wecom_state == WecomState.BOUND))).one()  # fmt: skip
        assert result.leads == bound > 0
        assert result.token_refreshes == 2  # the token expired halfway and was fetched again
        assert summary(result, "zh").startswith(f"企业微信:{bound} 位负责人按手机号绑定")

        out = StringIO()
        run = DemoRun(settings=settings, redis_url=redis_url, as_of=AS_OF, sessionmaker=sessionmaker,
                      console=Console(file=out, width=200), wecom=demo)  # fmt: skip
        with caplog.at_level(logging.INFO):
            await step_worker_bulletin(run)
    finally:
        await demo.aclose()

    assert t("wecom.off", "zh") not in caplog.text and "WeCom is off" not in out.getvalue()
    read = run.results["wecom_bulletin"]
    league = (await session.exec(select(Person.id).where(Person.role == Role.LEADER,
                                                         Person.level == LeaderLevel.LEAGUE))).all()  # fmt: skip
    recipients = (await session.exec(select(BulletinRecipient.person_id).where(
        BulletinRecipient.bulletin_id == read["bulletin_id"]))).all()  # fmt: skip
    assert set(league) <= set(recipients) and len(recipients) > len(league)  # unit leaders too, by SMS
    carded = {m.userid for m in demo.fake.messages if ("已阅", f"rd:{read['bulletin_id']}") in m.buttons}
    assert carded == {f"wx-{i}" for i in league}  # only the league leaders are in WeCom
    rows = (await session.exec(select(BulletinRead.person_id, BulletinRead.via))).all()
    assert len(rows) == 1 and rows[0][1] == "wecom" and rows[0][0] in league
    assert (read["cards"], read["reads"]) == (len(league), 1)
    assert f"送达 {len(league)} 位领导" in out.getvalue() and "记录 1 次已阅" in out.getvalue()
