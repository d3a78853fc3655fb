"""Opting out of SMS (STOP, 退订, TD, /stop, an admin) and back in (START, UNSTOP, /start).

Chinese numbers have no two-way SMS through Twilio, so the bot, the web console and admins reach
the same functions as the inbound webhook. The OptOut table is what the send path checks; the
person's flag is kept in step for display.
"""

from __future__ import annotations

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import OptOut, Person, utcnow
from notifier.core.audit import record_audit

# Twilio's default keywords (https://www.twilio.com/docs/messaging/tutorials/advanced-opt-out and
# Twilio's "support for opt-out keywords" article): Twilio acts on them itself, so Guatu's own record
# must agree; plus the Chinese carriers' 退订 / TD.
STOP_WORDS = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT", "退订", "TD"}
)
START_WORDS = frozenset({"START", "UNSTOP", "YES"})
HELP_WORDS = frozenset({"HELP", "INFO", "帮助"})
# Twilio's `OptOutType` webhook parameter (Advanced Opt-Out, custom keywords included) → our keyword class.
OPT_OUT_TYPES = {"STOP": "stop", "START": "start", "HELP": "help"}


def keyword_kind(text: str, opt_out_type: str | None = None) -> str | None:
    """ "stop", "start", "help" or None. Twilio's `OptOutType` wins: it reflects the Messaging
    Service's own keyword lists, which may hold words this module does not know."""
    if opt_out_type:
        return OPT_OUT_TYPES.get(opt_out_type.strip().upper())
    word = keyword(text)
    if word in STOP_WORDS:
        return "stop"
    if word in START_WORDS:
        return "start"
    if word in HELP_WORDS:
        return "help"
    return None


def keyword(text: str) -> str:
    """The inbound message's keyword as carriers match it (trimmed, case-insensitive)."""
    return (text or "").strip().upper()


async def is_opted_out(session: AsyncSession, *, phone: str) -> bool:
    return (await session.get(OptOut, phone)) is not None


async def opt_out(session: AsyncSession, *, phone: str, source: str, actor_id: int | None = None) -> bool:
    """Stop all SMS to `phone`; True when it was not opted out before. The caller commits."""
    if await is_opted_out(session, phone=phone):
        return False
    session.add(OptOut(phone=phone, source=source))
    person = (await session.exec(select(Person).where(Person.phone == phone))).first()
    if person is not None:
        person.opted_out = True
        person.opted_out_at = utcnow()
        session.add(person)
    await record_audit(
        session, action="sms.opt_out", channel=source, actor_id=actor_id, detail={"phone": phone}
    )
    await session.flush()
    return True


async def opt_in(session: AsyncSession, *, phone: str, source: str, actor_id: int | None = None) -> bool:
    """Allow SMS to `phone` again; True when it was opted out."""
    row = await session.get(OptOut, phone)
    if row is None:
        return False
    await session.delete(row)
    person = (await session.exec(select(Person).where(Person.phone == phone))).first()
    if person is not None:
        person.opted_out = False
        person.opted_out_at = None
        session.add(person)
    await record_audit(
        session, action="sms.opt_in", channel=source, actor_id=actor_id, detail={"phone": phone}
    )
    await session.flush()
    return True
