"""The weekly report conversation in WeCom, through the fake and the callback URL, against the
same conversation in Telegram: one script, run in both channels, gives the lead the same texts
and buttons at every step and stores the same report. A lead known only by their mobile number
is bound on the prompt; an access token expiring mid-conversation loses no message; a replayed
or forged callback moves nothing on."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import col, delete, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from models import ProcedureItem, ProgressReport, Project
from models.db import SessionMaker
from notifier.channels.router import ChannelChat
from notifier.core.settings import Settings
from notifier.reporting.prompts import send_weekly_prompts
from tests.bot.harness import NOW, WEEK, Harness, harness, keyboard
from tests.notifier.bot_world import World, make_world
from web.app import create_app
from web.fakes.wecom import FakeWecom, WecomMessage
from wecom.format import plain_text

URL = "/webhooks/wecom"
LEAD_TG = 111
LEAD_WX = "wx-wangwei"

# What the lead does, in either channel: {P001}, {item} and {week} are filled from the world.
SCRIPT: list[tuple[str, str]] = [
    ("press", "rep:{P001}:{week}"),
    ("text", "新开工"),  # a text where a button is expected
    ("press", "stg:new"),
    ("text", "abc"),  # not an amount: asked again
    ("text", "8亿"),  # over what remains of the total: asked again at once
    ("text", "3000"),  # a bare number is 万元, asked back
    ("press", "amt:1"),
    ("press", "itm:{item}"),
    ("press", "itm:0"),
    ("text", "<b>林地</b>审批"),
    ("press", "cfm:1"),
]

Step = tuple[list[str], list[str]]  # what the lead reads, and the buttons offered (their data)


@pytest.fixture
def wecom_settings(fake_wecom: FakeWecom, db_url: str, redis_url: str, tmp_path: Path) -> Settings:
    return fake_wecom.settings(database_url=db_url, redis_url=redis_url, sms_backend="file", quiet_hours="",
                               sms_file_path=tmp_path / "sms.jsonl", secret_key="test-secret-key-not-for-production")  # fmt: skip


@pytest.fixture
async def wecom_app(wecom_settings: Settings, engine: object, redis: Any) -> AsyncIterator[FastAPI]:
    application = create_app(wecom_settings)
    async with application.router.lifespan_context(application):
        application.state.clock = lambda: NOW
        yield application


class WecomLead:
    """The lead's WeCom client: presses and replies posted by the fake to the callback URL."""

    def __init__(self, fake: FakeWecom, http: httpx.AsyncClient) -> None:
        self.fake, self.http = fake, http
        self.last: tuple[dict[str, str], bytes] | None = None

    async def post(self, xml: str) -> tuple[httpx.Response, list[WecomMessage]]:
        before = len(self.fake.messages)
        self.last = self.fake.callback_request(xml)
        response = await self.http.post(URL, params=self.last[0], content=self.last[1])
        return response, self.fake.messages[before:]

    async def act(self, kind: str, value: str = "") -> Step:
        xml = (
            {"press": self.fake.press_xml, "text": self.fake.text_xml}[kind](LEAD_WX, value) if value else ""
        )
        if kind == "image":
            xml = self.fake.image_xml(LEAD_WX)
        response, sent = await self.post(xml)
        assert response.status_code == 200, response.text
        return wecom_step(sent)


def wecom_step(sent: list[WecomMessage]) -> Step:
    """What the member reads: each text, and a card's title and subtitle unless it only carries
    the buttons of the text before it."""
    texts: list[str] = []
    for i, message in enumerate(sent):
        if message.msgtype == "text" or i == 0 or sent[i - 1].msgtype != "text":
            texts.append(message.text)
    return texts, [key for message in sent for _, key in message.buttons]


def telegram_step(h: Harness, requests: list[Any]) -> Step:
    texts = [plain_text(text) for text in h.alerts(requests)] + [
        plain_text(text) for text in h.texts(requests)
    ]
    return texts, [
        data for r in requests if type(r).__name__ == "SendMessage" for row in keyboard(r) for _, data in row
    ]


def script(world: World) -> list[tuple[str, str]]:
    names = {"P001": world.projects[0].id, "item": world.items[1].id, "week": WEEK}
    return [(kind, value.format(**names)) for kind, value in SCRIPT]


async def stored(session: AsyncSession, world: World) -> tuple[Any, ...]:
    """The week's report, the project and its items, as the database holds them."""
    [report] = (await session.exec(select(ProgressReport).execution_options(populate_existing=True))).all()
    project = await session.get(Project, world.projects[0].id, populate_existing=True)
    assert project is not None
    rows = (await session.exec(select(ProcedureItem).execution_options(populate_existing=True))).all()
    items = sorted((item.id, item.name, item.done_on) for item in rows)
    return (
        (report.project_id, report.week, report.reporter_id, report.stage, report.investment,
         report.procedures_completed, report.procedure_names, report.blockers, report.version, report.is_current),
        (project.stage, project.actual_start, project.resumed_on),
        list(items),
    )  # fmt: skip


