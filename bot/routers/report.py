"""The report conversation: stage → investment → procedure items → blockers → confirm."""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from aiogram import Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot import keyboards
from bot.callbacks import ConfirmCallback, ItemCallback, ReportCallback, StageCallback
from bot.filters import Bound, HasText, NotCommand
from bot.states import ReportForm
from models import Channel, Person, ProcedureItem, Project, Stage
from notifier.core.settings import Settings
from notifier.core.texts import t
from notifier.numbers.amounts import AmountError, format_amount, parse_amount
from notifier.reporting.reports import ReportError, check_text, report_deadline, submit_report

NONE_WORDS = {"无", "没有", "none", "no", "-", "/skip"}


async def _open_items(session: AsyncSession, project_id: int) -> dict[int, str]:
    """The project's procedure items not yet done, by id."""
    rows = await session.exec(
        select(ProcedureItem.id, ProcedureItem.name)
        .where(ProcedureItem.project_id == project_id, col(ProcedureItem.done_on).is_(None))
        .order_by(col(ProcedureItem.id))
    )
    return {item_id: name for item_id, name in rows.all() if item_id is not None}


def _kept(items: dict[int, str]) -> dict[str, str]:
    """Item names by id as the conversation keeps them (JSON keys are strings)."""
    return {str(item_id): name for item_id, name in items.items()}


def _restored(kept: dict[str, str]) -> dict[int, str]:
    return {int(item_id): name for item_id, name in kept.items()}


async def _summary(message: Message, state: FSMContext, data: dict[str, Any], lang: str) -> None:
    """Show every answer (`data`, the conversation's) for checking, with Confirm and Cancel; item names
    as shown on the earlier steps."""
    await state.set_state(ReportForm.confirm)
    item_names = data.get("item_names", {})
    names = [item_names.get(str(i), "?") for i in data["picked"]]
    await message.answer(
        t("bot.form.summary", lang, project=html.escape(data.get("project_name", "?")), week=data["week"],
          stage=t(f"bot.stage.{data['stage']}", lang),
          investment=format_amount(Decimal(data["investment"]), lang),
          items=html.escape("、".join(names)) or t("bot.form.none", lang),
          blockers=html.escape(data["blockers"] or t("bot.form.none", lang))),
        reply_markup=keyboards.confirm(lang),
    )  # fmt: skip


