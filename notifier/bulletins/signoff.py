"""Bulletin sign-off and the immutable archive.

A composed bulletin is a draft until an approver (role admin or approver) signs it off; under
the two-person rule its composer may not. A draft still unapproved at its send time is not sent:
it expires (the archive shows it as late), the delay is recorded and approvers are told; it stays
in the console, where an approver may still approve it and send it at once (`approve_late`). A newer draft for the same period
supersedes an older unsent one. Once sent, a bulletin and its copies are never edited; a
correction (更正) is a new bulletin that references the one it corrects and says so in its text.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import event, exists, func
from sqlalchemy import inspect as sa_inspect
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import (
    Bulletin,
    BulletinCopy,
    BulletinDecision,
    BulletinKind,
    BulletinRead,
    BulletinRecipient,
    BulletinState,
    Campaign,
    CampaignState,
    Person,
    Role,
    utcnow,
)
from notifier.core.audit import record_audit
from notifier.core.errors import GuatuError, NotFoundError, PermissionDeniedError
from notifier.core.settings import Settings

APPROVER_ROLES = frozenset({Role.ADMIN, Role.APPROVER})
_OPEN = (BulletinState.DRAFT, BulletinState.APPROVED)


class ApprovalError(GuatuError):
    """A sign-off that cannot be taken; the message says why."""


class ArchiveTamperError(GuatuError):
    """An attempt to change a bulletin that has been sent."""


@event.listens_for(Bulletin, "before_update")
def _refuse_edits_after_send(_mapper: Any, _connection: Any, target: Bulletin) -> None:
    """A sent bulletin is the archive: any change to its row is refused before it reaches the database."""
    history = sa_inspect(target).attrs.state.history
    previous = history.deleted[0] if history.deleted else target.state
    if previous == BulletinState.SENT:
        raise ArchiveTamperError(
            "已发送的通报不可修改,请发布更正通报 / a sent bulletin cannot be edited; issue a correction"
        )


@dataclass(frozen=True)
class DraftContent:
    """What the composer produced: the numbers, the texts per recipient group, the HTML."""

    kind: BulletinKind
    as_of: date
    period_key: str
    numbers: dict[str, Any]
    sms_text: str
    html: str
    copies: dict[str, str]
    language: str = "zh"


async def create_draft(
    session: AsyncSession,
    *,
    settings: Settings,
    content: DraftContent,
    send_at: datetime | None,
    composed_by_id: int | None = None,
    corrects_id: int | None = None,
    now: datetime | None = None,
) -> Bulletin:
    """Store a composed bulletin as a draft (approved at once under auto-approve); supersede older drafts."""
    now = now or utcnow()
    older = await session.exec(
        select(Bulletin).where(
            Bulletin.kind == content.kind,
            Bulletin.period_key == content.period_key,
            col(Bulletin.state).in_(_OPEN),
            Bulletin.corrects_id == corrects_id,
        )
    )
    for stale in older.all():
        stale.state = BulletinState.SUPERSEDED
        session.add(stale)
    bulletin = Bulletin(
        kind=content.kind,
        as_of=content.as_of,
        period_key=content.period_key,
        numbers_json=json.dumps(content.numbers, ensure_ascii=False, sort_keys=True, default=str),
        sms_text=content.sms_text,
        html=content.html,
        language=content.language,
        composed_by_id=composed_by_id,
        corrects_id=corrects_id,
        send_at=send_at,
    )
    session.add(bulletin)
    await session.flush()
    for group, text in content.copies.items():
        session.add(BulletinCopy(bulletin_id=bulletin.id or 0, group=group, sms_text=text))
    if settings.bulletin_approval == "auto":
        bulletin.state = BulletinState.APPROVED
        bulletin.approved_at = now
        session.add(BulletinDecision(bulletin_id=bulletin.id or 0, decision="approve", channel="auto"))
    await record_audit(session, action="bulletin.draft", channel="worker", actor_id=composed_by_id,
                       detail={"bulletin_id": bulletin.id, "period": content.period_key})  # fmt: skip
    await session.flush()
    return bulletin


def may_approve(person: Person | None, *, telegram_admin: bool = False) -> bool:
    return telegram_admin or (person is not None and person.role in APPROVER_ROLES)


async def _decide(
    session: AsyncSession,
    *,
    settings: Settings,
    bulletin_id: int,
    person: Person | None,
    decision: str,
    channel: str,
    note: str | None,
    telegram_admin: bool,
    now: datetime,
    late: bool = False,
) -> Bulletin:
    bulletin = await session.get(Bulletin, bulletin_id)
    if bulletin is None:
        raise NotFoundError(f"没有编号为 {bulletin_id} 的通报 / no bulletin {bulletin_id}")
    refusal = _refusal(settings, bulletin, person, telegram_admin=telegram_admin, late=late)
    if refusal is not None:
        await record_audit(session, action=f"bulletin.{decision}", channel=channel, allowed=False,
                           actor_id=person.id if person else None,
                           detail={"bulletin_id": bulletin_id, "reason": str(refusal)})  # fmt: skip
        await session.commit()
        raise refusal
    bulletin.state = BulletinState.APPROVED if decision == "approve" else BulletinState.REJECTED
    if decision == "approve":
        bulletin.approved_at = now
    if late:
        bulletin.send_at = now  # due at once; its first send time stays in the audit log and decisions
    session.add(bulletin)
    session.add(BulletinDecision(bulletin_id=bulletin_id, person_id=person.id if person else None,
                                 decision=decision, channel=channel, note=note, at=now))  # fmt: skip
    await record_audit(session, action=f"bulletin.{decision}", channel=channel,
                       actor_id=person.id if person else None, detail={"bulletin_id": bulletin_id})  # fmt: skip
    await session.flush()
    return bulletin


def _refusal(
    settings: Settings, bulletin: Bulletin, person: Person | None, *, telegram_admin: bool, late: bool = False
) -> GuatuError | None:
    if not may_approve(person, telegram_admin=telegram_admin):
        return PermissionDeniedError(
            "只有管理员或审核人可以审核通报 / only admins and approvers may sign off bulletins"
        )
    if late and bulletin.state != BulletinState.EXPIRED:
        return ApprovalError(
            "只有逾期未发送的通报可以补发 / only a bulletin past its send time is approved late"
        )
    reasons = {
        BulletinState.APPROVED: "该通报已审核通过,无需重复操作 / already approved",
        BulletinState.REJECTED: "该通报已被驳回 / already rejected",
        BulletinState.SENT: "该通报已发送 / already sent",
        BulletinState.SUPERSEDED: "该稿已被新版本取代,请审核最新稿 / superseded by a newer draft",
        BulletinState.EXPIRED: "已过发送时间,该稿未发送 / past its send time, not sent",
    }
    if bulletin.state in reasons and not late:
        return ApprovalError(reasons[bulletin.state])
    if settings.bulletin_two_person and person is not None and person.id == bulletin.composed_by_id:
        return ApprovalError(
            "双人审核:起草人不能审核自己的稿件 / two-person rule: the composer cannot approve"
        )
    return None


async def approve_bulletin(
    session: AsyncSession, *, settings: Settings, bulletin_id: int, person: Person | None, channel: str,
    telegram_admin: bool = False, note: str | None = None, now: datetime | None = None,
) -> Bulletin:  # fmt: skip
    """Sign a draft off; refusals (not allowed, twice, superseded, expired) raise and are audit-logged."""
    return await _decide(session, settings=settings, bulletin_id=bulletin_id, person=person, decision="approve",
                         channel=channel, note=note, telegram_admin=telegram_admin, now=now or utcnow())  # fmt: skip


async def approve_late(
    session: AsyncSession, *, settings: Settings, bulletin_id: int, person: Person | None, channel: str,
    now: datetime | None = None,
) -> Bulletin:  # fmt: skip
    """Sign off a draft that missed its send time (expired), due at once: the console's "approve and
    send now". The same rules apply (approvers only, the two-person rule)."""
    return await _decide(session, settings=settings, bulletin_id=bulletin_id, person=person, decision="approve",
                         channel=channel, note="late", telegram_admin=False, now=now or utcnow(), late=True)  # fmt: skip


