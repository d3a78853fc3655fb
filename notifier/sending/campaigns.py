"""Campaigns: one mass send (短信群发). A campaign row and one delivery row per recipient number.

States: draft → queued → sending → done; paused and cancelled by an admin. The database is the
source of truth; the queue only says "there is work". Text may be personalised per recipient
with {name} and {unit}; every body carries the signature and must pass the carriers' length rule
before the campaign can be created.
"""

from __future__ import annotations

import string
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, func, insert, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Campaign, CampaignKind, CampaignState, Delivery, DeliveryState, JobRun, utcnow
from notifier.core.errors import GuatuError, NotFoundError
from notifier.core.settings import Settings
from notifier.sending.audiences import AudienceResult, Recipient, resolve_audience
from notifier.sending.carrier import check_length
from notifier.sending.quiet import quiet_until
from notifier.sending.segments import estimate_cost, segment_info, with_signature
from notifier.sending.templates import (
    TemplateError,
    check_registered,
    registered_templates,
    registry_required,
    templates_everywhere,
)

PLACEHOLDERS = {"name", "unit"}
JOB_SEND = "send_campaign"


def pause_told_prefix(campaign_id: int) -> str:
    """The JobRun keys of the admins told that a campaign paused (notifier.bulletins.chat_copies)."""
    return f"campaign-paused:{campaign_id}:"


class CampaignError(GuatuError):
    """A campaign request that cannot be carried out; the message says why."""


Render = Callable[[Recipient], str]


def check_template(text: str) -> None:
    """Only {name} and {unit} may be used as placeholders."""
    if not text or not text.strip():
        raise CampaignError("短信内容为空 / the message is empty")
    try:
        fields = {f for _, f, _, _ in string.Formatter().parse(text) if f is not None}
    except ValueError:
        raise CampaignError("短信中的花括号不成对 / unbalanced braces in the message") from None
    unknown = fields - PLACEHOLDERS
    if unknown:
        raise CampaignError(
            f"未知占位符:{'、'.join(sorted(unknown))};可用 {{name}} {{unit}} / unknown placeholders"
        )


def personalise(text: str, recipient: Recipient) -> str:
    return text.format(name=recipient.name or "", unit=recipient.unit_name or "")


def render_body(text: str, recipient: Recipient, settings: Settings, render: Render | None = None) -> str:
    body = render(recipient) if render else personalise(text, recipient)
    return with_signature(body, settings.sms_signature)


@dataclass
class CampaignPreview:
    recipients: int
    skipped: dict[str, int]
    segments: int  # total segments over all recipients
    max_segments: int
    encoding: str
    estimated_cost: Decimal
    samples: list[tuple[str, str]] = field(default_factory=list)  # (recipient, body)
    not_before: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        return {"recipients": self.recipients, "skipped": self.skipped, "segments": self.segments,
                "max_segments_per_message": self.max_segments, "encoding": self.encoding,
                "estimated_cost": str(self.estimated_cost),
                "samples": [{"to": to, "body": body} for to, body in self.samples],
                "not_before": self.not_before.isoformat() if self.not_before else None}  # fmt: skip


def _bodies(
    audience: AudienceResult, text: str, settings: Settings, render: Render | None
) -> list[tuple[Recipient, str, int]]:
    rows = []
    for recipient in audience.recipients:
        body = render_body(text, recipient, settings, render)
        check_length(body)
        rows.append((recipient, body, segment_info(body).segments))
    return rows


async def _check_templates(
    session: AsyncSession, settings: Settings, rows: list[tuple[Recipient, str, int]]
) -> None:
    """With the template registry in force, refuse before anything is stored a text that is not a
    registered template, or whose parameters are longer than the provider takes."""
    if not registry_required(settings):
        return
    try:
        check_registered(((r.phone, body) for r, body, _ in rows if r.phone), await registered_templates(session),
                         settings.sms_signature, everywhere=templates_everywhere(settings),
                         param_limit=settings.sms_template_param_max)  # fmt: skip
    except TemplateError as exc:
        raise CampaignError(str(exc)) from None


async def preview_campaign(
    session: AsyncSession,
    *,
    settings: Settings,
    text: str,
    audience: str,
    urgent: bool = False,
    render: Render | None = None,
    as_of: date | None = None,
    samples: int = 3,
) -> CampaignPreview:
    """What a campaign would do — recipients, skipped, segments, cost, sample bodies — sending nothing."""
    if render is None:
        check_template(text)
    resolved = await resolve_audience(session, settings=settings, audience=audience, as_of=as_of)
    rows = _bodies(resolved, text, settings, render)
    await _check_templates(session, settings, rows)
    segments = sum(s for _, _, s in rows)
    encodings = {segment_info(b).encoding for _, b, _ in rows}
    return CampaignPreview(
        recipients=len(rows),
        skipped=resolved.skipped_by_reason(),
        segments=segments,
        max_segments=max((s for _, _, s in rows), default=0),
        encoding="UCS-2" if "UCS-2" in encodings else "GSM-7",
        estimated_cost=estimate_cost(segments=segments, recipients=1, price=settings.sms_price_per_segment),
        samples=[(f"{r.name} {r.phone}".strip(), b) for r, b, _ in rows[:samples]],
        not_before=None if urgent else quiet_until(utcnow(), settings),
    )