def router() -> Router:  # noqa: C901 - one closure per step of the conversation
    r = Router(name="report")
    # Commands pass through to their own routers, also in the middle of a report (the conversation
    # stays where it was), so this router can come first and answer the form's steps at once.
    r.message.filter(Bound(), NotCommand(answers=NONE_WORDS))
    r.callback_query.filter(Bound())

    @r.callback_query(ReportCallback.filter())
    async def begin(query: CallbackQuery, callback_data: ReportCallback, state: FSMContext, session: AsyncSession,
                    person: Person, settings: Settings, lang: str, clock: Callable[[], datetime]) -> None:  # fmt: skip
        project = await session.get(Project, callback_data.project_id)
        if project is None or project.lead_id != person.id or not project.active:
            await query.answer(t("bot.form.not_yours", lang), show_alert=True)
            return
        deadline = report_deadline(settings, callback_data.week)
        if clock() > deadline:
            when = deadline.astimezone(settings.tz).strftime("%Y-%m-%d %H:%M")
            await query.answer(
                t("bot.form.closed", lang, week=callback_data.week, deadline=when), show_alert=True
            )
            return
        await state.set_state(ReportForm.stage)
        items = await _open_items(
            session, callback_data.project_id
        )  # kept for the items step and the summary
        await state.set_data({"project_id": project.id, "project_name": project.name, "week": callback_data.week,
                              "picked": [], "item_names": _kept(items)})  # fmt: skip
        await query.answer()
        assert query.message is not None
        await query.message.answer(
            t("bot.form.ask_stage", lang, project=html.escape(project.name), week=callback_data.week),
            reply_markup=keyboards.stages(lang),
        )

    @r.callback_query(StateFilter(ReportForm.stage), StageCallback.filter())
    async def stage(query: CallbackQuery, callback_data: StageCallback, state: FSMContext, lang: str) -> None:
        await state.update_data(stage=Stage(callback_data.stage).value)
        await state.set_state(ReportForm.investment)
        await query.answer()
        assert query.message is not None
        await query.message.answer(t("bot.form.ask_investment", lang, example=t("bot.amount.example", lang)))

    @r.message(StateFilter(ReportForm.investment), HasText())
    async def investment(message: Message, state: FSMContext, lang: str) -> None:
        try:
            amount = parse_amount(message.text or "")
        except AmountError as exc:
            await message.answer(html.escape(str(exc)))  # asked again; the state stays
            return
        data = await state.update_data(investment=str(amount))
        if "blockers" in data:  # asked again after the confirm step refused the amount
            await _summary(message, state, data, lang)
            return
        items = _restored(data.get("item_names", {}))  # open when the report began
        if items:
            await state.set_state(ReportForm.items)
            await message.answer(
                t("bot.form.ask_items", lang), reply_markup=keyboards.items(items, set(), lang)
            )
            return
        await state.set_state(ReportForm.blockers)
        await message.answer(t("bot.form.ask_blockers", lang))

    @r.callback_query(StateFilter(ReportForm.items), ItemCallback.filter())
    async def item(query: CallbackQuery, callback_data: ItemCallback, state: FSMContext, session: AsyncSession,
                   lang: str) -> None:  # fmt: skip
        data = await state.get_data()
        assert query.message is not None
        if callback_data.item_id == 0:
            await state.set_state(ReportForm.blockers)
            await query.answer()
            await query.message.answer(t("bot.form.ask_blockers", lang))
            return
        items = await _open_items(session, data["project_id"])  # another channel may have closed one since
        if callback_data.item_id not in items:
            await query.answer(t("bot.form.stale_button", lang), show_alert=True)
            return
        picked = set(data.get("picked", [])) ^ {callback_data.item_id}
        await state.update_data(picked=sorted(picked), item_names=_kept(items))
        await query.answer()
        await query.message.answer(
            t("bot.form.ask_items", lang), reply_markup=keyboards.items(items, picked, lang)
        )

    @r.message(StateFilter(ReportForm.blockers), HasText())
    async def blockers(message: Message, state: FSMContext, lang: str) -> None:
        text = (message.text or "").strip()
        try:
            check_text(text, lang=lang)
        except ReportError as exc:
            await message.answer(html.escape(str(exc)))  # asked again; the state stays
            return
        data = await state.update_data(blockers=None if text.lower() in NONE_WORDS else text[:2000])
        await _summary(message, state, data, lang)

    @r.callback_query(StateFilter(ReportForm.confirm), ConfirmCallback.filter())
    async def confirm(query: CallbackQuery, callback_data: ConfirmCallback, state: FSMContext, session: AsyncSession,
                      person: Person, settings: Settings, lang: str, clock: Callable[[], datetime]) -> None:  # fmt: skip
        data = await state.get_data()
        # Clear first: a double-tapped Confirm finds no conversation and gets the stale-button answer.
        await state.clear()
        assert query.message is not None
        if not callback_data.ok:
            await query.answer()
            await query.message.answer(t("bot.form.cancelled", lang))
            return
        try:
            await submit_report(session, settings=settings, project_id=data["project_id"], reporter_id=person.id,
                                week=data["week"], stage=Stage(data["stage"]), investment=Decimal(data["investment"]),
                                procedure_item_ids=list(data["picked"]), blockers=data["blockers"],
                                channel=Channel.TELEGRAM, now=clock(), lang=lang)  # fmt: skip
        except ReportError as exc:
            await query.answer()
            await query.message.answer(html.escape(str(exc)))
            if exc.reason == "over_total":  # ask for the amount again, keeping the other answers
                await state.set_state(ReportForm.investment)
                await state.set_data(data)
                await query.message.answer(
                    t("bot.form.ask_investment", lang, example=t("bot.amount.example", lang))
                )
            return
        await query.answer()
        await query.message.answer(t("bot.form.saved", lang, week=data["week"]))

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
