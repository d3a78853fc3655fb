"""Read receipts (已阅): by button or signed link, once per person, never for someone else."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import BulletinKind, BulletinRead, Person, Role
from notifier.bulletins.signoff import DraftContent, RecipientSnapshot, create_draft, mark_sent
from notifier.core.settings import load_settings
from notifier.reporting.receipts import (
    ReceiptError,
    read_path,
    record_read,
    unread_recipients,
    verify_read_signature,
)

SECRET = "test-secret"


async def _sent_bulletin(session: AsyncSession) -> tuple[int, list[Person]]:
    leaders = [Person(name=f"领导{i}", phone=f"+861390483020{i}", role=Role.LEADER) for i in range(3)]
    outsider = Person(name="局外人", phone="+8613904830299", role=Role.LEADER)
    session.add_all([*leaders, outsider])
    await session.flush()
    content = DraftContent(kind=BulletinKind.WEEKLY, as_of=date(2026, 11, 22), period_key="2026-W47",
                           numbers={}, sms_text="通报", html="通报", copies={"all": "通报"})  # fmt: skip
    bulletin = await create_draft(session, settings=load_settings(_env_file=None, bulletin_approval="auto"),
                                  content=content, send_at=None)  # fmt: skip
    await mark_sent(session, bulletin_id=bulletin.id or 0, recipients=[
        RecipientSnapshot(person_id=p.id or 0, name=p.name, phone=p.phone, group="all") for p in leaders])  # fmt: skip
    await session.commit()
    return bulletin.id or 0, [*leaders, outsider]


def test_link_signature_binds_bulletin_and_person() -> None:
    path = read_path(SECRET, 12, 34)
    _, _, bulletin, person, signature = path.split("/")
    assert verify_read_signature(SECRET, 12, 34, signature)
    assert not verify_read_signature(SECRET, 12, 35, signature)  # someone else's read
    assert not verify_read_signature(SECRET, 13, 34, signature)
    assert not verify_read_signature("another-secret", 12, 34, signature)
    assert not verify_read_signature(SECRET, 12, 34, signature[:-1] + ("A" if signature[-1] != "A" else "B"))
    assert len(path) < 30  # fits in an SMS


async def test_button_and_link_reads_are_recorded_once(session: AsyncSession) -> None:
    bulletin_id, people = await _sent_bulletin(session)
    assert await record_read(session, bulletin_id=bulletin_id, person_id=people[0].id or 0, via="telegram")
    assert not await record_read(
        session, bulletin_id=bulletin_id, person_id=people[0].id or 0, via="telegram"
    )
    assert await record_read(session, bulletin_id=bulletin_id, person_id=people[1].id or 0, via="link",
                             now=datetime(2026, 11, 23, 2, tzinfo=UTC))  # fmt: skip
    await session.commit()
    reads = (await session.exec(select(BulletinRead).order_by(BulletinRead.id))).all()  # type: ignore[arg-type]
    assert [(r.person_id, r.via) for r in reads] == [(people[0].id, "telegram"), (people[1].id, "link")]
    assert [r.person_id for r in await unread_recipients(session, bulletin_id=bulletin_id)] == [people[2].id]


async def test_non_recipient_and_unknown_bulletin_are_refused(session: AsyncSession) -> None:
    bulletin_id, people = await _sent_bulletin(session)
    with pytest.raises(ReceiptError):
        await record_read(session, bulletin_id=bulletin_id, person_id=people[3].id or 0, via="link")
    with pytest.raises(ReceiptError):
        await record_read(session, bulletin_id=bulletin_id + 100, person_id=people[0].id or 0, via="link")
    assert (await session.exec(select(BulletinRead))).all() == []
