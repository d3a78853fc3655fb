"""Leader views: /summary (league) and /myunit (the person's unit), for leaders, staff and admins."""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import datetime

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.filters import IsLeader
from models import Person, Unit
from notifier.core.settings import Settings
from notifier.core.texts import t


def router() -> Router:
    r = Router(name="leader")
    r.message.filter(IsLeader())

    @r.message(Command("summary", "myunit"))
    async def summary(message: Message, session: AsyncSession, person: Person, settings: Settings, lang: str,
                      clock: Callable[[], datetime]) -> None:  # fmt: skip
        from notifier.numbers.rates import compute_numbers

        unit_code = None
        if message.text and message.text.startswith("/myunit"):
            unit = await session.get(Unit, person.unit_id) if person.unit_id else None
            if unit is None:
                await message.answer(t("bot.summary.no_unit", lang))
                return
            unit_code = unit.code
        as_of = clock().astimezone(settings.tz).date()
        numbers = (
            await compute_numbers(session, settings=settings, as_of=as_of, unit_code=unit_code)
        ).to_json()
        scope, text = numbers["overall"], numbers["text"]["overall"]
        if unit_code is not None:
            scope = next((u for u in numbers["units"] if u["code"] == unit_code), scope)
            text = numbers["text"]["units"].get(unit_code, text)
        await message.answer(t("bot.summary", lang, as_of=as_of.isoformat(),
                               scope=html.escape(unit_code or t("bot.summary.all", lang)),
                               projects=scope.get("projects", 0), start=text["start_rate"],
                               procedure=text["procedure_rate"], investment=text["investment_rate"],
                               schedule=numbers["text"]["time_schedule"]))  # fmt: skip

    return r
