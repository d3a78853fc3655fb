"""The demo's bot week on the sample list: every prompt either answered with a stored report or counted unanswered."""

from __future__ import annotations

from datetime import date

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.demo_week import run_bot_week
from models import Invite, Person, ProgressReport, WeekPrompt
from models.db import SessionMaker
from notifier.core.settings import Settings
from notifier.demo.sample import load_sample


async def test_bot_week_on_the_sample(
    session: AsyncSession, settings: Settings, sessionmaker: SessionMaker
) -> None:
    await load_sample(session, as_of=date(2026, 11, 24))
    await session.commit()
    result = await run_bot_week(settings, sessionmaker, week="2026-W47")
    prompts = (await session.exec(select(func.count()).select_from(WeekPrompt))).one()
    reports = (await session.exec(select(func.count()).select_from(ProgressReport)
                                  .where(col(ProgressReport.is_current).is_(True)))).one()  # fmt: skip
    assert result.prompts == prompts == 100
    assert result.reports == reports and result.unanswered == prompts - reports
    assert 80 <= reports <= 95  # about 88% of the leads answer
    assert result.re_asked > 0
    used = (
        await session.exec(select(func.count()).select_from(Invite).where(col(Invite.used_at).is_not(None)))
    ).one()
    bound = (
        await session.exec(
            select(func.count()).select_from(Person).where(col(Person.telegram_id).is_not(None))
        )
    ).one()
    assert used == bound == result.bound
