"""The demo's WeCom channel, on the fake WeCom app beside the simulated Telegram bot. The week: the
leads who left it unanswered in Telegram are set to WeCom first (the office's channel order), bound
by their mobile number, reminded in WeCom, and report through encrypted callbacks posted to the
real callback URL (the web app in process) — with the access token expiring halfway. The bulletin:
the league leaders work in WeCom, so the worker (WeCom on, the same fake) sends them the bulletin
card with 已阅, and one of them presses it through the callback URL.

`WecomDemo` keeps the fake and the web app open from the week to the bulletin; `aclose` ends both.
"""

from __future__ import annotations

import secrets
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
import redis.asyncio as aioredis
from pydantic import SecretStr
from sqlmodel import col, func, select

from models import (
    BulletinRead,
    Channel,
    LeaderLevel,
    Person,
    ProgressReport,
    Project,
    Role,
    WecomState,
    utcnow,
)
from models.db import SessionMaker
from notifier.channels.router import ChannelChat
from notifier.channels.wecom import wecom_mobile
from notifier.core.chat import RecordingChatSender
from notifier.core.settings import Settings
from notifier.numbers.holidays import schedule_for_week
from notifier.reporting.prompts import missing_reports, remind_leads
from web.fakes.wecom import FakeWecom
from wecom.channel import WecomChannel
from wecom.client import WecomClient

CALLBACK_PATH = "/webhooks/wecom"


@dataclass
class WecomWeek:
    week: str
    leads: int  # set to WeCom first and bound by their number
    reminded: int
    reports: int  # stored through WeCom
    messages: int  # sent by Guatu to the fake WeCom
    callbacks: int  # posted by the fake to the callback URL
    token_refreshes: int


def fake_settings(settings: Settings, fake: FakeWecom, *, redis_url: str) -> Settings:
    """The demo's settings with the WeCom app pointed at the fake (and a key for the in-process web
    app, which signs nothing the demo keeps)."""
    return settings.model_copy(update={
        "wecom_corp_id": fake.corp_id, "wecom_agent_id": fake.agent_id, "wecom_secret": SecretStr(fake.secret),
        "wecom_token": SecretStr(fake.token), "wecom_aes_key": SecretStr(fake.aes_key),
        "wecom_api_base": fake.api_base, "redis_url": redis_url,
        "secret_key": settings.secret_key or SecretStr(secrets.token_urlsafe(32)),
    })  # fmt: skip


class _Member:
    """A lead's WeCom client: presses the newest card's buttons and replies, through the fake."""

    def __init__(self, fake: FakeWecom, http: httpx.AsyncClient, userid: str) -> None:
        self.fake, self.http, self.userid = fake, http, userid
        self.posted = 0

    async def _post(self, xml: str) -> None:
        params, body = self.fake.callback_request(xml)
        response = await self.http.post(CALLBACK_PATH, params=params, content=body)
        response.raise_for_status()
        self.posted += 1

    async def press(self, key: str) -> None:
        await self._post(self.fake.press_xml(self.userid, key))

    async def reply(self, text: str) -> None:
        await self._post(self.fake.text_xml(self.userid, text))

    def offered(self) -> list[str]:
        """The keys of the buttons on the newest message with buttons."""
        cards = [m for m in self.fake.to(self.userid) if m.buttons]
        return [key for _, key in cards[-1].buttons] if cards else []


async def _report(member: _Member, project: Project, week: str) -> None:
    """The conversation as a lead has it: stage, a bare number of 万元 confirmed, no items, no blockers."""
    await member.press(f"rep:{project.id}:{week}")
    await member.press(f"stg:{project.stage}")
    wan = max(1, int(Decimal(project.annual_plan) / 10_000 / 40))
    await member.reply(str(wan))  # asked back: "是…万元吗?"
    await member.press("amt:1")
    if "itm:0" in member.offered():
        await member.press("itm:0")
    await member.reply("无")
    await member.press("cfm:1")


@dataclass
class WecomDemo:
    """The fake WeCom app, Guatu's settings pointed at it, a WeCom sender and the web app behind the
    callback URL (in process), open from the demo's WeCom week to its bulletin."""

    fake: FakeWecom
    settings: Settings
    chat: ChannelChat
    app: Any
    http: httpx.AsyncClient
    stack: AsyncExitStack

    @classmethod
    async def start(cls, settings: Settings, sessionmaker: SessionMaker, *, redis_url: str) -> WecomDemo:
        from web.app import create_app  # FastAPI is imported only when the demo gets here

        stack = AsyncExitStack()
        try:
            fake = await FakeWecom().start()
            stack.push_async_callback(fake.stop)
            wsettings = fake_settings(settings, fake, redis_url=redis_url)
            redis = aioredis.Redis.from_url(redis_url)
            stack.push_async_callback(redis.aclose)
            wecom = WecomChannel(WecomClient(wsettings, redis))
            stack.push_async_callback(wecom.aclose)
            chat = ChannelChat(telegram=RecordingChatSender(), wecom=wecom, sessionmaker=sessionmaker,
                               settings=wsettings)  # fmt: skip
            app = create_app(wsettings)
            await stack.enter_async_context(app.router.lifespan_context(app))
            http = await stack.enter_async_context(
                httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://guatu.local")
            )
        except BaseException:
            await stack.aclose()
            raise
        return cls(fake=fake, settings=wsettings, chat=chat, app=app, http=http, stack=stack)

    async def aclose(self) -> None:
        await self.stack.aclose()


