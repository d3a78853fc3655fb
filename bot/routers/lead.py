"""Lead commands: /help, /myprojects, /language."""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import datetime

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, Message
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.callbacks import ReportCallback
from bot.filters import LEADER_ROLES, Bound
from models import Person, Project
from notifier.core.settings import Settings
from notifier.core.texts import t
from notifier.numbers.weeks import week_of


def router() -> Router:
    r = Router(name="lead")
    r.message.filter(Bound())

    @r.message(Command("help"))
    async def help_(message: Message, person: Person, lang: str) -> None:
        leader = person.role in LEADER_ROLES
        await message.answer(t("bot.help", lang) + (t("bot.help.leader", lang) if leader else ""))

    @r.message(Command("language"))
    async def language(message: Message, session: AsyncSession, person: Person) -> None:
        person.language = "en" if person.language == "zh" else "zh"
        await session.commit()
        await message.answer(t("bot.language", person.language))

    @r.message(Command("myprojects"))
    async def my_projects(message: Message, session: AsyncSession, person: Person, settings: Settings, lang: str,
                          clock: Callable[[], datetime]) -> None:  # fmt: skip
        rows = (
            await session.exec(
                select(Project).where(Project.lead_id == person.id, col(Project.active).is_(True))
                .order_by(col(Project.code))
            )
        ).all()  # fmt: skip
        if not rows:
            await message.answer(t("bot.myprojects.none", lang))
            return
        week = week_of(clock(), settings.tz)
        buttons = [[InlineKeyboardButton(text=f"{p.code} {p.name}",
                                         callback_data=ReportCallback(project_id=p.id or 0, week=week).pack())]
                   for p in rows]  # fmt: skip
        lines = "\n".join(f"{html.escape(p.code)} {html.escape(p.name)}" for p in rows)
        await message.answer(t("bot.myprojects", lang, count=len(rows), lines=lines),
                             reply_markup=InlineKeyboardMarkup(inline_keyboard=buttons))  # fmt: skip

    @r.message(Command("summary", "myunit"))
    async def leaders_only(message: Message, lang: str) -> None:
        await message.answer(t("bot.summary.leaders_only", lang))

    return r