async def reject_bulletin(
    session: AsyncSession, *, settings: Settings, bulletin_id: int, person: Person | None, channel: str,
    telegram_admin: bool = False, note: str | None = None, now: datetime | None = None,
) -> Bulletin:  # fmt: skip
    """Reject a draft: it will not be sent."""
    return await _decide(session, settings=settings, bulletin_id=bulletin_id, person=person, decision="reject",
                         channel=channel, note=note, telegram_admin=telegram_admin, now=now or utcnow())  # fmt: skip


@dataclass(frozen=True)
class DueBulletins:
    to_send: list[Bulletin]
    expired: list[Bulletin]


async def release_due(session: AsyncSession, *, now: datetime | None = None) -> DueBulletins:
    """Approved bulletins whose send time has come; drafts past it expire (delay recorded)."""
    now = now or utcnow()
    due = (
        await session.exec(
            select(Bulletin).where(
                col(Bulletin.state).in_(_OPEN),
                col(Bulletin.send_at).is_not(None),
                col(Bulletin.send_at) <= now,
            )
        )
    ).all()
    to_send = [b for b in due if b.state == BulletinState.APPROVED]
    expired = [b for b in due if b.state == BulletinState.DRAFT]
    for bulletin in expired:
        bulletin.state = BulletinState.EXPIRED
        session.add(bulletin)
        await record_audit(session, action="bulletin.expired", channel="worker", allowed=False,
                           detail={"bulletin_id": bulletin.id, "send_at": bulletin.send_at,
                                   "reason": "not approved by its send time"})  # fmt: skip
    await session.flush()
    return DueBulletins(to_send=to_send, expired=expired)


