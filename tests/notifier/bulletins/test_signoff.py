"""Sign-off before the mass send, the two-person rule, expiry, supersession, the immutable archive."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import AuditLog, Bulletin, BulletinKind, BulletinState, Person, Role
from notifier.bulletins.signoff import (
    ApprovalError,
    ArchiveTamperError,
    DraftContent,
    RecipientSnapshot,
    approve_bulletin,
    create_correction,
    create_draft,
    list_archive,
    load_bulletin,
    mark_sent,
    reject_bulletin,
    release_due,
)
from notifier.core.errors import PermissionDeniedError
from notifier.core.settings import Settings, load_settings

NOW = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)  # Monday 08:00 in Alxa
SEND_AT = NOW + timedelta(hours=1)


def _settings(**overrides: object) -> Settings:
    return load_settings(_env_file=None, **overrides)


def _content(text: str = "【阿拉善盟发改委】第47周通报:开复工率94.0%") -> DraftContent:
    return DraftContent(kind=BulletinKind.WEEKLY, as_of=date(2026, 11, 22), period_key="2026-W47",
                        numbers={"overall": {"start_rate": 0.94}}, sms_text=text, html=f"<b>{text}</b>",
                        copies={"all": text, "ALZQ": "阿左旗:" + text})  # fmt: skip


async def _people(session: AsyncSession) -> dict[str, Person]:
    people = {
        "composer": Person(name="起草人", phone="+8613904830101", role=Role.ADMIN),
        "approver": Person(name="审核人", phone="+8613904830102", role=Role.APPROVER),
        "leader": Person(name="盟领导", phone="+8613904830103", role=Role.LEADER),
    }
    session.add_all(people.values())
    await session.commit()
    return people


async def test_nothing_is_sent_without_approval(session: AsyncSession) -> None:
    people = await _people(session)
    draft = await create_draft(session, settings=_settings(), content=_content(), send_at=SEND_AT,
                               composed_by_id=people["composer"].id)  # fmt: skip
    await session.commit()
    assert draft.state == BulletinState.DRAFT
    assert (await release_due(session, now=SEND_AT - timedelta(minutes=1))).to_send == []
    due = await release_due(session, now=SEND_AT)
    await session.commit()
    assert due.to_send == [] and [b.id for b in due.expired] == [draft.id]
    assert draft.state == BulletinState.EXPIRED
    audit = (await session.exec(select(AuditLog).where(AuditLog.action == "bulletin.expired"))).all()
    assert len(audit) == 1 and not audit[0].allowed
    with pytest.raises(ApprovalError, match="已过发送时间"):
        await approve_bulletin(session, settings=_settings(), bulletin_id=draft.id or 0,
                               person=people["approver"], channel="web", now=SEND_AT)  # fmt: skip


async def test_approved_draft_is_released_at_its_send_time(session: AsyncSession) -> None:
    people = await _people(session)
    draft = await create_draft(session, settings=_settings(), content=_content(), send_at=SEND_AT)
    await approve_bulletin(session, settings=_settings(), bulletin_id=draft.id or 0, person=people["approver"],
                           channel="telegram", now=NOW)  # fmt: skip
    await session.commit()
    assert (await release_due(session, now=NOW)).to_send == []
    assert [b.id for b in (await release_due(session, now=SEND_AT)).to_send] == [draft.id]


async def test_auto_approve(session: AsyncSession) -> None:
    draft = await create_draft(session, settings=_settings(bulletin_approval="auto"), content=_content(),
                               send_at=SEND_AT)  # fmt: skip
    await session.commit()
    assert draft.state == BulletinState.APPROVED
    assert [b.id for b in (await release_due(session, now=SEND_AT)).to_send] == [draft.id]


async def test_two_person_rule(session: AsyncSession) -> None:
    people = await _people(session)
    settings = _settings(bulletin_two_person=True)
    draft = await create_draft(session, settings=settings, content=_content(), send_at=SEND_AT,
                               composed_by_id=people["composer"].id)  # fmt: skip
    await session.commit()
    with pytest.raises(ApprovalError, match="双人审核"):
        await approve_bulletin(session, settings=settings, bulletin_id=draft.id or 0, person=people["composer"],
                               channel="web")  # fmt: skip
    assert (await session.get(Bulletin, draft.id)).state == BulletinState.DRAFT  # type: ignore[union-attr]
    approved = await approve_bulletin(session, settings=settings, bulletin_id=draft.id or 0,
                                      person=people["approver"], channel="web")  # fmt: skip
    assert approved.state == BulletinState.APPROVED


@pytest.mark.parametrize("who", ["leader", "nobody"])
async def test_only_approvers_may_approve(session: AsyncSession, who: str) -> None:
    people = await _people(session)
    draft = await create_draft(session, settings=_settings(), content=_content(), send_at=SEND_AT)
    await session.commit()
    person = people.get(who)
    with pytest.raises(PermissionDeniedError):
        await approve_bulletin(session, settings=_settings(), bulletin_id=draft.id or 0, person=person,
                               channel="telegram")  # fmt: skip
    assert (await session.get(Bulletin, draft.id)).state == BulletinState.DRAFT  # type: ignore[union-attr]
    refused = (await session.exec(select(AuditLog).where(AuditLog.action == "bulletin.approve"))).all()
    assert [a.allowed for a in refused] == [False]


async def test_double_tap_and_superseded_are_refused(session: AsyncSession) -> None:
    people = await _people(session)
    first = await create_draft(session, settings=_settings(), content=_content("稿一"), send_at=SEND_AT)
    await approve_bulletin(session, settings=_settings(), bulletin_id=first.id or 0, person=people["approver"],
                           channel="telegram")  # fmt: skip
    with pytest.raises(ApprovalError, match="已审核通过"):
        await approve_bulletin(session, settings=_settings(), bulletin_id=first.id or 0,
                               person=people["approver"], channel="telegram")  # fmt: skip
    second = await create_draft(session, settings=_settings(), content=_content("稿二"), send_at=SEND_AT)
    await session.commit()
    assert first.state == BulletinState.SUPERSEDED
    with pytest.raises(ApprovalError, match="取代"):
        await approve_bulletin(session, settings=_settings(), bulletin_id=first.id or 0,
                               person=people["approver"], channel="web")  # fmt: skip
    # Only the newest draft can go out.
    await approve_bulletin(session, settings=_settings(), bulletin_id=second.id or 0, person=people["approver"],
                           channel="web")  # fmt: skip
    assert [b.id for b in (await release_due(session, now=SEND_AT)).to_send] == [second.id]


async def test_rejected_draft_is_never_sent(session: AsyncSession) -> None:
    people = await _people(session)
    draft = await create_draft(session, settings=_settings(), content=_content(), send_at=SEND_AT)
    await reject_bulletin(session, settings=_settings(), bulletin_id=draft.id or 0, person=people["approver"],
                          channel="web", note="数字有误")  # fmt: skip
    await session.commit()
    due = await release_due(session, now=SEND_AT)
    assert due.to_send == [] and due.expired == []
    with pytest.raises(ApprovalError):
        await mark_sent(session, bulletin_id=draft.id or 0, recipients=[])


async def test_archive_is_unchanged_after_a_correction(session: AsyncSession) -> None:
    people = await _people(session)
    settings = _settings(bulletin_approval="auto")
    original = await create_draft(session, settings=settings, content=_content(), send_at=SEND_AT)
    await mark_sent(session, bulletin_id=original.id or 0, now=SEND_AT, recipients=[
        RecipientSnapshot(person_id=people["leader"].id or 0, name="盟领导", phone="+8613904830103", group="all")])  # fmt: skip
    await session.commit()
    original_id = original.id
    before = (await load_bulletin(session, bulletin_id=original.id or 0)).to_json()

    fix = await create_correction(session, settings=settings, original_id=original.id or 0,
                                  content=_content("【阿拉善盟发改委】第47周通报:开复工率93.0%"), send_at=SEND_AT)  # fmt: skip
    await session.commit()
    assert fix.corrects_id == original.id
    assert fix.sms_text.startswith(f"【更正】更正第{original.id}号通报:")
    after = (await load_bulletin(session, bulletin_id=original.id or 0)).to_json()
    assert after.pop("corrected_by") == [fix.id]
    before.pop("corrected_by")
    assert after == before
    assert original.state == BulletinState.SENT
    fix_id = fix.id

    original.sms_text = "偷偷改掉"
    session.add(original)
    with pytest.raises(ArchiveTamperError):
        await session.commit()
    await session.rollback()
    stored = (await session.exec(select(Bulletin.sms_text).where(Bulletin.id == original_id))).one()
    assert stored == _content().sms_text

    archive = await list_archive(session)
    assert [(e.id, e.recipients, e.corrects_id) for e in archive] == [
        (fix_id, 0, original_id),
        (original_id, 1, None),
    ]


async def test_only_sent_bulletins_can_be_corrected(session: AsyncSession) -> None:
    draft = await create_draft(session, settings=_settings(), content=_content(), send_at=SEND_AT)
    with pytest.raises(ApprovalError, match="只能更正已发送"):
        await create_correction(session, settings=_settings(), original_id=draft.id or 0, content=_content(),
                                send_at=SEND_AT)  # fmt: skip
