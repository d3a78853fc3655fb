"""The demo's bot week: leads bind through /start, get the prompt, and reply through the real Dispatcher.

A Bot on a RecordingSession answers like Telegram without a network, so every handler, the FSM and
the report service run as in production.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import func
from sqlmodel import col, select

from bot.app import build_dispatcher
from bot.fake_session import RecordingSession, recording_bot
from bot.sender import AiogramChatSender
from models import Person, ProcedureItem, ProgressReport, Project, Stage
from models.db import SessionMaker
from notifier.core.settings import Settings
from notifier.numbers.holidays import schedule_for_week
from notifier.reporting.invites import create_invite
from notifier.reporting.prompts import send_weekly_prompts

TELEGRAM_BASE = 7_000_000
TYPOS = ("3OO万", "五百万万", "12,34万", "约800万")  # each refused with an example, then typed again


@dataclass
class BotWeek:
    week: str
    bound: int
    prompts: int
    reports: int
    unanswered: int
    re_asked: int
    requests: int


def _amount_text(project: Project, rng: random.Random) -> str:
    wan = max(1, int(Decimal(project.annual_plan) / 10_000 / rng.randint(30, 60)))
    return f"{wan / 10_000:.2f}亿" if wan >= 10_000 else rng.choice([f"{wan}万", f"{wan}万元", f"{wan}万"])


def _stage(project: Project, rng: random.Random) -> Stage:
    if project.stage == Stage.PREPARATORY and rng.random() < 0.3:
        return Stage.NEW  # construction started this week
    return Stage(project.stage)


async def run_bot_week(
    settings: Settings, sessionmaker: SessionMaker, *, week: str, seed: int = 2026
) -> BotWeek:
    """Bind every lead, prompt the week, feed ~88% of the replies (a few with typos); count what was stored."""
    rng = random.Random(seed)
    schedule = schedule_for_week(settings, week)
    now = schedule.prompt + timedelta(hours=1)
    recorded = RecordingSession()
    bot = recording_bot(recorded)
    clock_now = [now]
    dp = build_dispatcher(settings=settings, sessionmaker=sessionmaker, clock=lambda: clock_now[0])
    from aiogram.types import CallbackQuery, Chat, Message, Update, User

    counter = iter(range(1, 10**9))

    def message(user_id: int, text: str) -> Update:
        msg = Message(message_id=next(counter), date=now, chat=Chat(id=user_id, type="private"),
                      from_user=User(id=user_id, is_bot=False, first_name="L"), text=text)  # fmt: skip
        return Update(update_id=next(counter), message=msg)

    def tap(user_id: int, data: str) -> Update:
        query = CallbackQuery(id=str(next(counter)), from_user=User(id=user_id, is_bot=False, first_name="L"),
                              chat_instance="demo", data=data,
                              message=Message(message_id=next(counter), date=now,
                                              chat=Chat(id=user_id, type="private"), text="prompt"))  # fmt: skip
        return Update(update_id=next(counter), callback_query=query)

    async with sessionmaker() as session:
        leads = list((await session.exec(select(Person).where(
            col(Person.id).in_(select(Project.lead_id).where(col(Project.active).is_(True)))))).all())  # fmt: skip
        tokens = []
        for lead in leads:
            assert lead.id is not None
            tokens.append(
                (lead.id, (await create_invite(session, settings=settings, person_id=lead.id, now=now)).token)
            )
    for person_id, token in tokens:
        await dp.feed_update(bot, message(TELEGRAM_BASE + person_id, f"/start {token}"))
    async with sessionmaker() as session:
        result = await send_weekly_prompts(
            session, settings=settings, chat=AiogramChatSender(bot), week=week, now=now
        )
        query = select(Project).where(col(Project.active).is_(True)).order_by(col(Project.code))
        projects = list((await session.exec(query)).all())
        open_items = {
            pid: iid
            for pid, iid in (await session.exec(
                select(ProcedureItem.project_id, func.min(ProcedureItem.id))
                .where(col(ProcedureItem.done_on).is_(None)).group_by(col(ProcedureItem.project_id))
            )).all()
        }  # fmt: skip
    re_asked = 0
    for project in projects:
        if rng.random() >= 0.88 or project.lead_id is None:
            continue  # this lead does not answer this week
        user = TELEGRAM_BASE + project.lead_id
        clock_now[0] = now + timedelta(minutes=rng.randint(1, 1400))
        await dp.feed_update(bot, tap(user, f"rep:{project.id}:{week}"))
        await dp.feed_update(bot, tap(user, f"stg:{_stage(project, rng).value}"))
        if rng.random() < 0.08:
            await dp.feed_update(bot, message(user, rng.choice(TYPOS)))
            re_asked += 1
        await dp.feed_update(bot, message(user, _amount_text(project, rng)))
        if project.id in open_items:
            if rng.random() < 0.4:
                await dp.feed_update(bot, tap(user, f"itm:{open_items[project.id]}"))
            await dp.feed_update(bot, tap(user, "itm:0"))
        await dp.feed_update(bot, message(user, rng.choice(["无", "无", "征地协调进度慢", "资金未到位"])))
        await dp.feed_update(bot, tap(user, "cfm:1"))
    async with sessionmaker() as session:
        stored = (await session.exec(select(func.count()).select_from(ProgressReport).where(
            ProgressReport.week == week, col(ProgressReport.is_current).is_(True)))).one()  # fmt: skip
    await bot.session.close()
    prompts = result.chat + result.no_chat + result.blocked
    return BotWeek(week=week, bound=len(tokens), prompts=prompts, reports=int(stored),
                   unanswered=prompts - int(stored), re_asked=re_asked, requests=len(recorded.requests))  # fmt: skip
