"""The report conversation through the real Dispatcher: happy path, bad amounts, stale buttons; no step
talks to Telegram while it holds a database connection."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Channel, ProgressReport, Stage
from models.db import SessionMaker
from notifier.core.settings import Settings
from notifier.reporting.reports import submit_report
from tests.bot.harness import WEEK, Harness, harness, keyboard
from tests.notifier.bot_world import World, make_world

LEAD = 111


async def _setup(
    session: AsyncSession, settings: Settings, sessionmaker: SessionMaker
) -> tuple[World, Harness]:
    world = await make_world(session)
    world.lead.telegram_id = LEAD
    world.other_lead.telegram_id = 222
    session.add_all([world.lead, world.other_lead])
    await session.commit()
    return world, harness(settings, sessionmaker)


async def _reports(session: AsyncSession) -> list[ProgressReport]:
    return list((await session.exec(select(ProgressReport).execution_options(populate_existing=True))).all())


async def test_whole_conversation(
    session: AsyncSession, settings: Settings, sessionmaker: SessionMaker
) -> None:
    world, h = await _setup(session, settings, sessionmaker)
    pid = world.projects[0].id
    sent = await h.tap(LEAD, f"rep:{pid}:{WEEK}")
    assert h.texts(sent) == ["项目<b>光伏电站</b>2026-W48周进展。请选择项目当前阶段:"]
    assert keyboard(sent[-1]) == [[("前期", "stg:preparatory")], [("新开工", "stg:new")],
                                  [("续建(已复工)", "stg:continuing")], [("竣工投产", "stg:completed")]]  # fmt: skip
    assert h.texts(await h.text(LEAD, "新开工")) == ["请点击上方消息中的按钮继续。"]
    sent = await h.tap(LEAD, "stg:new")
    assert h.texts(sent) == ["请输入本周完成投资额,例如:3000万、1.2亿、2亿3000万、一千二百万"]
    sent = await h.text(LEAD, "3000万")
    assert h.texts(sent) == ["本周办结了哪些手续?点选后按“选好了”(没有则直接按“选好了”)。"]
    ids = [item.id for item in world.items]
    assert keyboard(sent[-1]) == [[("立项", f"itm:{ids[0]}")], [("用地", f"itm:{ids[1]}")],
                                  [("环评", f"itm:{ids[2]}")], [("选好了", "itm:0")]]  # fmt: skip
    sent = await h.tap(LEAD, f"itm:{ids[1]}")
    assert keyboard(sent[-1])[1] == [("✅ 用地", f"itm:{ids[1]}")]
    sent = await h.tap(LEAD, "itm:0")
    assert h.texts(sent) == ["有哪些困难或问题需要协调?没有请回复“无”。"]
    sent = await h.text(LEAD, "<b>林地</b>审批")
    assert h.texts(sent) == [
        "请核对:\n项目:光伏电站\n周次:2026-W48\n阶段:新开工\n本周投资:3000.00万元\n办结手续:用地\n"
        "困难问题:&lt;b&gt;林地&lt;/b&gt;审批"
    ]
    assert keyboard(sent[-1]) == [[("确认提交", "cfm:1"), ("取消", "cfm:0")]]
    sent = await h.tap(LEAD, "cfm:1")
    assert h.texts(sent) == ["已保存2026-W48周进展,谢谢!截止前可以重新填报覆盖。"]
    # A double-tapped Confirm: a clear answer and still one report.
    sent = await h.tap(LEAD, "cfm:1")
    assert h.alerts(sent) == ["这个按钮已失效(报送已处理或已过期)。"]
    reports = await _reports(session)
    assert [(r.investment, r.procedures_completed, r.blockers, r.channel) for r in reports] == [
        (Decimal("30000000.00"), 1, "<b>林地</b>审批", "telegram")
    ]


@pytest.mark.parametrize(
    ("typed", "answer"),
    [
        ("abc", "无法识别金额“abc”,请只填写数字和单位(万/亿/元)。例如:3000万、1.2亿、2亿3000万、一千二百万"),
        ("-500万", "金额不能为负数:“-500万”。例如:3000万、1.2亿、2亿3000万、一千二百万"),
        ("5万亿", "金额“5万亿”有歧义,请写明单位。例如:3000万、1.2亿、2亿3000万、一千二百万"),
        ("9e9", "请不要使用科学计数法:“9e9”。例如:3000万、1.2亿、2亿3000万、一千二百万"),
    ],
)
async def test_bad_amount_asked_again(
    session: AsyncSession, settings: Settings, sessionmaker: SessionMaker, typed: str, answer: str
) -> None:
    world, h = await _setup(session, settings, sessionmaker)
    await h.tap(LEAD, f"rep:{world.projects[1].id}:{WEEK}")
    await h.tap(LEAD, "stg:continuing")
    assert h.texts(await h.text(LEAD, typed)) == [answer]
    # Still asking for the amount: a good one moves on (P002 has no procedure items).
    assert h.texts(await h.text(LEAD, "850万元")) == ["有哪些困难或问题需要协调?没有请回复“无”。"]
    assert await _reports(session) == []


@pytest.mark.parametrize(
    ("typed", "question", "answer", "stored"),
    [
        ("3000", "“3000”没有单位,按万元理解:是3000万元吗?", "amt:1", "3000.00万元"),
        ("3千万", "“3千万”理解为3000万元,对吗?", "是", "3000.00万元"),
        ("1.5千万", "“1.5千万”理解为1500万元,对吗?", "amt:1", "1500.00万元"),
        ("约500万", "“约500万”是估计数,按500万元填报,对吗?", "对", "500.00万元"),
        ("无", None, None, "0.00万元"),
        ("没有", None, None, "0.00万元"),
    ],
)
async def test_amounts_asked_back_before_they_are_taken(
    session: AsyncSession, settings: Settings, sessionmaker: SessionMaker, typed: str, question: str | None,
    answer: str | None, stored: str,
) -> None:  # fmt: skip
    world, h = await _setup(session, settings, sessionmaker)
    await h.tap(LEAD, f"rep:{world.projects[1].id}:{WEEK}")
    await h.tap(LEAD, "stg:continuing")
    sent = await h.text(LEAD, typed)
    if question is not None:
        assert h.texts(sent) == [question]
        assert keyboard(sent[-1]) == [[("是", "amt:1"), ("不是,重新填写", "amt:0")]]
        assert answer is not None
        sent = await (h.tap(LEAD, answer) if answer.startswith("amt:") else h.text(LEAD, answer))
    assert h.texts(sent) == ["有哪些困难或问题需要协调?没有请回复“无”。"]
    [summary] = h.texts(await h.text(LEAD, "无"))
    assert f"本周投资:{stored}" in summary


async def test_an_amount_not_meant_is_asked_again(
    session: AsyncSession, settings: Settings, sessionmaker: SessionMaker
) -> None:
    world, h = await _setup(session, settings, sessionmaker)
    await h.tap(LEAD, f"rep:{world.projects[1].id}:{WEEK}")
    await h.tap(LEAD, "stg:continuing")
    await h.text(LEAD, "300")
    assert h.texts(await h.tap(LEAD, "amt:0")) == [
        "请输入本周完成投资额,例如:3000万、1.2亿、2亿3000万、一千二百万"
    ]
    # The question is over: its button has expired, and "是" is no amount.
    assert h.alerts(await h.tap(LEAD, "amt:1")) == ["这个按钮已失效(报送已处理或已过期)。"]
    assert h.texts(await h.text(LEAD, "是"))[0].startswith("无法识别金额“是”")
    # A bare number asked back, then another amount typed instead: the new one counts.
    await h.text(LEAD, "300")
    assert h.texts(await h.text(LEAD, "不是")) == [
        "请输入本周完成投资额,例如:3000万、1.2亿、2亿3000万、一千二百万"
    ]
    await h.text(LEAD, "300")
    assert h.texts(await h.text(LEAD, "200万")) == ["有哪些困难或问题需要协调?没有请回复“无”。"]
    [summary] = h.texts(await h.text(LEAD, "无"))
    assert "本周投资:200.00万元" in summary
    assert await _reports(session) == []


async def test_over_remaining_total_refused_right_after_the_amount(
    session: AsyncSession, settings: Settings, sessionmaker: SessionMaker
) -> None:
    world, h = await _setup(session, settings, sessionmaker)
    await h.tap(LEAD, f"rep:{world.projects[1].id}:{WEEK}")
    await h.tap(LEAD, "stg:continuing")
    # Checked at once, before the blockers are asked: the amount is asked again.
    assert h.texts(await h.text(LEAD, "1亿")) == [
        "本周投资1.00亿元超过项目剩余总投资8000.00万元(总投资8000.00万元),请核对后重新填写。"
    ]
    assert h.texts(await h.text(LEAD, "800万")) == ["有哪些困难或问题需要协调?没有请回复“无”。"]
    [summary] = h.texts(await h.text(LEAD, "无"))
    assert "本周投资:800.00万元" in summary
    # Meanwhile the office enters another week's 7500万: what remains is 500万, and Confirm says so.
    await submit_report(session, settings=settings, project_id=world.projects[1].id or 0, reporter_id=None,
                        week="2026-W47", stage=Stage.CONTINUING, investment=Decimal("75000000"),
                        procedure_item_ids=[], blockers=None, channel=Channel.ADMIN, now=h.now)  # fmt: skip
    assert h.texts(await h.tap(LEAD, "cfm:1")) == [
        "本周投资800.00万元超过项目剩余总投资500.00万元(总投资8000.00万元),请核对后重新填写。",
        "请输入本周完成投资额,例如:3000万、1.2亿、2亿3000万、一千二百万",
    ]
    assert [r.week for r in await _reports(session)] == ["2026-W47"]
    # Asked again: a corrected amount goes straight to the summary, keeping the other answers.
    [summary] = h.texts(await h.text(LEAD, "400万"))
    assert summary.startswith("请核对:\n项目:供水管网") and "本周投资:400.00万元" in summary
    assert h.texts(await h.tap(LEAD, "cfm:1")) == ["已保存2026-W48周进展,谢谢!截止前可以重新填报覆盖。"]
    assert sorted(r.week for r in await _reports(session)) == ["2026-W47", "2026-W48"]


@pytest.mark.parametrize(
    ("case", "alert"),
    [
        ("last_week", "2026-W47周的报送已于2026-11-21 12:00截止,这个按钮已失效。"),
        ("not_mine", "该项目不由您负责,不能填报。"),
        ("stage_without_form", "这个按钮已失效(报送已处理或已过期)。"),
    ],
)
async def test_stale_buttons(
    session: AsyncSession, settings: Settings, sessionmaker: SessionMaker, case: str, alert: str
) -> None:
    world, h = await _setup(session, settings, sessionmaker)
    data = {
        "last_week": f"rep:{world.projects[0].id}:2026-W47",
        "not_mine": f"rep:{world.projects[2].id}:{WEEK}",
        "stage_without_form": "stg:new",
    }[case]
    sent = await h.tap(LEAD, data)
    assert h.alerts(sent) == [alert] and h.texts(sent) == []
    assert await _reports(session) == []


async def test_unbound_user_gets_one_polite_line(
    session: AsyncSession, settings: Settings, sessionmaker: SessionMaker
) -> None:
    world, h = await _setup(session, settings, sessionmaker)
    polite = "您好,此账号尚未绑定。请使用管理员发给您的邀请链接打开本机器人。"
    assert h.texts(await h.text(999, "你好")) == [polite]
    assert h.texts(await h.text(999, "/myprojects")) == [polite]
    assert h.alerts(await h.tap(999, f"rep:{world.projects[0].id}:{WEEK}")) == [polite]


async def test_a_command_in_the_middle_of_a_report_is_answered_and_the_report_goes_on(
    session: AsyncSession, settings: Settings, sessionmaker: SessionMaker
) -> None:
    world, h = await _setup(session, settings, sessionmaker)
    await h.tap(LEAD, f"rep:{world.projects[1].id}:{WEEK}")
    await h.tap(LEAD, "stg:continuing")
    [help_text] = h.texts(await h.text(LEAD, "/help"))  # not taken for an amount
    assert help_text.startswith("可用命令:")
    assert h.texts(await h.text(LEAD, "/myprojects"))[0].startswith("您负责2个项目")
    # The conversation is where it was: the amount is still expected.
    assert h.texts(await h.text(LEAD, "850万")) == ["有哪些困难或问题需要协调?没有请回复“无”。"]
    [summary] = h.texts(await h.text(LEAD, "/skip"))  # a command-like answer is still an answer
    assert summary.startswith("请核对:") and summary.endswith("困难问题:无")
    assert h.texts(await h.tap(LEAD, "cfm:1")) == ["已保存2026-W48周进展,谢谢!截止前可以重新填报覆盖。"]
    [report] = await _reports(session)
    assert report.blockers is None


async def test_an_item_closed_elsewhere_after_the_report_began_is_refused_as_stale(
    session: AsyncSession, settings: Settings, sessionmaker: SessionMaker
) -> None:
    world, h = await _setup(session, settings, sessionmaker)
    await h.tap(LEAD, f"rep:{world.projects[0].id}:{WEEK}")
    await h.tap(LEAD, "stg:new")
    first, second = world.items[0], world.items[1]
    first.done_on = date(2026, 11, 25)  # closed through the web form meanwhile
    session.add(first)
    await session.commit()
    sent = await h.text(LEAD, "3000万")  # the keyboard shows the items open when the report began
    assert [row[0][0] for row in keyboard(sent[-1])] == ["立项", "用地", "环评", "选好了"]
    assert h.alerts(await h.tap(LEAD, f"itm:{first.id}")) == ["这个按钮已失效(报送已处理或已过期)。"]
    sent = await h.tap(LEAD, f"itm:{second.id}")  # the refreshed keyboard no longer offers it
    assert [row[0][0] for row in keyboard(sent[-1])] == ["✅ 用地", "环评", "选好了"]
    await h.tap(LEAD, "itm:0")
    assert "办结手续:用地" in h.texts(await h.text(LEAD, "无"))[0]
    await h.tap(LEAD, "cfm:1")
    [report] = await _reports(session)
    assert report.procedures_completed == 1


def test_the_conversation_steps_are_the_report_form_states() -> None:
    """notifier names the steps as aiogram names bot/states.ReportForm's states, so a Telegram
    conversation kept in Redis reads the same on either side of an upgrade."""
    from bot.states import ReportForm
    from notifier.reporting.conversation import Step

    assert [s.value for s in Step] == [s.state for s in ReportForm.__states__]
