"""What Guatu does with a member's reply or button press in WeCom, like bot/routers/ does in
Telegram: the weekly report conversation (notifier.reporting.conversation, its state in Redis),
"我的项目" (/myprojects), the 已阅 button records the read, Approve / Reject signs a draft off, any
other text gets a short answer. The rules live in notifier; a refusal is answered and changes nothing.

Handlers work in the database and return Answers, sent back to WeCom after the commit.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Channel, Person
from notifier.core.chat import Buttons
from notifier.core.settings import Settings
from notifier.core.texts import t
from wecom.callback import Inbound
from wecom.conversations import RedisMemory

log = logging.getLogger("guatu.wecom.handlers")

# Button keys as notifier.bulletins.chat_copies packs them (the same data as Telegram's callbacks).
READ_KEY = re.compile(r"^rd:(\d{1,12})$")
DECISION_KEY = re.compile(r"^bd:(\d{1,12}):([01])$")


@dataclass(frozen=True)
class Answer:
    """A text to the member (with buttons: a card), or a new label on the card they pressed (once,
    with its response code)."""

    userid: str
    text: str | None = None
    buttons: Buttons | None = None
    card_label: str | None = None
    response_code: str = ""


@dataclass(frozen=True)
class Press:
    inbound: Inbound
    person: Person
    lang: str
    match: re.Match[str]


Handler = Callable[[AsyncSession, Settings, Press, datetime], Awaitable[list[Answer]]]


async def _read(session: AsyncSession, settings: Settings, press: Press, now: datetime) -> list[Answer]:
    from notifier.channels.presses import read_pressed

    turn = WecomTurn(press.inbound.userid, press.lang, response_code=press.inbound.response_code)
    await read_pressed(session, turn, person=press.person, bulletin_id=int(press.match.group(1)), via="wecom",
                       now=now, lang=press.lang)  # fmt: skip
    return turn.answers


async def _decide(session: AsyncSession, settings: Settings, press: Press, now: datetime) -> list[Answer]:
    from notifier.channels.presses import decision_pressed

    turn = WecomTurn(press.inbound.userid, press.lang, response_code=press.inbound.response_code)
    await decision_pressed(session, turn, settings=settings, person=press.person,
                           bulletin_id=int(press.match.group(1)), approve=press.match.group(2) == "1",
                           channel="wecom", now=now, lang=press.lang)  # fmt: skip
    return turn.answers


BUTTONS: list[tuple[re.Pattern[str], Handler]] = [(READ_KEY, _read), (DECISION_KEY, _decide)]


@dataclass
class WecomTurn:
    """The report conversation's Turn on one callback: what it says becomes Answers, a pressed card
    is marked as chosen (so it cannot be pressed twice)."""

    userid: str
    lang: str
    response_code: str = ""
    answers: list[Answer] = field(default_factory=list)

    async def say(self, text: str, buttons: Buttons | None = None) -> None:
        self.answers.append(Answer(self.userid, text=text, buttons=buttons))

    async def alert(self, text: str) -> None:
        self.answers.append(Answer(self.userid, text=text))

    async def ack(self, text: str | None = None, *, label: str | None = None, keep: bool = False) -> None:
        if self.response_code:
            self.answers.append(Answer(self.userid, card_label=label or t("wecom.chosen", self.lang),
                                       response_code=self.response_code))  # fmt: skip
        if text:  # a WeCom message stays in the chat either way
            self.answers.append(Answer(self.userid, text=text))


async def _converse(
    inbound: Inbound, *, session: AsyncSession, settings: Settings, person: Person, lang: str, now: datetime,
    redis: Any,
) -> list[Answer] | None:  # fmt: skip
    """The report conversation and 我的项目; None when the message is neither."""
    from notifier.reporting.conversation import MYPROJECTS_WORDS, ReportConversation, my_projects

    turn = WecomTurn(inbound.userid, lang, response_code=inbound.response_code)
    if inbound.kind == "text" and inbound.text.strip().lower() in MYPROJECTS_WORDS:
        text, buttons = await my_projects(session, person=person, settings=settings, now=now, lang=lang)
        await turn.say(text, buttons)
        return turn.answers
    memory = RedisMemory(redis, corp_id=settings.wecom_corp_id or "", agent_id=settings.wecom_agent_id or 0,
                         userid=inbound.userid)  # fmt: skip
    conversation = ReportConversation(session=session, settings=settings, person=person, lang=lang, now=now,
                                      turn=turn, memory=memory, channel=Channel.WECOM)  # fmt: skip
    async with memory.locked():
        if inbound.kind == "text":
            handled = await conversation.reply(inbound.text)
        elif inbound.kind == "button":
            handled = await conversation.press(inbound.key)
        else:
            handled = await conversation.not_text()
    return turn.answers if handled else None


async def handle(
    inbound: Inbound, *, session: AsyncSession, settings: Settings, now: datetime, redis: Any = None
) -> list[Answer]:
    """Act on one inbound message; the answers to send once the session is committed. Without
    `redis` there is no report conversation (it is kept there)."""
    if inbound.agent_id is not None and inbound.agent_id != settings.wecom_agent_id:
        log.warning(
            "WeCom callback for agent %s ignored (this app is %s)", inbound.agent_id, settings.wecom_agent_id
        )
        return []
    person = (await session.exec(select(Person).where(Person.wecom_userid == inbound.userid))).first()
    lang = person.language if person else settings.language
    if inbound.kind not in ("text", "button") and not (inbound.msg_id and person and redis is not None):
        return []  # an event (the member opened the app...), or a picture from someone not reporting
    if person is None:
        return [Answer(inbound.userid, text=t("wecom.unbound", lang, contact=settings.office_contact))]
    if redis is not None:
        answers = await _converse(inbound, session=session, settings=settings, person=person, lang=lang,
                                  now=now, redis=redis)  # fmt: skip
        if answers is not None:
            return answers
    if inbound.kind == "other":
        return []
    if inbound.kind == "text":
        return [Answer(inbound.userid, text=t("wecom.text_help", lang, contact=settings.office_contact))]
    for pattern, handler in BUTTONS:
        match = pattern.match(inbound.key)
        if match:
            return await handler(session, settings, Press(inbound, person, lang, match), now)
    return [Answer(inbound.userid, text=t("wecom.unknown_button", lang))]
