"""Last router: unbound users get one polite line; bound users a hint; stale buttons a clear answer."""

from __future__ import annotations

from aiogram import Router
from aiogram.types import CallbackQuery, Message

from models import Person
from notifier.core.texts import t


def router() -> Router:
    r = Router(name="fallback")

    @r.message()
    async def anything(message: Message, person: Person | None, lang: str) -> None:
        await message.answer(t("bot.unbound" if person is None else "bot.hint", lang))

    @r.callback_query()
    async def stale(query: CallbackQuery, person: Person | None, lang: str) -> None:
        await query.answer(
            t("bot.unbound" if person is None else "bot.form.stale_button", lang), show_alert=True
        )

    return r
