"""Bulletin sign-off buttons (approvers), the 已阅 button (leaders) and /stop for SMS notices.

The buttons are notifier.channels.presses (written once for Telegram and WeCom) on a TelegramTurn;
a refusal is the callback's answer, shown as an alert, and changes nothing.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import datetime

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message, User
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.callbacks import DecisionCallback, ReadCallback
from bot.turn import TelegramTurn
from models import Person
from notifier.channels.presses import decision_pressed, read_pressed
from notifier.core.settings import Settings
from notifier.core.texts import t


def router() -> Router:
    r = Router(name="governance")

    @r.callback_query(DecisionCallback.filter())
    async def decide(query: CallbackQuery, callback_data: DecisionCallback, session: AsyncSession,
                     settings: Settings, person: Person | None, lang: str, clock: Callable[[], datetime],
                     event_from_user: User | None = None) -> None:  # fmt: skip
        telegram_admin = event_from_user is not None and event_from_user.id in settings.telegram_admin_ids
        await decision_pressed(session, TelegramTurn(query), settings=settings, person=person,
                               bulletin_id=callback_data.bulletin_id, approve=callback_data.approve,
                               channel="telegram", now=clock(), lang=lang, telegram_admin=telegram_admin)  # fmt: skip

    @r.callback_query(ReadCallback.filter())
    async def read(query: CallbackQuery, callback_data: ReadCallback, session: AsyncSession,
                   person: Person | None, lang: str, clock: Callable[[], datetime]) -> None:  # fmt: skip
        if person is None or person.id is None:
            await query.answer(t("bot.unbound", lang), show_alert=True)
            return
        await read_pressed(session, TelegramTurn(query), person=person, bulletin_id=callback_data.bulletin_id,
                           via="telegram", now=clock(), lang=lang)  # fmt: skip

    @r.message(Command("stop"))
    async def stop(message: Message, session: AsyncSession, person: Person | None, lang: str) -> None:
        from notifier.sending.optout import opt_out

        if person is None:
            await message.answer(t("bot.unbound", lang))
            return
        if not person.phone:
            await message.answer(t("optout.no_phone", lang))
            return
        await opt_out(session, phone=person.phone, source="telegram", actor_id=person.id)
        await session.commit()
        await message.answer(t("optout.stopped", lang, phone=html.escape(person.phone)))

    return r