async def create_campaign(
    session: AsyncSession,
    *,
    settings: Settings,
    kind: CampaignKind,
    text: str,
    audience: str,
    title: str = "",
    urgent: bool = False,
    created_by_id: int | None = None,
    dedupe_key: str | None = None,
    bulletin_id: int | None = None,
    render: Render | None = None,
    as_of: date | None = None,
) -> Campaign:
    """A draft campaign with one delivery per recipient (skipped ones recorded with the reason).

    With a `dedupe_key` already used, the existing campaign is returned and nothing is added.
    """
    if dedupe_key is not None:
        existing = (await session.exec(select(Campaign).where(Campaign.dedupe_key == dedupe_key))).first()
        if existing is not None:
            return existing
    if render is None:
        check_template(text)
    resolved = await resolve_audience(session, settings=settings, audience=audience, as_of=as_of)
    rows = _bodies(resolved, text, settings, render)
    await _check_templates(session, settings, rows)
    segments = sum(s for _, _, s in rows)
    campaign = Campaign(kind=kind, title=title, text=text, audience=audience, urgent=urgent, dedupe_key=dedupe_key,
                        bulletin_id=bulletin_id, created_by_id=created_by_id, recipients=len(rows),
                        skipped=len(resolved.skipped), segments=segments,
                        estimated_cost=estimate_cost(segments=segments, recipients=1,
                                                     price=settings.sms_price_per_segment))  # fmt: skip
    session.add(campaign)
    try:
        await session.flush()
    except IntegrityError:  # a concurrent creator with the same dedupe key won
        await session.rollback()
        existing = (await session.exec(select(Campaign).where(Campaign.dedupe_key == dedupe_key))).first()
        if existing is None:
            raise
        return existing
    now = utcnow()
    values: list[dict[str, Any]] = [
        {"campaign_id": campaign.id, "person_id": r.person_id, "phone": r.phone, "body": body, "segments": segs,
         "state": DeliveryState.PENDING, "created_at": now, "updated_at": now}
        for r, body, segs in rows
    ]  # fmt: skip
    skipped_phones = {v["phone"] for v in values}
    for s in resolved.skipped:
        key = (s.phone or f"none:{s.name}")[:20]
        if key in skipped_phones:
            continue
        skipped_phones.add(key)
        values.append({"campaign_id": campaign.id, "person_id": None, "phone": key, "body": "", "segments": 0,
                       "state": DeliveryState.SKIPPED, "skip_reason": s.reason, "created_at": now,
                       "updated_at": now, "final_at": now})  # fmt: skip
    for start in range(0, len(values), 1000):
        await session.execute(insert(Delivery), values[start : start + 1000])
    return campaign


async def _campaign(session: AsyncSession, campaign_id: int) -> Campaign:
    campaign = await session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFoundError(f"没有编号为 {campaign_id} 的群发任务 / no campaign {campaign_id}")
    return campaign


async def enqueue_send(
    redis: Any, *, campaign_id: int, not_before: datetime | None, generation: str, fanout: int = 4
) -> None:
    """Queue `fanout` send jobs so several workers share the campaign; each claims batches from the
    database, so a duplicate job is harmless."""
    for worker in range(fanout):
        await redis.enqueue_job(JOB_SEND, campaign_id, _job_id=f"campaign:{campaign_id}:{generation}:{worker}",
                                _defer_until=not_before)  # fmt: skip


async def queue_campaign(
    session: AsyncSession, redis: Any, *, settings: Settings, campaign_id: int
) -> Campaign:
    """Draft → queued, and hand it to the workers (held until quiet hours end unless urgent)."""
    campaign = await _campaign(session, campaign_id)
    if campaign.state not in (CampaignState.DRAFT, CampaignState.QUEUED):
        raise CampaignError(f"群发任务 {campaign_id} 当前状态为 {campaign.state},不能排队 / cannot queue")
    now = utcnow()
    campaign.state = CampaignState.QUEUED
    campaign.queued_at = campaign.queued_at or now
    campaign.not_before = None if campaign.urgent else quiet_until(now, settings)
    session.add(campaign)
    await session.commit()
    await enqueue_send(redis, campaign_id=campaign_id, not_before=campaign.not_before, generation="q",
                       fanout=settings.sms_fanout)  # fmt: skip
    return campaign


