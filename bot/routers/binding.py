"""/start with an invite token binds the Telegram account; /start alone greets or explains."""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import datetime

from aiogram import Router
from aiogram.filters import CommandObject, CommandStart
from aiogram.types import Message
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Person
from notifier.core.audit import record_audit
from notifier.core.texts import t
from notifier.reporting.invites import InviteError, consume_invite


def router() -> Router:
    r = Router(name="binding")

    @r.message(CommandStart(deep_link=True))
    async def bind(message: Message, command: CommandObject, session: AsyncSession, lang: str,
                   clock: Callable[[], datetime]) -> None:  # fmt: skip
        assert message.from_user is not None
        try:
            person = await consume_invite(session, token=command.args or "", telegram_id=message.from_user.id,
                                          now=clock(), lang=lang)  # fmt: skip
        except InviteError as exc:
            await record_audit(session, action="bot.bind", channel="telegram", allowed=False,
                               actor_telegram_id=message.from_user.id, detail={"reason": exc.reason})  # fmt: skip
            await session.commit()
            await message.answer(html.escape(str(exc)))
            return
        await record_audit(session, action="bot.bind", channel="telegram", actor_id=person.id,
                           actor_telegram_id=message.from_user.id)  # fmt: skip
        await session.commit()
        await message.answer(t("bot.invite.bound", person.language, name=html.escape(person.name)))

    @r.message(CommandStart())
    async def start(message: Message, session: AsyncSession, person: Person | None, lang: str) -> None:
        """Greets a bound person; one who had stopped SMS notices (/stop) gets them back."""
        from notifier.sending.optout import opt_in

        if person is None:
            await message.answer(t("bot.unbound", lang))
            return
        if person.phone and await opt_in(session, phone=person.phone, source="telegram", actor_id=person.id):
            await session.commit()
            await message.answer(t("optout.started", lang, phone=html.escape(person.phone)))
            return
        await message.answer(t("bot.welcome_back", lang, name=html.escape(person.name)))

    return r