async def reset(session: AsyncSession, world: World, project: tuple[Any, ...]) -> None:
    """Back to the week before anything was reported, for the other channel's run."""
    await session.exec(delete(ProgressReport))  # type: ignore[call-overload]
    await session.exec(update(ProcedureItem).values(done_on=None))  # type: ignore[call-overload]
    stage, actual_start, resumed_on = project
    await session.exec(
        update(Project)  # type: ignore[call-overload]
        .where(col(Project.id) == world.projects[0].id)
        .values(stage=stage, actual_start=actual_start, resumed_on=resumed_on)
    )
    await session.commit()


async def test_one_script_in_wecom_and_in_telegram_stores_the_same_report(
    session: AsyncSession, settings: Settings, wecom_settings: Settings, sessionmaker: SessionMaker,
    fake_wecom: FakeWecom, http: httpx.AsyncClient, chat: ChannelChat,
) -> None:  # fmt: skip
    world = await make_world(session)
    fake_wecom.add_member("13904830001", LEAD_WX)  # the lead's number, as the office imported it
    before = (world.projects[0].stage, world.projects[0].actual_start, world.projects[0].resumed_on)

    # WeCom: the lead has no Telegram and no WeCom binding, only a phone number.
    assert (world.lead.telegram_id, world.lead.wecom_userid) == (None, None)
    result = await send_weekly_prompts(session, settings=wecom_settings, chat=chat, week=WEEK, now=NOW)
    assert (result.chat, result.no_chat) == (2, 1)  # the other lead has no WeCom member
    lead = await session.get(type(world.lead), world.lead.id, populate_existing=True)
    assert lead is not None and lead.wecom_userid == LEAD_WX  # bound by the number on first contact
    assert [key for m in fake_wecom.to(LEAD_WX) for _, key in m.buttons] == [
        f"rep:{p.id}:{WEEK}" for p in world.projects[:2]
    ]
    wecom = WecomLead(fake_wecom, http)
    in_wecom: list[Step] = []
    for number, (kind, value) in enumerate(script(world)):
        if number == 5:
            fake_wecom.expire_tokens()  # the access token runs out mid-conversation
        in_wecom.append(await wecom.act(kind, value))
    assert fake_wecom.refused[42001] >= 1
    from_wecom = await stored(session, world)

    # Telegram: the same lead, now bound in Telegram, runs the same script.
    await reset(session, world, before)
    lead.telegram_id = LEAD_TG
    session.add(lead)
    await session.commit()
    h = harness(settings, sessionmaker)
    in_telegram = [
        telegram_step(h, await (h.tap(LEAD_TG, value) if kind == "press" else h.text(LEAD_TG, value)))
        for kind, value in script(world)
    ]
    from_telegram = await stored(session, world)

    assert in_wecom == in_telegram
    assert from_wecom == from_telegram
    # And what was stored is what the lead said.
    report = from_wecom[0]
    assert report[3:8] == ("new", Decimal("30000000.00"), 1, '["用地"]', "<b>林地</b>审批")
    assert in_wecom[-1] == (["已保存2026-W48周进展,谢谢!截止前可以重新填报覆盖。"], [])
    assert in_wecom[4][0][0].startswith("本周投资8.00亿元超过项目剩余总投资")
    # The channel each came through is recorded.
    async with sessionmaker() as s:
        assert [r.channel for r in (await s.exec(select(ProgressReport))).all()] == ["telegram"]


async def test_a_replayed_or_forged_press_moves_nothing_on(
    session: AsyncSession, wecom_settings: Settings, fake_wecom: FakeWecom, http: httpx.AsyncClient,
    chat: ChannelChat,
) -> None:  # fmt: skip
    world = await make_world(session)
    fake_wecom.add_member("13904830001", LEAD_WX)
    await send_weekly_prompts(session, settings=wecom_settings, chat=chat, week=WEEK, now=NOW)
    wecom = WecomLead(fake_wecom, http)
    await wecom.act("press", f"rep:{world.projects[0].id}:{WEEK}")
    await wecom.act("press", "stg:continuing")
    await wecom.act("text", "3000万")
    _, keys = await wecom.act("press", f"itm:{world.items[0].id}")
    assert keys[0] == f"itm:{world.items[0].id}"
    assert fake_wecom.messages[-1].buttons[0][0] == "✅ 立项"
    assert wecom.last is not None
    params, body = wecom.last
    sent = len(fake_wecom.messages)
    # The same press again (WeCom's retry or an attacker's replay): answered, not acted on.
    assert (await http.post(URL, params=params, content=body)).status_code == 200
    # Forged: a wrong signature, or a body changed on the way.
    forged = await http.post(URL, params={**params, "msg_signature": "0" * 40}, content=body)
    assert forged.status_code == 403
    assert len(fake_wecom.messages) == sent
    await wecom.act("press", "itm:0")
    texts, _ = await wecom.act("text", "无")
    assert "办结手续:立项" in texts[0]  # still picked once, not toggled off by the replay
    await wecom.act("press", "cfm:1")
    [report] = (await session.exec(select(ProgressReport))).all()
    assert (report.channel, report.procedures_completed, report.stage) == ("wecom", 1, "continuing")