@dataclass(frozen=True)
class RecipientSnapshot:
    person_id: int
    name: str
    phone: str | None
    group: str


async def mark_sent(
    session: AsyncSession,
    *,
    bulletin_id: int,
    recipients: list[RecipientSnapshot],
    now: datetime | None = None,
) -> Bulletin:
    """Freeze a bulletin as sent, with who it went to. Only an approved bulletin can be sent."""
    bulletin = await session.get(Bulletin, bulletin_id)
    if bulletin is None:
        raise NotFoundError(f"没有编号为 {bulletin_id} 的通报 / no bulletin {bulletin_id}")
    if bulletin.state != BulletinState.APPROVED:
        raise ApprovalError(f"通报 {bulletin_id} 未经审核,不能发送 / bulletin {bulletin_id} is not approved")
    for r in recipients:
        session.add(BulletinRecipient(bulletin_id=bulletin_id, person_id=r.person_id, name=r.name,
                                      phone=r.phone, group=r.group))  # fmt: skip
    bulletin.state = BulletinState.SENT
    bulletin.sent_at = now or utcnow()
    session.add(bulletin)
    await session.flush()
    return bulletin


def correction_text(original_id: int, text: str, lang: str = "zh") -> str:
    """A correction says so first (the carriers' signature is added by the send path)."""
    if lang == "en":
        return f"[Correction to bulletin No. {original_id}] {text}"
    return f"【更正】更正第{original_id}号通报:{text}"


async def create_correction(
    session: AsyncSession,
    *,
    settings: Settings,
    original_id: int,
    content: DraftContent,
    send_at: datetime | None,
    composed_by_id: int | None = None,
) -> Bulletin:
    """A new draft that corrects a sent bulletin; the original stays exactly as it was."""
    original = await session.get(Bulletin, original_id)
    if original is None or original.state != BulletinState.SENT:
        raise ApprovalError(f"只能更正已发送的通报 / only a sent bulletin can be corrected (#{original_id})")
    lang = content.language
    fixed = DraftContent(
        kind=content.kind,
        as_of=content.as_of,
        period_key=content.period_key,
        numbers=content.numbers,
        sms_text=correction_text(original_id, content.sms_text, lang),
        html=content.html,
        copies={g: correction_text(original_id, t, lang) for g, t in content.copies.items()},
        language=lang,
    )
    return await create_draft(session, settings=settings, content=fixed, send_at=send_at,
                              composed_by_id=composed_by_id, corrects_id=original_id)  # fmt: skip


@dataclass(frozen=True)
class ArchiveEntry:
    id: int
    kind: str
    period_key: str
    state: str
    as_of: date
    sent_at: datetime | None
    recipients: int
    reads: int
    corrects_id: int | None
    # What people read in the archive (ArchiveStatus), and when a held campaign goes.
    status: str = ""
    goes_at: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        return {**self.__dict__, "as_of": self.as_of.isoformat(),
                "sent_at": self.sent_at.isoformat() if self.sent_at else None,
                "goes_at": self.goes_at.isoformat() if self.goes_at else None}  # fmt: skip


class ArchiveStatus(StrEnum):
    """A bulletin as the archive shows it: "sent" only once its campaign has sent every message."""

    DRAFT = "draft"
    APPROVED = "approved"
    REJECTED = "rejected"
    SUPERSEDED = "superseded"
    LATE = "late"  # missed its send time unapproved: not sent
    HELD = "held"  # released, waiting for quiet hours to end (goes_at)
    SENDING = "sending"
    PAUSED = "paused"
    CANCELLED = "cancelled"
    SENT = "sent"
    SENT_LATE = "sent_late"  # sent, after its first send time


def archive_status(
    state: str, campaign_state: str | None, not_before: datetime | None, *, late: bool, now: datetime
) -> tuple[ArchiveStatus, datetime | None]:
    """The archive's status of a bulletin from its own state and its campaign's (None: no campaign)."""
    if state == BulletinState.EXPIRED:
        return ArchiveStatus.LATE, None
    if state != BulletinState.SENT:
        return ArchiveStatus(str(state)), None
    if campaign_state in (None, CampaignState.DRAFT, CampaignState.QUEUED, CampaignState.SENDING):
        if not_before is not None and _aware(not_before) > now:
            return ArchiveStatus.HELD, not_before
        return ArchiveStatus.SENDING, None
    if campaign_state != CampaignState.DONE:
        return ArchiveStatus(str(campaign_state)), None
    return (ArchiveStatus.SENT_LATE if late else ArchiveStatus.SENT), None


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


