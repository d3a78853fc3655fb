"""Bulletin sign-off buttons (approvers), the 已阅 button (leaders) and /stop for SMS notices.

The decision and read rules live in notifier (governance, receipts, optout); a refusal is the
callback's answer, shown as an alert, and changes nothing.
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
from models import Person
from notifier.core.errors import GuatuError
from notifier.core.settings import Settings
from notifier.core.texts import t


def router() -> Router:
    r = Router(name="governance")

    @r.callback_query(DecisionCallback.filter())
    async def decide(query: CallbackQuery, callback_data: DecisionCallback, session: AsyncSession,
                     settings: Settings, person: Person | None, lang: str, clock: Callable[[], datetime],
                     event_from_user: User | None = None) -> None:  # fmt: skip
        from notifier.bulletins.signoff import approve_bulletin, reject_bulletin

        decide_fn = approve_bulletin if callback_data.approve else reject_bulletin
        telegram_admin = event_from_user is not None and event_from_user.id in settings.telegram_admin_ids
        try:
            bulletin = await decide_fn(session, settings=settings, bulletin_id=callback_data.bulletin_id,
                                       person=person, channel="telegram", telegram_admin=telegram_admin,
                                       now=clock())  # fmt: skip
        except GuatuError as exc:
            await query.answer(str(exc), show_alert=True)
            return
        await session.commit()
        send_at = (
            bulletin.send_at.astimezone(settings.tz).strftime("%m-%d %H:%M") if bulletin.send_at else "—"
        )
        key = "approval.approved" if callback_data.approve else "approval.rejected"
        await query.answer(t(key, lang, id=bulletin.id, send_at=send_at))
        if query.message is not None:
            await query.message.answer(t(key, lang, id=bulletin.id, send_at=send_at))

    @r.callback_query(ReadCallback.filter())
    async def read(query: CallbackQuery, callback_data: ReadCallback, session: AsyncSession,
                   person: Person | None, lang: str, clock: Callable[[], datetime]) -> None:  # fmt: skip
        from notifier.reporting.receipts import ReceiptError, record_read

        if person is None or person.id is None:
            await query.answer(t("bot.unbound", lang), show_alert=True)
            return
        try:
            first = await record_read(session, bulletin_id=callback_data.bulletin_id, person_id=person.id,
                                      via="telegram", now=clock())  # fmt: skip
        except ReceiptError as exc:
            await query.answer(str(exc), show_alert=True)
            return
        await session.commit()
        await query.answer(
            t("approval.read" if first else "approval.read_again", lang, id=callback_data.bulletin_id)
        )

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