async def run_wecom_week(demo: WecomDemo, sessionmaker: SessionMaker, *, week: str) -> WecomWeek:
    """The week's unanswered leads reminded in WeCom and reporting through the callback URL."""
    fake, chat, http = demo.fake, demo.chat, demo.http
    now = schedule_for_week(demo.settings, week).prompt + timedelta(hours=26)
    gettoken_before, messages_before = fake.gettoken_calls, len(fake.messages)
    demo.app.state.clock = lambda: now
    try:
        async with sessionmaker() as session:
            missing = await missing_reports(session, week=week)
            leads = {lead.id: lead for _, _, lead in missing if lead.phone}
            for lead in leads.values():
                assert lead.phone is not None
                fake.add_member(wecom_mobile(lead.phone), f"wx-{lead.id}")
                lead.channels = "wecom,sms"
                session.add(lead)
            await session.commit()
            reminded = await remind_leads(session, settings=demo.settings, chat=chat, week=week, now=now)
            projects = [project for _, project, lead in missing if lead.id in leads]
        members: dict[str, _Member] = {}
        for number, project in enumerate(projects):
            if number == len(projects) // 2:
                fake.expire_tokens()  # the access token runs out halfway: nothing is lost
            userid = f"wx-{project.lead_id}"
            member = members.setdefault(userid, _Member(fake, http, userid))
            await _report(member, project, week)
    finally:
        demo.app.state.clock = utcnow  # the bulletin that follows is read now
    async with sessionmaker() as session:
        stored = (await session.exec(select(func.count()).select_from(ProgressReport).where(
            ProgressReport.week == week, col(ProgressReport.is_current).is_(True),
            ProgressReport.channel == Channel.WECOM))).one()  # fmt: skip
        bound = (await session.exec(select(func.count()).select_from(Person).where(
            Person.wecom_state == WecomState.BOUND))).one()  # fmt: skip
    return WecomWeek(week=week, leads=int(bound), reminded=reminded.chat, reports=int(stored),
                     messages=len(fake.messages) - messages_before,
                     callbacks=sum(m.posted for m in members.values()),
                     token_refreshes=fake.gettoken_calls - gettoken_before)  # fmt: skip


async def league_leaders_join(demo: WecomDemo, sessionmaker: SessionMaker) -> int:
    """The league leaders work in WeCom: members of the app under their imported numbers (Guatu
    binds them on first contact, when the bulletin reaches them). Returns how many."""
    async with sessionmaker() as session:
        leaders = (await session.exec(select(Person).where(
            Person.role == Role.LEADER, Person.level == LeaderLevel.LEAGUE,
            col(Person.phone).is_not(None)).order_by(col(Person.id)))).all()  # fmt: skip
    for leader in leaders:
        demo.fake.add_member(wecom_mobile(str(leader.phone)), f"wx-{leader.id}")
    return len(leaders)


@dataclass
class WecomBulletin:
    bulletin_id: int
    cards: int  # leaders who got the bulletin card with 已阅 in WeCom
    reads: int  # reads recorded through the WeCom callback
    reader: str  # the leader who pressed 已阅


async def read_in_wecom(demo: WecomDemo, sessionmaker: SessionMaker, *, bulletin_id: int) -> WecomBulletin:
    """The first leader who got the bulletin card presses 已阅; the read is recorded by the callback."""
    read = f"rd:{bulletin_id}"
    carded = list(dict.fromkeys(m.userid for m in demo.fake.messages if ("已阅", read) in m.buttons))
    reader = ""
    if carded:
        member = _Member(demo.fake, demo.http, carded[0])
        await member.press(read)
    async with sessionmaker() as session:
        rows = (await session.exec(select(BulletinRead.person_id).where(
            BulletinRead.bulletin_id == bulletin_id, BulletinRead.via == Channel.WECOM))).all()  # fmt: skip
        if rows:
            person = await session.get(Person, rows[0])
            reader = person.name if person else ""
    return WecomBulletin(bulletin_id=bulletin_id, cards=len(carded), reads=len(rows), reader=reader)


def summary(result: WecomWeek, lang: str) -> str:
    from notifier.core.texts import t

    return t("wecom.demo.done", lang, **result.__dict__)


def bulletin_summary(result: WecomBulletin, lang: str) -> str:
    from notifier.core.texts import t

    return t("wecom.demo.bulletin", lang, **result.__dict__)