async def list_archive(
    session: AsyncSession, *, limit: int = 50, now: datetime | None = None
) -> list[ArchiveEntry]:
    """Bulletins newest first with recipient and read counts (counted in SQL) and their status as
    the archive shows it (`archive_status`)."""
    now = now or utcnow()
    recipients = (
        select(BulletinRecipient.bulletin_id, func.count().label("n"))
        .group_by(col(BulletinRecipient.bulletin_id))
        .subquery()
    )
    reads = (
        select(BulletinRead.bulletin_id, func.count().label("n"))
        .group_by(col(BulletinRead.bulletin_id))
        .subquery()
    )
    late = exists().where(
        col(BulletinDecision.bulletin_id) == col(Bulletin.id), col(BulletinDecision.note) == "late"
    )
    rows = await session.exec(
        select(Bulletin, func.coalesce(recipients.c.n, 0), func.coalesce(reads.c.n, 0), Campaign.state,  # type: ignore[call-overload]
               Campaign.not_before, Campaign.finished_at, late.label("late"))
        .outerjoin(recipients, recipients.c.bulletin_id == Bulletin.id)
        .outerjoin(reads, reads.c.bulletin_id == Bulletin.id)
        .outerjoin(Campaign, col(Campaign.bulletin_id) == col(Bulletin.id))
        .order_by(col(Bulletin.id).desc())
        .limit(limit)
    )  # fmt: skip
    entries = []
    for b, n_rec, n_read, campaign_state, not_before, finished_at, was_late in rows.all():
        status, goes_at = archive_status(b.state, campaign_state, not_before, late=bool(was_late), now=now)
        sent_at = finished_at if status in (ArchiveStatus.SENT, ArchiveStatus.SENT_LATE) else None
        entries.append(ArchiveEntry(id=b.id or 0, kind=b.kind, period_key=b.period_key, state=b.state, as_of=b.as_of,
                                    sent_at=sent_at, recipients=int(n_rec), reads=int(n_read),
                                    corrects_id=b.corrects_id, status=status, goes_at=goes_at))  # fmt: skip
    return entries


@dataclass(frozen=True)
class BulletinRecord:
    bulletin: Bulletin
    copies: list[BulletinCopy]
    decisions: list[BulletinDecision]
    recipients: list[BulletinRecipient]
    reads: list[BulletinRead]
    corrected_by: list[int]

    def to_json(self) -> dict[str, Any]:
        b = self.bulletin
        read_ids = {r.person_id for r in self.reads}
        return {
            "id": b.id, "kind": b.kind, "period_key": b.period_key, "state": b.state, "as_of": b.as_of.isoformat(),
            "send_at": b.send_at.isoformat() if b.send_at else None,
            "sent_at": b.sent_at.isoformat() if b.sent_at else None,
            "corrects_id": b.corrects_id, "corrected_by": self.corrected_by,
            "sms_text": b.sms_text, "numbers": json.loads(b.numbers_json),
            "copies": {c.group: c.sms_text for c in self.copies},
            "decisions": [{"person_id": d.person_id, "decision": d.decision, "channel": d.channel,
                           "at": d.at.isoformat()} for d in self.decisions],
            "recipients": [{"person_id": r.person_id, "name": r.name, "group": r.group,
                            "read": r.person_id in read_ids} for r in self.recipients],
        }  # fmt: skip


async def load_bulletin(session: AsyncSession, *, bulletin_id: int) -> BulletinRecord:
    bulletin = await session.get(Bulletin, bulletin_id)
    if bulletin is None:
        raise NotFoundError(f"没有编号为 {bulletin_id} 的通报 / no bulletin {bulletin_id}")

    async def rows(model: Any, order: Any) -> list[Any]:
        return list(
            (await session.exec(select(model).where(model.bulletin_id == bulletin_id).order_by(order))).all()
        )

    corrected_by = (await session.exec(select(Bulletin.id).where(Bulletin.corrects_id == bulletin_id))).all()
    return BulletinRecord(
        bulletin=bulletin,
        copies=await rows(BulletinCopy, BulletinCopy.group),
        decisions=await rows(BulletinDecision, BulletinDecision.id),
        recipients=await rows(BulletinRecipient, BulletinRecipient.id),
        reads=await rows(BulletinRead, BulletinRead.id),
        corrected_by=[i for i in corrected_by if i is not None],
    )
