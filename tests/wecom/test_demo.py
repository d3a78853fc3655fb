"""The demo's WeCom week on the sample list: the leads who did not answer in Telegram are reminded
in WeCom and every one of their projects is reported through the callback URL."""

from __future__ import annotations

from datetime import date

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.demo_week import run_bot_week
from models import Person, ProgressReport, WecomState
from models.db import SessionMaker
from notifier.core.settings import Settings
from notifier.demo.sample import load_sample
from wecom.demo import run_wecom_week, summary


async def test_wecom_week_after_the_bot_week(
    session: AsyncSession, settings: Settings, sessionmaker: SessionMaker, redis_url: str, redis: object
) -> None:
    await load_sample(session, as_of=date(2026, 11, 24))
    await session.commit()
    bot = await run_bot_week(settings, sessionmaker, week="2026-W47")
    assert bot.unanswered > 0
    result = await run_wecom_week(settings, sessionmaker, week="2026-W47", redis_url=redis_url)
    reports = (await session.exec(select(ProgressReport.channel, func.count()).where(
        col(ProgressReport.is_current).is_(True)).group_by(col(ProgressReport.channel)))).all()  # fmt: skip
    assert dict(reports) == {"telegram": bot.reports, "wecom": bot.unanswered}
    assert result.reports == result.reminded == bot.unanswered
    bound = (await session.exec(select(func.count()).select_from(Person).where(
        Person.wecom_state == WecomState.BOUND))).one()  # fmt: skip
    assert result.leads == bound > 0
    assert result.token_refreshes == 2  # the token expired halfway and was fetched again
    assert summary(result, "zh").startswith(f"企业微信:{bound} 位负责人按手机号绑定")
