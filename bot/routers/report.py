"""The report conversation in Telegram: aiogram's filters route each step to
notifier.reporting.conversation, which holds the steps themselves (WeCom runs the same ones)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from aiogram import Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.callbacks import AmountCallback, ConfirmCallback, ItemCallback, ReportCallback, StageCallback
from bot.filters import Bound, HasText, NotCommand
from bot.states import ReportForm
from bot.turn import TelegramTurn
from models import Channel, Person
from notifier.core.settings import Settings
from notifier.core.texts import t
from notifier.reporting.conversation import NONE_WORDS, ReportConversation


def router() -> Router:
    r = Router(name="report")
    # Commands pass through to their own routers, also in the middle of a report (the conversation
    # stays where it was), so this router can come first and answer the form's steps at once.
    r.message.filter(Bound(), NotCommand(answers=NONE_WORDS))
    r.callback_query.filter(Bound())

    def chat(event: Message | CallbackQuery, state: FSMContext, session: AsyncSession, person: Person,
             settings: Settings, lang: str, clock: Callable[[], datetime]) -> ReportConversation:  # fmt: skip
        return ReportConversation(session=session, settings=settings, person=person, lang=lang, now=clock(),
                                  turn=TelegramTurn(event), memory=state, channel=Channel.TELEGRAM)  # fmt: skip

    @r.callback_query(ReportCallback.filter())
    async def begin(query: CallbackQuery, callback_data: ReportCallback, state: FSMContext, session: AsyncSession,
                    person: Person, settings: Settings, lang: str, clock: Callable[[], datetime]) -> None:  # fmt: skip
        await chat(query, state, session, person, settings, lang, clock).begin(
            callback_data.project_id, callback_data.week
        )

    @r.callback_query(StateFilter(ReportForm.stage), StageCallback.filter())
    async def stage(query: CallbackQuery, callback_data: StageCallback, state: FSMContext, session: AsyncSession,
                    person: Person, settings: Settings, lang: str, clock: Callable[[], datetime]) -> None:  # fmt: skip
        await chat(query, state, session, person, settings, lang, clock).stage(callback_data.stage)

    @r.message(StateFilter(ReportForm.investment), HasText())
    async def investment(message: Message, state: FSMContext, session: AsyncSession, person: Person,
                         settings: Settings, lang: str, clock: Callable[[], datetime]) -> None:  # fmt: skip
        await chat(message, state, session, person, settings, lang, clock).amount(message.text or "")

    @r.callback_query(StateFilter(ReportForm.investment), AmountCallback.filter())
    async def amount_answer(query: CallbackQuery, callback_data: AmountCallback, state: FSMContext,
                            session: AsyncSession, person: Person, settings: Settings, lang: str,
                            clock: Callable[[], datetime]) -> None:  # fmt: skip
        await chat(query, state, session, person, settings, lang, clock).amount_answer(callback_data.ok)

    @r.callback_query(StateFilter(ReportForm.items), ItemCallback.filter())
    async def item(query: CallbackQuery, callback_data: ItemCallback, state: FSMContext, session: AsyncSession,
                   person: Person, settings: Settings, lang: str, clock: Callable[[], datetime]) -> None:  # fmt: skip
        await chat(query, state, session, person, settings, lang, clock).item(callback_data.item_id)

    @r.message(StateFilter(ReportForm.blockers), HasText())
    async def blockers(message: Message, state: FSMContext, session: AsyncSession, person: Person,
                       settings: Settings, lang: str, clock: Callable[[], datetime]) -> None:  # fmt: skip
        await chat(message, state, session, person, settings, lang, clock).blockers(message.text or "")

    @r.callback_query(StateFilter(ReportForm.confirm), ConfirmCallback.filter())
    async def confirm(query: CallbackQuery, callback_data: ConfirmCallback, state: FSMContext, session: AsyncSession,
                      person: Person, settings: Settings, lang: str, clock: Callable[[], datetime]) -> None:  # fmt: skip
        await chat(query, state, session, person, settings, lang, clock).confirm(callback_data.ok)

    @r.message(StateFilter(ReportForm.investment))
    @r.message(StateFilter(ReportForm.blockers))
    async def not_text(message: Message, lang: str) -> None:
        await message.answer(t("bot.form.need_text", lang))

    @r.message(StateFilter(ReportForm.stage))
    @r.message(StateFilter(ReportForm.items))
    @r.message(StateFilter(ReportForm.confirm))
    async def use_buttons(message: Message, lang: str) -> None:
        await message.answer(t("bot.form.use_buttons", lang))

    return r
