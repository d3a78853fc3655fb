"""Admin commands, filtered at router level with IsAdmin; non-admins are refused and audit-logged."""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message, User
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.callbacks import AdminConfirmCallback, AudienceCallback
from bot.filters import IsAdmin
from bot.states import BroadcastForm, BulletinForm
from models import BulletinKind, CampaignKind, Person
from notifier.core.audit import record_audit
from notifier.core.errors import GuatuError
from notifier.core.settings import Settings
from notifier.core.texts import t

COMMANDS = ("bulletin", "broadcast", "overdue", "invite", "campaign", "round_now")
AUDIENCES = ("all-leads", "all-leaders")


def router() -> Router:
    r = Router(name="admin")
    r.message.filter(IsAdmin())

    @r.message(Command("invite"))
    async def invite(message: Message, command: CommandObject, session: AsyncSession, person: Person | None,
                     settings: Settings, lang: str, clock: Callable[[], datetime]) -> None:  # fmt: skip
        from notifier.reporting.invites import invite_by_phone

        if not command.args:
            await message.answer(t("bot.admin.invite_usage", lang))
            return
        try:
            invited, issued = await invite_by_phone(session, settings=settings, phone=command.args, now=clock(),
                                                    created_by_id=person.id if person else None)  # fmt: skip
        except GuatuError as exc:
            await message.answer(html.escape(str(exc)))
            return
        await message.answer(t("bot.admin.invite", lang, name=html.escape(invited.name), link=issued.link))

    @r.message(Command("campaign"))
    async def campaign(message: Message, command: CommandObject, session: AsyncSession, lang: str) -> None:
        from notifier.sending.campaigns import campaign_status

        if not command.args or not command.args.strip().isdigit():
            await message.answer(t("bot.admin.campaign_usage", lang))
            return
        try:
            status = await campaign_status(session, campaign_id=int(command.args))
        except GuatuError as exc:
            await message.answer(html.escape(str(exc)))
            return
        counts = "\n".join(f"{state}: {n}" for state, n in sorted(status.counts.items()) if n) or "—"
        await message.answer(t("bot.admin.campaign", lang, id=status.campaign_id, title=html.escape(status.title),
                               state=status.state, recipients=status.recipients, counts=counts))  # fmt: skip

    @r.message(Command("overdue"))
    async def overdue(message: Message, session: AsyncSession, settings: Settings, lang: str,
                      clock: Callable[[], datetime]) -> None:  # fmt: skip
        from notifier.bulletins.alerts import current_alerts

        as_of = clock().astimezone(settings.tz).date()
        alerts = await current_alerts(session, settings=settings, as_of=as_of)
        if not alerts:
            await message.answer(t("bot.admin.overdue_none", lang, date=as_of.isoformat()))
            return
        lines = "\n".join(f"{html.escape(a.project_code)} {html.escape(a.project_name)}:{html.escape(a.reason)}"
                          for a in alerts[:50])  # fmt: skip
        await message.answer(
            t("bot.admin.overdue", lang, date=as_of.isoformat(), count=len(alerts), lines=lines)
        )

    _broadcast(r)
    _bulletin(r)
    _round_now(r)

    @r.message(StateFilter(BroadcastForm.audience))
    @r.message(StateFilter(BroadcastForm.confirm))
    @r.message(StateFilter(BulletinForm.confirm))
    async def use_buttons(message: Message, lang: str) -> None:
        await message.answer(t("bot.form.use_buttons", lang))

    return r


def _confirm_keyboard(action: str, lang: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[
        InlineKeyboardButton(text=t("bot.admin.send", lang),
                             callback_data=AdminConfirmCallback(action=action, ok=True).pack()),
        InlineKeyboardButton(text=t("bot.form.cancel", lang),
                             callback_data=AdminConfirmCallback(action=action, ok=False).pack()),
    ]])  # fmt: skip


