"""The weekly report conversation, written once for every chat channel: prompt button → stage →
amount → procedure items → blockers → confirm, and the lead's /myprojects.

A channel gives each incoming reply or button press a `Turn` (say a text with or without buttons,
answer the pressed button with a notice, a short answer or silently) and the person's `Memory` (the conversation
state: aiogram's FSMContext in Telegram, a Redis hash in WeCom). Buttons carry the same callback
data in every channel (`rep:`, `stg:`, `itm:`, `cfm:`, `amt:`), and texts are Telegram HTML,
which a channel without markup makes plain. The states are named as bot/states.ReportForm names
them, so a conversation kept in Redis reads the same after an upgrade.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Protocol

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Channel, Person, ProcedureItem, ProgressReport, Project, Stage
from notifier.core.chat import Buttons
from notifier.core.settings import Settings
from notifier.core.texts import t
from notifier.numbers.amounts import AmountError, format_amount, read_amount
from notifier.numbers.weeks import week_of
from notifier.reporting.reports import (
    ReportError,
    check_investment,
    check_text,
    report_deadline,
    submit_report,
)

NONE_WORDS = frozenset({"无", "没有", "none", "no", "-", "/skip"})
YES_WORDS = frozenset({"是", "是的", "对", "对的", "确认", "yes", "y", "ok"})
NO_WORDS = frozenset({"不是", "不对", "否", "错了"})
MYPROJECTS_WORDS = frozenset({"/myprojects", "我的项目"})  # WeCom has no commands: these words ask

BEGIN_KEY = re.compile(r"^rep:(\d{1,12}):(\d{4}-W\d{2})$")
STAGE_KEY = re.compile(r"^stg:([a-z_]{1,20})$")
ITEM_KEY = re.compile(r"^itm:(\d{1,12})$")
CONFIRM_KEY = re.compile(r"^cfm:([01])$")
AMOUNT_KEY = re.compile(r"^amt:([01])$")


class Step(StrEnum):
    """Where a conversation is (the names of bot/states.ReportForm's states)."""

    STAGE = "ReportForm:stage"
    INVESTMENT = "ReportForm:investment"
    ITEMS = "ReportForm:items"
    BLOCKERS = "ReportForm:blockers"
    CONFIRM = "ReportForm:confirm"


class Turn(Protocol):
    """How a channel answers one incoming reply or button press."""

    async def say(self, text: str, buttons: Buttons | None = None) -> None:
        """A message (Telegram HTML) to the person, with rows of (label, callback data) buttons."""
        ...

    async def alert(self, text: str) -> None:
        """A notice in answer to the pressed button (Telegram's popup); a message after a reply."""
        ...

    async def ack(self, text: str | None = None, *, label: str | None = None, keep: bool = False) -> None:
        """The pressed button did its work: `text` is the short answer (Telegram's toast, a message
        in WeCom; none for a silent answer), `label` what the pressed card shows where a channel can
        mark it (WeCom), `keep` that the answer also stays in the chat (Telegram sends it as a
        message too). After a reply, only a kept text is sent."""
        ...


class Memory(Protocol):
    """The person's conversation state (the part of aiogram's FSMContext it uses)."""

    async def get_state(self) -> str | None: ...

    async def set_state(self, state: str | None = None) -> None: ...

    async def get_data(self) -> dict[str, Any]: ...

    async def set_data(self, data: Mapping[str, Any]) -> None: ...

    async def update_data(self, **kwargs: Any) -> dict[str, Any]: ...

    async def clear(self) -> None: ...


def stage_buttons(lang: str) -> Buttons:
    return [[(t(f"bot.stage.{s.value}", lang), f"stg:{s.value}")] for s in Stage]


def item_buttons(available: dict[int, str], picked: set[int], lang: str) -> Buttons:
    """One button per open procedure item (names by id), ticked when picked, then Done."""
    rows = [
        [(("✅ " if item_id in picked else "") + name, f"itm:{item_id}")]
        for item_id, name in available.items()
    ]
    return [*rows, [(t("bot.form.items_done", lang), "itm:0")]]


def confirm_buttons(lang: str) -> Buttons:
    return [[(t("bot.form.confirm", lang), "cfm:1"), (t("bot.form.cancel", lang), "cfm:0")]]


def amount_buttons(lang: str) -> Buttons:
    return [[(t("bot.amount.yes", lang), "amt:1"), (t("bot.amount.no", lang), "amt:0")]]


async def open_items(session: AsyncSession, project_id: int) -> dict[int, str]:
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


@dataclass
class ReportConversation:
    """One event of one person's conversation, in any channel."""

    session: AsyncSession
    settings: Settings
    person: Person
    lang: str
    now: datetime
    turn: Turn
    memory: Memory
    channel: Channel

    async def begin(self, project_id: int, week: str) -> None:
        """The prompt's report button: check it is still good, then ask for the stage."""
        lang = self.lang
        project = await self.session.get(Project, project_id)
        if project is None or project.lead_id != self.person.id or not project.active:
            await self.turn.alert(t("bot.form.not_yours", lang))
            return
        deadline = report_deadline(self.settings, week)
        if self.now > deadline:
            when = deadline.astimezone(self.settings.tz).strftime("%Y-%m-%d %H:%M")
            await self.turn.alert(t("bot.form.closed", lang, week=week, deadline=when))
            return
        await self.memory.set_state(Step.STAGE)
        items = await open_items(self.session, project_id)  # kept for the items step and the summary
        await self.memory.set_data({"project_id": project.id, "project_name": project.name, "week": week,
                                    "picked": [], "item_names": _kept(items)})  # fmt: skip
        await self.turn.ack()
        await self.turn.say(
            t("bot.form.ask_stage", lang, project=html.escape(project.name), week=week),
            stage_buttons(lang),
        )

    async def stage(self, value: str) -> None:
        if value not in {s.value for s in Stage}:
            await self.turn.alert(t("bot.form.stale_button", self.lang))
            return
        await self.memory.update_data(stage=value)
        await self.memory.set_state(Step.INVESTMENT)
        await self.turn.ack()
        await self.ask_amount()

    async def ask_amount(self) -> None:
        await self.turn.say(
            t("bot.form.ask_investment", self.lang, example=t("bot.amount.example", self.lang))
        )

    async def amount(self, text: str) -> None:
        """A typed amount: refused and asked again, asked back when it needs confirming (a bare
        number is 万元, 3千万, 约500万), or taken (then checked against what remains)."""
        data = await self.memory.get_data()
        answer = text.strip().lower()
        if data.get("pending") and answer in YES_WORDS | NO_WORDS:
            await self._answer_pending(Decimal(data["pending"]), ok=answer in YES_WORDS)
            return
        try:
            reading = read_amount(text, self.lang)
        except AmountError as exc:
            await self.memory.update_data(pending=None)
            await self.turn.say(html.escape(str(exc)))  # asked again; the state stays
            return
        if reading.question:
            await self.memory.update_data(pending=str(reading.yuan))
            await self.turn.say(html.escape(reading.question), amount_buttons(self.lang))
            return
        await self._take_amount(reading.yuan)

    async def amount_answer(self, ok: bool) -> None:
        """是 / 不是 under the question about a bare number."""
        data = await self.memory.get_data()
        if not data.get("pending"):
            await self.turn.alert(t("bot.form.stale_button", self.lang))
            return
        await self.turn.ack()
        await self._answer_pending(Decimal(data["pending"]), ok=ok)

    async def _answer_pending(self, amount: Decimal, *, ok: bool) -> None:
        if ok:
            await self._take_amount(amount)
            return
        await self.memory.update_data(pending=None)
        await self.ask_amount()

    async def _take_amount(self, amount: Decimal) -> None:
        data = await self.memory.get_data()
        try:
            await check_investment(self.session, project_id=data["project_id"], week=data["week"],
                                   investment=amount, lang=self.lang)  # fmt: skip
        except ReportError as exc:
            await self.memory.update_data(pending=None)
            await self.turn.say(html.escape(str(exc)))  # asked again; the state stays
            return
        data = await self.memory.update_data(investment=str(amount), pending=None)
        if "blockers" in data:  # asked again after the confirm step refused the amount
            await self._summary(data)
            return
        items = _restored(data.get("item_names", {}))  # open when the report began
        if items:
            await self.memory.set_state(Step.ITEMS)
            await self.turn.say(t("bot.form.ask_items", self.lang), item_buttons(items, set(), self.lang))
            return
        await self.memory.set_state(Step.BLOCKERS)
        await self.turn.say(t("bot.form.ask_blockers", self.lang))

    async def item(self, item_id: int) -> None:
        data = await self.memory.get_data()
        if item_id == 0:
            await self.memory.set_state(Step.BLOCKERS)
            await self.turn.ack()
            await self.turn.say(t("bot.form.ask_blockers", self.lang))
            return
        items = await open_items(
            self.session, data["project_id"]
        )  # another channel may have closed one since
        if item_id not in items:
            await self.turn.alert(t("bot.form.stale_button", self.lang))
            return
        picked = set(data.get("picked", [])) ^ {item_id}
        await self.memory.update_data(picked=sorted(picked), item_names=_kept(items))
        await self.turn.ack()
        await self.turn.say(t("bot.form.ask_items", self.lang), item_buttons(items, picked, self.lang))

    async def blockers(self, text: str) -> None:
        text = text.strip()
        try:
            check_text(text, lang=self.lang)
        except ReportError as exc:
            await self.turn.say(html.escape(str(exc)))  # asked again; the state stays
            return
        data = await self.memory.update_data(blockers=None if text.lower() in NONE_WORDS else text[:2000])
        await self._summary(data)

    async def _summary(self, data: dict[str, Any]) -> None:
        """Every answer for checking, with Confirm and Cancel; item names as shown on the earlier steps."""
        lang = self.lang
        await self.memory.set_state(Step.CONFIRM)
        item_names = data.get("item_names", {})
        names = [item_names.get(str(i), "?") for i in data["picked"]]
        await self.turn.say(
            t("bot.form.summary", lang, project=html.escape(data.get("project_name", "?")), week=data["week"],
              stage=t(f"bot.stage.{data['stage']}", lang),
              investment=format_amount(Decimal(data["investment"]), lang),
              items=html.escape("、".join(names)) or t("bot.form.none", lang),
              blockers=html.escape(data["blockers"] or t("bot.form.none", lang))),
            confirm_buttons(lang),
        )  # fmt: skip

    async def confirm(self, ok: bool) -> None:
        data = await self.memory.get_data()
        # Clear first: a double-tapped Confirm finds no conversation and gets the stale-button answer.
        await self.memory.clear()
        await self.turn.ack()
        if not ok:
            await self.turn.say(t("bot.form.cancelled", self.lang))
            return
        try:
            await submit_report(self.session, settings=self.settings, project_id=data["project_id"],
                                reporter_id=self.person.id, week=data["week"], stage=Stage(data["stage"]),
                                investment=Decimal(data["investment"]), procedure_item_ids=list(data["picked"]),
                                blockers=data["blockers"], channel=self.channel, now=self.now, lang=self.lang)  # fmt: skip
        except ReportError as exc:
            await self.turn.say(html.escape(str(exc)))
            if exc.reason == "over_total":  # ask for the amount again, keeping the other answers
                await self.memory.set_state(Step.INVESTMENT)
                await self.memory.set_data(data)
                await self.ask_amount()
            return
        await self.turn.say(t("bot.form.saved", self.lang, week=data["week"]))

    # -- for channels that route by themselves (WeCom); aiogram routes Telegram by its filters ----

    async def press(self, key: str) -> bool:
        """Act on a pressed button of the conversation; False when `key` is none of its buttons."""
        state = await self.memory.get_state()
        if match := BEGIN_KEY.match(key):
            await self.begin(int(match.group(1)), match.group(2))
        elif (match := STAGE_KEY.match(key)) and state == Step.STAGE:
            await self.stage(match.group(1))
        elif (match := AMOUNT_KEY.match(key)) and state == Step.INVESTMENT:
            await self.amount_answer(match.group(1) == "1")
        elif (match := ITEM_KEY.match(key)) and state == Step.ITEMS:
            await self.item(int(match.group(1)))
        elif (match := CONFIRM_KEY.match(key)) and state == Step.CONFIRM:
            await self.confirm(match.group(1) == "1")
        elif any(p.match(key) for p in (STAGE_KEY, AMOUNT_KEY, ITEM_KEY, CONFIRM_KEY)):
            await self.turn.alert(t("bot.form.stale_button", self.lang))  # a button of a step that is over
        else:
            return False
        return True

    async def reply(self, text: str) -> bool:
        """Act on a text reply within a conversation; False when no conversation is under way."""
        state = await self.memory.get_state()
        if state in (Step.INVESTMENT, Step.BLOCKERS) and not text.strip():
            await self.turn.say(t("bot.form.need_text", self.lang))
        elif state == Step.INVESTMENT:
            await self.amount(text)
        elif state == Step.BLOCKERS:
            await self.blockers(text)
        elif state in (Step.STAGE, Step.ITEMS, Step.CONFIRM):
            await self.turn.say(t("bot.form.use_buttons", self.lang))
        else:
            return False
        return True

    async def not_text(self) -> bool:
        """A picture, a voice message or a file within a conversation: what is expected instead;
        False when no conversation is under way."""
        state = await self.memory.get_state()
        if state in (Step.INVESTMENT, Step.BLOCKERS):
            await self.turn.say(t("bot.form.need_text", self.lang))
        elif state in (Step.STAGE, Step.ITEMS, Step.CONFIRM):
            await self.turn.say(t("bot.form.use_buttons", self.lang))
        else:
            return False
        return True


async def my_projects(
    session: AsyncSession, *, person: Person, settings: Settings, now: datetime, lang: str
) -> tuple[str, Buttons | None]:
    """The lead's active projects, each marked reported or not for this week, with a report button each."""
    week = week_of(now, settings.tz)
    rows = (
        await session.exec(
            select(Project).where(Project.lead_id == person.id, col(Project.active).is_(True))
            .order_by(col(Project.code))
        )
    ).all()  # fmt: skip
    if not rows:
        return t("bot.myprojects.none", lang), None
    reported = set(
        (
            await session.exec(
                select(ProgressReport.project_id).where(
                    col(ProgressReport.project_id).in_([p.id for p in rows]),
                    ProgressReport.week == week,
                    col(ProgressReport.is_current).is_(True),
                )
            )
        ).all()
    )
    lines = "\n".join(
        f"{html.escape(p.code)} {html.escape(p.name)} "
        + t("bot.myprojects.reported" if p.id in reported else "bot.myprojects.missing", lang)
        for p in rows
    )
    buttons = [[(f"{p.code} {p.name}", f"rep:{p.id}:{week}")] for p in rows]
    return t("bot.myprojects", lang, count=len(rows), lines=lines, week=week), buttons
