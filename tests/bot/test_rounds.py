"""The weekly prompt and the reminder round sent through aiogram's Bot: exact texts and keyboards, and the
prompt's button opening the report conversation in the real Dispatcher."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.sender import AiogramChatSender
from models.db import SessionMaker
from notifier.core.settings import Settings
from notifier.reporting.prompts import remind_leads, send_weekly_prompts
from tests.bot.harness import NOW, WEEK, harness, keyboard
from tests.notifier.bot_world import make_world


async def test_prompt_and_reminder_round(
    session: AsyncSession, settings: Settings, sessionmaker: SessionMaker
) -> None:
    world = await make_world(session)
    world.lead.telegram_id = 111
    session.add(world.lead)
    await session.commit()
    h = harness(settings, sessionmaker)
    chat = AiogramChatSender(h.bot, sessionmaker=sessionmaker)
    await send_weekly_prompts(session, settings=settings, chat=chat, week=WEEK, now=NOW)
    prompts = h.session.sent()
    assert [(r.chat_id, r.text) for r in prompts] == [
        (111, "王伟您好!请报送项目<b>光伏电站</b>(P001)2026-W48周的进展,截止时间11-28 12:00。"),
        (111, "王伟您好!请报送项目<b>供水管网</b>(P002)2026-W48周的进展,截止时间11-28 12:00。"),
    ]
    button = keyboard(prompts[1])
    assert button == [[("填报本周进展", f"rep:{world.projects[1].id}:{WEEK}")]]
    # The lead answers P002 through the prompt's own button.
    await h.tap(111, button[0][0][1])
    await h.tap(111, "stg:continuing")
    await h.text(111, "120万")
    await h.text(111, "无")
    assert h.texts(await h.tap(111, "cfm:1")) == ["已保存2026-W48周进展,谢谢!截止前可以重新填报覆盖。"]
    before = len(h.session.sent())
    result = await remind_leads(session, settings=settings, chat=chat, week=WEEK, now=NOW)
    reminders = h.session.sent()[before:]
    assert (result.chat, result.no_chat) == (1, 1)
    assert [r.text for r in reminders] == [
        "提醒:项目<b>光伏电站</b>(P001)2026-W48周进展尚未报送,截止时间11-28 12:00,请尽快填报。"
    ]
    assert keyboard(reminders[0]) == [[("填报本周进展", f"rep:{world.projects[0].id}:{WEEK}")]]
