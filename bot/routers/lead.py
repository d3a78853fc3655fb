"""Lead commands: /help, /myprojects, /language."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.filters import LEADER_ROLES, Bound
from bot.sender import markup
from models import Person
from notifier.core.settings import Settings
from notifier.core.texts import t
from notifier.reporting import conversation


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
        text, buttons = await conversation.my_projects(session, person=person, settings=settings, now=clock(),
                                                       lang=lang)  # fmt: skip
        await message.answer(text, reply_markup=markup(buttons))

    @r.message(Command("summary", "myunit"))
    async def leaders_only(message: Message, lang: str) -> None:
        await message.answer(t("bot.summary.leaders_only", lang))

    return r