async def pause_campaign(session: AsyncSession, *, campaign_id: int) -> Campaign:
    """Workers stop claiming new batches; what is in flight finishes."""
    campaign = await _campaign(session, campaign_id)
    if campaign.state not in (CampaignState.QUEUED, CampaignState.SENDING):
        raise CampaignError(
            f"只有排队中或发送中的任务可以暂停(当前 {campaign.state}) / only queued or sending"
        )
    campaign.state = CampaignState.PAUSED
    session.add(campaign)
    await session.commit()
    return campaign


async def resume_campaign(
    session: AsyncSession, redis: Any, *, settings: Settings, campaign_id: int
) -> Campaign:
    campaign = await _campaign(session, campaign_id)
    if campaign.state != CampaignState.PAUSED:
        raise CampaignError(f"只有已暂停的任务可以继续(当前 {campaign.state}) / only paused campaigns resume")
    campaign.state = CampaignState.QUEUED
    # Whatever paused it has been dealt with; only what is still pending goes out (sent rows stay).
    campaign.pause_reason = None
    session.add(campaign)
    # A pause after this resume is news again, whatever its reason: the admins are told afresh.
    await session.execute(delete(JobRun).where(col(JobRun.key).startswith(pause_told_prefix(campaign_id))))
    await session.commit()
    await enqueue_send(redis, campaign_id=campaign_id, not_before=None if campaign.urgent else quiet_until(utcnow(), settings),
                       generation=f"r{int(utcnow().timestamp())}", fanout=settings.sms_fanout)  # fmt: skip
    return campaign


async def cancel_campaign(session: AsyncSession, *, campaign_id: int) -> Campaign:
    """Nothing more is sent; deliveries not yet handed over are recorded as skipped (cancelled)."""
    campaign = await _campaign(session, campaign_id)
    if campaign.state in (CampaignState.DONE, CampaignState.CANCELLED):
        raise CampaignError(f"任务已{campaign.state},不能取消 / already {campaign.state}")
    campaign.state = CampaignState.CANCELLED
    campaign.finished_at = utcnow()
    session.add(campaign)
    await session.execute(
        update(Delivery)
        .where(col(Delivery.campaign_id) == campaign_id, col(Delivery.state) == DeliveryState.PENDING)
        .values(state=DeliveryState.SKIPPED, skip_reason="cancelled", final_at=utcnow(), updated_at=utcnow())
    )
    await session.commit()
    return campaign


@dataclass
class CampaignStatus:
    campaign_id: int
    state: str
    kind: str
    title: str
    recipients: int
    counts: dict[str, int]
    created_at: datetime
    finished_at: datetime | None
    pause_reason: str | None = None
    notice: str | None = None
    # Ended, but receipts for messages handed over (`sent`) may still come in: keep counting.
    settling: bool = False

    @property
    def finished(self) -> int:
        final = ("delivered", "undelivered", "failed", "skipped", "sent")
        return sum(self.counts.get(s, 0) for s in final)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def to_json(self) -> dict[str, Any]:
        return {"campaign_id": self.campaign_id, "state": self.state, "kind": self.kind, "title": self.title,
                "recipients": self.recipients, "counts": self.counts, "total": self.total,
                "created_at": self.created_at.isoformat(), "pause_reason": self.pause_reason,
                "notice": self.notice, "settling": self.settling,
                "finished_at": self.finished_at.isoformat() if self.finished_at else None}  # fmt: skip


async def campaign_status(
    session: AsyncSession, *, campaign_id: int, receipt_window: timedelta = timedelta(hours=72)
) -> CampaignStatus:
    """State and delivery counts by state (one GROUP BY). A campaign that ended less than
    `receipt_window` ago with messages still `sent` (no receipt yet) is `settling`."""
    campaign = await _campaign(session, campaign_id)
    await session.refresh(campaign)
    rows = await session.exec(
        select(Delivery.state, func.count())
        .where(Delivery.campaign_id == campaign_id)
        .group_by(col(Delivery.state))
    )
    counts = {str(state): int(n) for state, n in rows.all()}
    ended = campaign.state in (CampaignState.DONE, CampaignState.CANCELLED)
    recent = campaign.finished_at is None or campaign.finished_at > utcnow() - receipt_window
    settling = ended and recent and counts.get(DeliveryState.SENT.value, 0) > 0
    return CampaignStatus(campaign_id=campaign_id, state=str(campaign.state), kind=str(campaign.kind),
                          title=campaign.title, recipients=campaign.recipients,
                          counts={s.value: counts.get(s.value, 0) for s in DeliveryState},
                          created_at=campaign.created_at, finished_at=campaign.finished_at,
                          pause_reason=campaign.pause_reason, notice=campaign.notice,
                          settling=settling)  # fmt: skip


async def list_campaigns(session: AsyncSession, *, limit: int = 50) -> list[Campaign]:
    return list((await session.exec(select(Campaign).order_by(col(Campaign.id).desc()).limit(limit))).all())
