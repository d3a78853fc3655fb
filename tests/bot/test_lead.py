"""Lead and leader commands through the Dispatcher."""

from __future__ import annotations

from decimal import Decimal

from sqlmodel.ext.asyncio.session import AsyncSession

from models import Channel, Person, Stage
from models.db import SessionMaker
from notifier.core.settings import Settings
from notifier.reporting.reports import submit_report
from tests.bot.harness import WEEK, harness, keyboard
from tests.notifier.bot_world import make_world


async def test_lead_commands(session: AsyncSession, settings: Settings, sessionmaker: SessionMaker) -> None:
    world = await make_world(session)
    world.lead.telegram_id = 111
    session.add(world.lead)
    await session.commit()
    h = harness(settings, sessionmaker)
    assert h.texts(await h.text(111, "/help"))[0].startswith("可用命令:\n/myprojects")
    sent = await h.text(111, "/myprojects")
    assert h.texts(sent) == [
        "您负责2个项目:\nP001 光伏电站 (本周未报)\nP002 供水管网 (本周未报)\n点击下方按钮填报本周进展。"
    ]
    assert keyboard(sent[-1]) == [[("P001 光伏电站", f"rep:{world.projects[0].id}:{WEEK}")],
                                  [("P002 供水管网", f"rep:{world.projects[1].id}:{WEEK}")]]  # fmt: skip
    # Once P002 is reported this week (in any channel), /myprojects says so.
    await submit_report(session, settings=settings, project_id=world.projects[1].id or 0, reporter_id=world.lead.id,
                        week=WEEK, stage=Stage.CONTINUING, investment=Decimal("1000000"), procedure_item_ids=[],
                        blockers=None, channel=Channel.WEB, now=h.now)  # fmt: skip
    assert h.texts(await h.text(111, "/myprojects"))[0].splitlines()[1:3] == [
        "P001 光伏电站 (本周未报)",
        "P002 供水管网 (本周已报)",
    ]
    assert h.texts(await h.text(111, "随便说点")) == [
        "请点击每周提醒中的按钮填报进展,或发送 /help 查看可用命令。"
    ]
    assert h.texts(await h.text(111, "/language")) == ["Language set to English."]
    person = await session.get(Person, world.lead.id, populate_existing=True)
    assert person is not None and person.language == "en"
    assert h.texts(await h.text(111, "/summary")) == [
        "The rate views are for leaders, contacts and administrators."
    ]


async def test_leader_views(session: AsyncSession, settings: Settings, sessionmaker: SessionMaker) -> None:
    world = await make_world(session)
    world.contact.telegram_id = 333
    session.add(world.contact)
    await session.commit()
    h = harness(settings, sessionmaker)
    assert h.texts(await h.text(333, "/help"))[0].endswith("/summary 全盟三率\n/myunit 本单位三率")
    [unit] = h.texts(await h.text(333, "/myunit"))
    assert unit.startswith("ALZQ(截至2026-11-26):项目3个,开复工率")
    [league] = h.texts(await h.text(333, "/summary"))
    assert league.startswith("全盟(截至2026-11-26):项目3个,开复工率")
