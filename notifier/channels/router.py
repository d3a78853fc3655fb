"""ChannelChat: the ChatSender the worker hands to jobs when WeCom is on. Telegram messages by
Telegram id go on as before; messages to a person follow their channel order (Person.channels,
else CHANNEL_ORDER): Telegram when bound and not blocked, WeCom when their number has a member
(looked up on first contact), and "sms" ends the chat attempts (the caller's SMS covers them).
"""

from __future__ import annotations

import logging

from sqlalchemy import ColumnElement, and_, func, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Person, WecomState
from models.db import SessionMaker
from notifier.channels.wecom import (
    MISSES,
    WecomApi,
    WecomBindingConflictError,
    WecomError,
    WecomUnreachableError,
    bind_wecom,
    mark_unreachable,
)
from notifier.core.chat import Buttons, ChatSender, telegram_reach
from notifier.core.settings import Settings, parse_channel_order

log = logging.getLogger("guatu.channels")


def channel_order(person: Person, settings: Settings) -> list[str]:
    """The person's own order when set (and valid), else CHANNEL_ORDER."""
    if person.channels:
        try:
            return parse_channel_order(person.channels)
        except ValueError:
            log.warning(
                "person %s has an unreadable channel order %r; using CHANNEL_ORDER",
                person.id,
                person.channels,
            )
    return parse_channel_order(settings.channel_order)


class ChannelChat:
    """Telegram (any ChatSender, or none) and WeCom (a WecomApi, or none) behind one sender."""

    def __init__(
        self,
        *,
        telegram: ChatSender | None,
        wecom: WecomApi | None,
        sessionmaker: SessionMaker,
        settings: Settings,
    ) -> None:
        self.telegram = telegram
        self.wecom = wecom
        self.sessionmaker = sessionmaker
        self.settings = settings

    async def send_text(self, *, telegram_id: int, text: str, buttons: Buttons | None = None) -> bool:
        if self.telegram is None:
            return False
        return await self.telegram.send_text(telegram_id=telegram_id, text=text, buttons=buttons)

    async def send_photo(self, *, telegram_id: int, png: bytes, caption: str) -> bool:
        if self.telegram is None:
            return False
        return await self.telegram.send_photo(telegram_id=telegram_id, png=png, caption=caption)

    def reach(self) -> ColumnElement[bool]:
        telegram = telegram_reach()
        if self.wecom is None:
            return telegram
        wecom = and_(
            or_(col(Person.wecom_userid).is_not(None), col(Person.phone).is_not(None)),
            or_(col(Person.wecom_state).is_(None), col(Person.wecom_state).not_in(MISSES)),
        )
        return or_(telegram, wecom)

    async def send_to_person(self, person_id: int, *, text: str, buttons: Buttons | None = None) -> bool:
        async with self.sessionmaker() as session:
            person = await session.get(Person, person_id)
            if person is None:
                return False
            for channel in channel_order(person, self.settings):
                if channel == "sms":
                    return False
                if channel == "telegram" and await self._telegram(person, text, buttons):
                    return True
                if channel == "wecom" and await self._wecom(session, person, text, buttons):
                    return True
        return False

    async def _telegram(self, person: Person, text: str, buttons: Buttons | None) -> bool:
        if self.telegram is None or person.telegram_id is None or person.telegram_blocked:
            return False
        return await self.telegram.send_text(telegram_id=person.telegram_id, text=text, buttons=buttons)

    async def _wecom(self, session: AsyncSession, person: Person, text: str, buttons: Buttons | None) -> bool:
        if self.wecom is None:
            return False
        try:
            userid = await bind_wecom(session, self.wecom, person)
            await session.commit()
            if userid is None:
                return False
            await self.wecom.send_chat(userid=userid, text=text, buttons=buttons)
            return True
        except WecomUnreachableError as exc:
            await mark_unreachable(session, person, state=exc.state)
            await session.commit()
            log.info("person %s is not reachable in WeCom (%s); next channel", person.id, exc.code)
        except WecomBindingConflictError as exc:  # raised before anything was changed
            log.warning("person %s: %s", person.id, exc)
        except WecomError as exc:
            # Sent at most once: a message whose fate is unknown is not sent again; the next
            # channel gets it instead. Nothing is pending in the session (a lookup that failed
            # records nothing), and rolling back would expire `person` under async.
            log.warning("WeCom message to person %s failed: %s", person.id, exc)
        return False


async def set_channel_order(session: AsyncSession, *, phone: str, order: str | None) -> Person:
    """Give the person with this number their own channel order ("wecom,sms"), or None to follow
    CHANNEL_ORDER again; commits. A bad number or order raises and changes nothing."""
    from notifier.core.errors import GuatuError, NotFoundError
    from notifier.core.phones import parse_phone

    e164 = parse_phone(phone)
    if order is not None:
        try:
            order = ",".join(parse_channel_order(order))
        except ValueError as exc:
            raise GuatuError(str(exc)) from None
    person = (await session.exec(select(Person).where(Person.phone == e164))).first()
    if person is None:
        raise NotFoundError(f"没有手机号为 {e164} 的人员 / no person with the number {e164}")
    person.channels = order
    session.add(person)
    await session.commit()
    return person


async def wecom_counts(session: AsyncSession) -> dict[str, int]:
    """People by WeCom binding state ("unchecked" for numbers not looked up yet)."""
    rows = (
        await session.exec(
            select(Person.wecom_state, func.count())
            .where(col(Person.phone).is_not(None))
            .group_by(col(Person.wecom_state))
        )
    ).all()
    counts = {state.value: 0 for state in WecomState} | {"unchecked": 0}
    for state, count in rows:
        counts[str(state) if state else "unchecked"] += count
    return counts
