"""Single-use invite tokens binding a person to a Telegram account (only the SHA-256 is stored)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Invite, Person
from notifier.core.errors import GuatuError, NotFoundError
from notifier.core.phones import parse_phone
from notifier.core.settings import Settings
from notifier.core.texts import t

VALID_FOR = timedelta(days=7)


class InviteError(GuatuError):
    """An invite that cannot bind: unknown, used, expired, or the Telegram account is someone else's."""

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class IssuedInvite:
    invite: Invite
    token: str
    link: str


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def deep_link(settings: Settings, token: str) -> str:
    """t.me/<bot>?start=<token>."""
    return f"https://t.me/{settings.telegram_bot_username}?start={token}"


async def create_invite(
    session: AsyncSession,
    *,
    settings: Settings,
    person_id: int,
    now: datetime,
    created_by_id: int | None = None,
) -> IssuedInvite:
    """A fresh random token for `person_id`, valid for 7 days; commits. The token is shown once."""
    token = secrets.token_urlsafe(24)  # 32 URL-safe characters, within Telegram's 64 for start=
    invite = Invite(person_id=person_id, token_hash=token_hash(token), created_by_id=created_by_id,
                    created_at=now, expires_at=now + VALID_FOR)  # fmt: skip
    session.add(invite)
    await session.commit()
    await session.refresh(invite)
    return IssuedInvite(invite=invite, token=token, link=deep_link(settings, token))


async def invite_by_phone(
    session: AsyncSession, *, settings: Settings, phone: str, now: datetime, created_by_id: int | None = None
) -> tuple[Person, IssuedInvite]:
    """Invite the person with this phone number (any common format)."""
    e164 = parse_phone(phone)
    person = (await session.exec(select(Person).where(Person.phone == e164))).first()
    if person is None or person.id is None:
        raise NotFoundError(t("bot.invite.no_person", "zh", phone=e164))
    issued = await create_invite(
        session, settings=settings, person_id=person.id, now=now, created_by_id=created_by_id
    )
    return person, issued


async def consume_invite(
    session: AsyncSession, *, token: str, telegram_id: int, now: datetime, lang: str = "zh"
) -> Person:
    """Bind the invite's person to `telegram_id` and use the token up; commits. Raises InviteError."""
    invite = (
        await session.exec(select(Invite).where(Invite.token_hash == token_hash(token.strip())))
    ).first()
    if invite is None:
        raise InviteError(t("bot.invite.unknown", lang), reason="unknown")
    if invite.used_at is not None:
        raise InviteError(t("bot.invite.used", lang), reason="used")
    if invite.expires_at <= now:
        raise InviteError(t("bot.invite.expired", lang), reason="expired")
    other = (
        await session.exec(
            select(Person).where(Person.telegram_id == telegram_id, Person.id != invite.person_id)
        )
    ).first()
    if other is not None:
        raise InviteError(t("bot.invite.taken", lang, name=other.name), reason="taken")
    person = await session.get(Person, invite.person_id)
    if person is None:
        raise InviteError(t("bot.invite.unknown", lang), reason="unknown")
    # Use the token up with a conditional update, so two taps racing on one link bind once.
    claimed = await session.exec(  # type: ignore[call-overload]
        update(Invite)
        .where(col(Invite.id) == invite.id, col(Invite.used_at).is_(None))
        .values(used_at=now, used_by_telegram_id=telegram_id)
    )
    if claimed.rowcount != 1:
        await session.rollback()
        raise InviteError(t("bot.invite.used", lang), reason="used")
    # Rebinding to another account is what a new invite is for: the old account loses access.
    person.telegram_id = telegram_id
    person.telegram_blocked = False
    session.add(person)
    await session.commit()
    return person