def _broadcast(r: Router) -> None:
    """/broadcast TEXT → audience → preview (recipients, segments, cost) → confirm → campaign queued."""
    r.callback_query.filter(IsAdmin())

    @r.message(Command("broadcast"))
    async def broadcast(message: Message, command: CommandObject, state: FSMContext, lang: str) -> None:
        if not command.args or not command.args.strip():
            await message.answer(t("bot.admin.broadcast_usage", lang))
            return
        await state.set_state(BroadcastForm.audience)
        await state.set_data({"text": command.args.strip()})
        rows = [[InlineKeyboardButton(text=t(f"bot.admin.audience.{a}", lang),
                                      callback_data=AudienceCallback(audience=a).pack())] for a in AUDIENCES]  # fmt: skip
        await message.answer(
            t("bot.admin.ask_audience", lang), reply_markup=InlineKeyboardMarkup(inline_keyboard=rows)
        )

    @r.callback_query(StateFilter(BroadcastForm.audience), AudienceCallback.filter())
    async def audience(query: CallbackQuery, callback_data: AudienceCallback, state: FSMContext,
                       session: AsyncSession, settings: Settings, lang: str) -> None:  # fmt: skip
        from notifier.sending.campaigns import preview_campaign

        data = await state.get_data()
        await query.answer()
        assert query.message is not None
        try:
            preview = await preview_campaign(session, settings=settings, text=data["text"],
                                             audience=callback_data.audience)  # fmt: skip
        except GuatuError as exc:
            await state.clear()
            await query.message.answer(html.escape(str(exc)))
            return
        await state.update_data(audience=callback_data.audience)
        await state.set_state(BroadcastForm.confirm)
        skipped = "、".join(f"{k} {v}" for k, v in sorted(preview.skipped.items())) or t(
            "bot.form.none", lang
        )
        sample = preview.samples[0][1] if preview.samples else ""
        await query.message.answer(
            t("bot.admin.preview", lang, recipients=preview.recipients, skipped=html.escape(skipped),
              segments=preview.segments, cost=preview.estimated_cost, sample=html.escape(sample)),
            reply_markup=_confirm_keyboard("broadcast", lang),
        )  # fmt: skip

    @r.callback_query(
        StateFilter(BroadcastForm.confirm), AdminConfirmCallback.filter(F.action == "broadcast")
    )
    async def send(query: CallbackQuery, callback_data: AdminConfirmCallback, state: FSMContext,
                   session: AsyncSession, settings: Settings, person: Person | None, lang: str,
                   arq: Any = None) -> None:  # fmt: skip
        from notifier.sending.campaigns import create_campaign, queue_campaign

        data = await state.get_data()
        await state.clear()  # a double tap finds nothing to send
        await query.answer()
        assert query.message is not None
        if not callback_data.ok:
            await query.message.answer(t("bot.form.cancelled", lang))
            return
        campaign = await create_campaign(session, settings=settings, kind=CampaignKind.BROADCAST, text=data["text"],
                                         audience=data["audience"], title=data["text"][:30],
                                         created_by_id=person.id if person else None)  # fmt: skip
        await record_audit(session, action="bot.broadcast", channel="telegram", actor_id=person.id if person else None,
                           detail={"campaign_id": campaign.id, "audience": data["audience"]})  # fmt: skip
        await session.commit()
        assert campaign.id is not None
        if arq is None:
            await query.message.answer(t("bot.admin.no_queue", lang, id=campaign.id))
            return
        await queue_campaign(session, arq, settings=settings, campaign_id=campaign.id)
        await query.message.answer(
            t("bot.admin.queued", lang, id=campaign.id, recipients=campaign.recipients)
        )


def _bulletin(r: Router) -> None:
    """/bulletin → this week's bulletin previewed → confirm → a draft for sign-off (sent when approved)."""

    @r.message(Command("bulletin"))
    async def bulletin(message: Message, state: FSMContext, session: AsyncSession, settings: Settings, lang: str,
                       clock: Callable[[], datetime]) -> None:  # fmt: skip
        from notifier.bulletins.compose import compose_bulletin

        as_of = clock().astimezone(settings.tz).date()
        composed = await compose_bulletin(session, settings=settings, kind=BulletinKind.WEEKLY, as_of=as_of)
        await state.set_state(BulletinForm.confirm)
        await state.set_data({"as_of": as_of.isoformat()})
        await message.answer(t("bot.admin.bulletin_preview", lang, sms=html.escape(composed.sms)),
                             reply_markup=_confirm_keyboard("bulletin", lang))  # fmt: skip

    @r.callback_query(StateFilter(BulletinForm.confirm), AdminConfirmCallback.filter(F.action == "bulletin"))
    async def draft(query: CallbackQuery, callback_data: AdminConfirmCallback, state: FSMContext,
                    session: AsyncSession, settings: Settings, person: Person | None, lang: str,
                    clock: Callable[[], datetime]) -> None:  # fmt: skip
        from notifier.bulletins.compose import draft_bulletin

        data = await state.get_data()
        await state.clear()
        await query.answer()
        assert query.message is not None
        if not callback_data.ok:
            await query.message.answer(t("bot.form.cancelled", lang))
            return
        bulletin, _ = await draft_bulletin(session, settings=settings, kind=BulletinKind.WEEKLY,
                                           as_of=date.fromisoformat(data["as_of"]), send_at=clock(),
                                           composed_by_id=person.id if person else None)  # fmt: skip
        await query.message.answer(
            t("bot.admin.bulletin_drafted", lang, id=bulletin.id, state=bulletin.state)
        )


