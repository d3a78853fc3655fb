"""Opting out and back in: the OptOut row and the person's flag move together, audited."""

from __future__ import annotations

from sqlmodel import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import AuditLog, OptOut, Person, Role
from notifier.sending.optout import is_opted_out, opt_in, opt_out

PHONE = "+8613904830001"


async def _person(session: AsyncSession) -> Person:
    person = Person(name="李四", phone=PHONE, role=Role.LEAD)
    session.add(person)
    await session.commit()
    return person


async def _audits(session: AsyncSession, action: str) -> int:
    return (
        await session.exec(select(func.count()).select_from(AuditLog).where(AuditLog.action == action))
    ).one()


async def test_opt_out_then_again_is_a_no_op(session: AsyncSession) -> None:
    person = await _person(session)
    assert await opt_out(session, phone=PHONE, source="sms") is True
    assert await opt_out(session, phone=PHONE, source="bot") is False
    await session.commit()
    await session.refresh(person)
    row = await session.get(OptOut, PHONE)
    assert row is not None and row.source == "sms"
    assert person.opted_out and person.opted_out_at is not None
    assert await is_opted_out(session, phone=PHONE)
    assert await _audits(session, "sms.opt_out") == 1


async def test_opt_in_reverses_and_is_audited(session: AsyncSession) -> None:
    person = await _person(session)
    await opt_out(session, phone=PHONE, source="sms")
    assert await opt_in(session, phone=PHONE, source="sms") is True
    await session.commit()
    await session.refresh(person)
    assert not await is_opted_out(session, phone=PHONE)
    assert (person.opted_out, person.opted_out_at) == (False, None)
    assert await _audits(session, "sms.opt_in") == 1


async def test_opt_in_when_not_opted_out_changes_nothing(session: AsyncSession) -> None:
    await _person(session)
    assert await opt_in(session, phone=PHONE, source="admin") is False
    assert await _audits(session, "sms.opt_in") == 0


async def test_a_number_with_no_person_can_opt_out(session: AsyncSession) -> None:
    assert await opt_out(session, phone="+8613904830009", source="sms")
    await session.commit()
    assert await is_opted_out(session, phone="+8613904830009")
    assert not await is_opted_out(session, phone=PHONE)