async def test_myprojects_and_stale_buttons_in_wecom(
    session: AsyncSession, wecom_settings: Settings, fake_wecom: FakeWecom, http: httpx.AsyncClient,
    chat: ChannelChat,
) -> None:  # fmt: skip
    world = await make_world(session)
    fake_wecom.add_member("13904830001", LEAD_WX)
    await send_weekly_prompts(session, settings=wecom_settings, chat=chat, week=WEEK, now=NOW)
    wecom = WecomLead(fake_wecom, http)
    texts, keys = await wecom.act("text", "我的项目")
    assert texts == [
        "您负责2个项目:\nP001 光伏电站 (本周未报)\nP002 供水管网 (本周未报)\n点击下方按钮填报本周进展。"
    ]
    assert keys == [f"rep:{p.id}:{WEEK}" for p in world.projects[:2]]
    # A stage button with no report under way, a project that is not the lead's, last week's button.
    assert (await wecom.act("press", f"rep:{world.projects[1].id}:{WEEK}"))[1][0] == "stg:preparatory"
    await wecom.act("press", "stg:continuing")
    assert (await wecom.act("press", "stg:new"))[0] == ["这个按钮已失效(报送已处理或已过期)。"]
    texts, _ = await wecom.act("text", "hello")
    assert texts[0].startswith("无法识别金额")  # the conversation is still asking for the amount
    await wecom.act("text", "850万")
    await wecom.act("text", "无")
    await wecom.act("press", "cfm:1")
    texts, _ = await wecom.act("text", "我的项目")
    assert texts[0].splitlines()[1:3] == ["P001 光伏电站 (本周未报)", "P002 供水管网 (本周已报)"]
    # Outside a conversation, a text gets the help line.
    texts, _ = await wecom.act("text", "你好")
    assert texts[0].startswith("已收到。回复“我的项目”")


async def test_a_picture_instead_of_an_answer_says_what_is_expected(
    session: AsyncSession, wecom_settings: Settings, fake_wecom: FakeWecom, http: httpx.AsyncClient,
    chat: ChannelChat,
) -> None:  # fmt: skip
    world = await make_world(session)
    fake_wecom.add_member("13904830001", LEAD_WX)
    await send_weekly_prompts(session, settings=wecom_settings, chat=chat, week=WEEK, now=NOW)
    wecom = WecomLead(fake_wecom, http)
    assert await wecom.act("image") == ([], [])  # no report under way: nothing to say
    await wecom.act("press", f"rep:{world.projects[1].id}:{WEEK}")
    assert (await wecom.act("image"))[0] == ["请点击上方消息中的按钮继续。"]
    await wecom.act("press", "stg:continuing")
    assert (await wecom.act("image"))[0] == ["请用文字回复。"]
    assert (await wecom.act("text", "850万"))[0] == ["有哪些困难或问题需要协调?没有请回复“无”。"]


async def test_a_conversation_outlives_a_restart_of_the_web_app(
    session: AsyncSession, wecom_settings: Settings, fake_wecom: FakeWecom, chat: ChannelChat, engine: object,
    redis: Any,
) -> None:  # fmt: skip
    world = await make_world(session)
    fake_wecom.add_member("13904830001", LEAD_WX)
    await send_weekly_prompts(session, settings=wecom_settings, chat=chat, week=WEEK, now=NOW)

    async def run(steps: list[tuple[str, str]]) -> list[Step]:
        """The steps against a web app of its own, stopped afterwards (as in a deploy)."""
        application = create_app(wecom_settings)
        async with application.router.lifespan_context(application), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=application), base_url="http://test"
        ) as client:  # fmt: skip
            application.state.clock = lambda: NOW
            lead = WecomLead(fake_wecom, client)
            return [await lead.act(kind, value) for kind, value in steps]

    await run([("press", f"rep:{world.projects[1].id}:{WEEK}"), ("press", "stg:continuing")])
    [(texts, _)] = await run([("text", "850万")])  # a new process: still asking for the amount
    assert texts == ["有哪些困难或问题需要协调?没有请回复“无”。"]
    await run([("text", "无"), ("press", "cfm:1")])
    [report] = (await session.exec(select(ProgressReport))).all()
    assert (report.channel, report.investment, report.stage) == ("wecom", Decimal("8500000.00"), "continuing")