def _round_now(r: Router) -> None:
    """/round_now → whom this week's prompt round would reach → confirm → prompts sent now (each
    project once a week: a second run, or the calendar's round later, prompts nobody twice)."""

    @r.message(Command("round_now"))
    async def round_now(message: Message, session: AsyncSession, settings: Settings, lang: str,
                        clock: Callable[[], datetime]) -> None:  # fmt: skip
        from notifier.reporting.prompts import plan_round_now

        try:
            plan = await plan_round_now(session, settings=settings, now=clock())
        except GuatuError as exc:
            await message.answer(html.escape(str(exc)))
            return
        summary = _plan_text(plan, settings, lang)
        if plan.to_prompt == 0:
            await message.answer(t("round.nothing", lang, week=plan.week))
            return
        await message.answer(t("bot.admin.round_preview", lang, plan=html.escape(summary)),
                             reply_markup=_confirm_keyboard(f"round_now.{plan.week}", lang))  # fmt: skip

    @r.callback_query(AdminConfirmCallback.filter(F.action.startswith("round_now.")))
    async def start(query: CallbackQuery, callback_data: AdminConfirmCallback, session: AsyncSession,
                    settings: Settings, person: Person | None, lang: str, bot: Bot,
                    clock: Callable[[], datetime], sessionmaker: Any = None, arq: Any = None) -> None:  # fmt: skip
        from bot.sender import AiogramChatSender
        from notifier.numbers.weeks import week_monday
        from notifier.reporting.prompts import plan_round_now, start_round_now

        await query.answer()
        assert query.message is not None
        if not callback_data.ok:
            await query.message.answer(t("bot.form.cancelled", lang))
            return
        week = callback_data.action.removeprefix("round_now.")
        try:
            as_of = week_monday(week)
            plan = await plan_round_now(session, settings=settings, now=clock(), as_of=as_of)
            result = await start_round_now(session, settings=settings, now=clock(), as_of=as_of, redis=arq,
                                           chat=AiogramChatSender(bot, sessionmaker=sessionmaker))  # fmt: skip
        except (GuatuError, ValueError) as exc:
            await query.message.answer(html.escape(str(exc)))
            return
        await record_audit(session, action="bot.round_now", channel="telegram", actor_id=person.id if person else None,
                           detail={"week": week, "telegram": result.chat, "sms": result.no_chat})  # fmt: skip
        await session.commit()
        campaigns = ",".join(f"#{i}" for i in result.sms_campaigns) or t("round.none", lang)
        await query.message.answer(t("round.done", lang, week=week, chat=result.chat, sms=result.no_chat,
                                     blocked=result.blocked, skipped=result.skipped, campaigns=campaigns))  # fmt: skip
        if arq is None and plan.by_sms:
            await query.message.answer(t("bot.admin.round_no_queue", lang, count=plan.by_sms))


def _plan_text(plan: Any, settings: Settings, lang: str) -> str:
    deadline = f"{plan.deadline.astimezone(settings.tz):%Y-%m-%d %H:%M}"
    return t("round.plan", lang, week=plan.week, deadline=deadline, to_prompt=plan.to_prompt, by_chat=plan.by_chat,
             by_sms=plan.by_sms, unreachable=plan.unreachable, already=plan.already)  # fmt: skip


def refusal_router() -> Router:
    """Admin commands from anyone else: refused, audit-logged, nothing created."""
    r = Router(name="admin-refusal")

    @r.message(Command(*COMMANDS))
    async def refuse(message: Message, session: AsyncSession, person: Person | None, lang: str,
                     event_from_user: User | None = None) -> None:  # fmt: skip
        await record_audit(session, action=f"bot.{(message.text or '').split()[0].lstrip('/')}", channel="telegram",
                           allowed=False, actor_id=person.id if person else None,
                           actor_telegram_id=event_from_user.id if event_from_user else None)  # fmt: skip
        await session.commit()
        await message.answer(t("bot.admin.refused" if person is not None else "bot.unbound", lang))

    return r
