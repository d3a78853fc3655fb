"""Alerts along the 包联 chain: overdue milestones, projects newly on the black list, missing reports.

Each alert is one *fact* with a key ("milestone:12:0", "black-list:7:1", "no-report:7:2026-W47").
An `AlertRecord` with that key is written in the same transaction as the alert's campaign, so a
fact is sent at most once however often (or on however many workers) the check runs:

- a milestone past due and not done: the lead and the three 包联 people, once, then again every
  7 days while it stays overdue (the key carries the number of whole weeks overdue);
- a project that enters the black list: its unit leader, once per stay on the list (leaving the
  list is recorded, so coming back is a new fact);
- a lead with no report at the deadline: sent by the deadline round of the weekly prompts;
  listed here so `guatu overdue` shows every current alert.

The facts a check finds go out as one digest a day: one alert campaign (dedupe key
"alerts:<day>"), in which each person gets one SMS listing their projects by name (no internal
unit or project codes), shortened to the segment budget with a count of the rest.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from itertools import zip_longest
from typing import Any

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import AlertRecord, CampaignKind, CampaignState, Milestone, Person, Project, Unit
from notifier.core.settings import Settings
from notifier.core.texts import t
from notifier.sending.audiences import Recipient

log = logging.getLogger("guatu.alerts")


class AlertKind(StrEnum):
    NO_REPORT = "no_report"
    MILESTONE = "milestone"
    BLACK_LIST = "black_list"


# Written when a black-listed project leaves the list, closing its stay there.
BLACK_LIST_LEFT = "black_list_left"


@dataclass(frozen=True)
class Alert:
    """One current alert: the fact, the project, why, and who is told."""

    kind: AlertKind
    key: str
    project_id: int
    project_code: str
    project_name: str
    unit_code: str
    reason: str
    recipient_ids: tuple[int, ...]
    sent: bool
    values: dict[str, Any] = field(default_factory=dict, compare=False)

    def to_json(self) -> dict[str, Any]:
        return {"kind": str(self.kind), "key": self.key, "project": self.project_code, "name": self.project_name,
                "unit": self.unit_code, "reason": self.reason, "recipients": list(self.recipient_ids),
                "sent": self.sent}  # fmt: skip


@dataclass
class RaiseResult:
    """What one alert check did: campaigns created, facts already sent, black-list stays closed."""

    raised: list[tuple[Alert, int]] = field(default_factory=list)  # (alert, campaign id)
    already_sent: int = 0
    unreachable: int = 0  # nobody in the chain has a phone number; tried again next check
    closed: int = 0


def milestone_key(milestone_id: int, *, due: date, as_of: date) -> str:
    """The fact of a milestone overdue in its n-th week: days 1–7 overdue are week 0, 8–14 week 1, ..."""
    return f"milestone:{milestone_id}:{((as_of - due).days - 1) // 7}"


def no_report_key(project_id: int, week: str) -> str:
    """The fact of a missing report; the deadline round records its alert under this key (kind no_report)."""
    return f"no-report:{project_id}:{week}"


def _people(*ids: int | None) -> tuple[int, ...]:
    seen: list[int] = []
    for person_id in ids:
        if person_id is not None and person_id not in seen:
            seen.append(person_id)
    return tuple(seen)


async def _recorded(session: AsyncSession, keys: list[str]) -> set[str]:
    if not keys:
        return set()
    rows = await session.exec(select(AlertRecord.key).where(col(AlertRecord.key).in_(keys)))
    return set(rows.all())


async def milestone_alerts(session: AsyncSession, *, settings: Settings, as_of: date) -> list[Alert]:
    """Milestones past due and not done as of the date, on active projects."""
    rows = await session.exec(
        select(Milestone.id, Milestone.title, Milestone.due_date, Project.id, Project.code, Project.name,  # type: ignore[call-overload, misc]
               Unit.code, Project.lead_id, Project.league_leader_id, Project.unit_leader_id,
               Project.department_contact_id)
        .join(Project, col(Project.id) == col(Milestone.project_id))
        .join(Unit, col(Unit.id) == col(Project.unit_id))
        .where(col(Milestone.due_date) < as_of, col(Project.active),
               or_(col(Milestone.done_date).is_(None), col(Milestone.done_date) > as_of))
        .order_by(Unit.code, Project.code, Milestone.due_date, Milestone.id)
    )  # fmt: skip
    found = list(rows.all())
    keys = [milestone_key(r[0], due=r[2], as_of=as_of) for r in found]
    sent = await _recorded(session, keys)
    alerts = []
    for key, (_mid, title, due, pid, code, name, unit, *people) in zip(keys, found, strict=True):
        values = {
            "title": title,
            "due": due.isoformat(),
            "days": (as_of - due).days,
            "project": name,
            "code": code,
        }
        alerts.append(Alert(kind=AlertKind.MILESTONE, key=key, project_id=pid, project_code=code, project_name=name,
                            unit_code=unit, reason=t("alerts.reason.milestone", settings.language, **values),
                            recipient_ids=_people(*people), sent=key in sent, values=values))  # fmt: skip
    return alerts


async def _black_list_stays(session: AsyncSession) -> dict[int, tuple[int, int]]:
    """project id -> (times alerted as entering the black list, times recorded as leaving it)."""
    rows = await session.exec(
        select(AlertRecord.project_id, AlertRecord.kind, func.count())  # type: ignore[call-overload]
        .where(col(AlertRecord.kind).in_([AlertKind.BLACK_LIST.value, BLACK_LIST_LEFT]))
        .group_by(col(AlertRecord.project_id), col(AlertRecord.kind))
    )
    stays: dict[int, tuple[int, int]] = {}
    for project_id, kind, count in rows.all():
        if project_id is None:
            continue
        entered, left = stays.get(project_id, (0, 0))
        stays[project_id] = (count, left) if kind == AlertKind.BLACK_LIST else (entered, count)
    return stays


async def black_list_alerts(session: AsyncSession, *, settings: Settings, as_of: date) -> list[Alert]:
    """Projects on the black list; `sent` is True once their current stay has been alerted."""
    from notifier.numbers.rates import black_list

    entries = await black_list(session, settings=settings, as_of=as_of)
    stays = await _black_list_stays(session)
    alerts = []
    for entry in entries:
        entered, left = stays.get(entry.project_id, (0, 0))
        open_stay = entered > left
        key = f"black-list:{entry.project_id}:{entered if open_stay else entered + 1}"
        values = {"project": entry.name, "code": entry.code, "unit": entry.unit_code, "reason": entry.reason}
        alerts.append(Alert(kind=AlertKind.BLACK_LIST, key=key, project_id=entry.project_id, project_code=entry.code,
                            project_name=entry.name, unit_code=entry.unit_code,
                            reason=t("alerts.reason.black_list", settings.language, reason=entry.reason),
                            recipient_ids=_people(entry.unit_leader_id), sent=open_stay,
                            values=values))  # fmt: skip
    return alerts


# The deadline round (notifier.reporting.prompts) sends one campaign per week to the missing leads under this key.
DEADLINE_LEADS_KEY = "deadline-leads:{week}"


async def _deadline_round_told(session: AsyncSession, week: str) -> set[int]:
    """People the week's deadline round has already sent the missing-report SMS to."""
    from models import Campaign, Delivery

    rows = await session.exec(
        select(Delivery.person_id)
        .join(Campaign, col(Campaign.id) == col(Delivery.campaign_id))
        .where(
            Campaign.dedupe_key == DEADLINE_LEADS_KEY.format(week=week), col(Delivery.person_id).is_not(None)
        )
    )
    return {p for p in rows.all() if p is not None}


async def no_report_alerts(session: AsyncSession, *, settings: Settings, as_of: date) -> list[Alert]:
    """Projects with no report for the latest week whose deadline has passed (sent by the deadline round)."""
    from notifier.numbers.rates import not_reported, report_week_for

    week = report_week_for(as_of, settings)
    missing = await not_reported(session, settings=settings, week=week, as_of=as_of)
    ids = [m.project_id for m in missing]
    chain: dict[int, tuple[int | None, int | None]] = {}
    if ids:
        rows = await session.exec(
            select(Project.id, Project.lead_id, Project.department_contact_id).where(col(Project.id).in_(ids))  # type: ignore[call-overload]
        )
        chain = {pid: (lead, contact) for pid, lead, contact in rows.all() if pid is not None}
    keys = [no_report_key(m.project_id, week) for m in missing]
    sent = await _recorded(session, keys)
    told = await _deadline_round_told(session, week)
    return [
        Alert(kind=AlertKind.NO_REPORT, key=key, project_id=m.project_id, project_code=m.code, project_name=m.name,
              unit_code=m.unit_code, reason=t("alerts.reason.no_report", settings.language, week=week),
              recipient_ids=_people(*chain.get(m.project_id, (None, None))),
              sent=key in sent or chain.get(m.project_id, (None, None))[0] in told,
              values={"week": week})
        for key, m in zip(keys, missing, strict=True)
    ]  # fmt: skip


async def current_alerts(session: AsyncSession, *, settings: Settings, as_of: date) -> list[Alert]:
    """Every current alert of every kind (missing reports, overdue milestones, black list), with reasons."""
    return [
        *await no_report_alerts(session, settings=settings, as_of=as_of),
        *await milestone_alerts(session, settings=settings, as_of=as_of),
        *await black_list_alerts(session, settings=settings, as_of=as_of),
    ]


async def _audience(session: AsyncSession, person_ids: tuple[int, ...]) -> str | None:
    if not person_ids:
        return None
    rows = await session.exec(select(Person.phone).where(col(Person.id).in_(person_ids)))
    phones = [p for p in rows.all() if p]
    return "phones:" + ",".join(phones) if phones else None


async def _close_stays(session: AsyncSession, *, on_list: set[int]) -> int:
    """Record that projects alerted as black-listed have left the list, so a return is a new fact."""
    closed = 0
    for project_id, (entered, left) in (await _black_list_stays(session)).items():
        if entered > left and project_id not in on_list:
            session.add(AlertRecord(key=f"black-list-left:{project_id}:{entered}", kind=BLACK_LIST_LEFT,
                                    project_id=project_id))  # fmt: skip
            closed += 1
    if closed:
        try:
            await session.commit()
        except IntegrityError:
            await session.rollback()
            return 0
    return closed


async def _requeue_drafts(session: AsyncSession, redis: Any, *, settings: Settings) -> None:
    """An alert recorded but never queued (the worker died between the two) is queued now."""
    from models import Campaign
    from notifier.sending.campaigns import queue_campaign

    rows = await session.exec(
        select(Campaign.id)
        .join(AlertRecord, col(AlertRecord.campaign_id) == col(Campaign.id))
        .where(Campaign.state == CampaignState.DRAFT)
    )
    for campaign_id in rows.all():
        await queue_campaign(session, redis, settings=settings, campaign_id=campaign_id or 0)


async def raise_alerts(session: AsyncSession, redis: Any, *, settings: Settings, as_of: date) -> RaiseResult:
    """Send every milestone and black-list alert not sent before, as the day's digest (missing
    reports are the deadline round's)."""
    result = RaiseResult()
    black = await black_list_alerts(session, settings=settings, as_of=as_of)
    result.closed = await _close_stays(session, on_list={a.project_id for a in black})
    pending: list[Alert] = []
    for alert in [*await milestone_alerts(session, settings=settings, as_of=as_of), *black]:
        if alert.sent:
            result.already_sent += 1
        elif await _audience(session, alert.recipient_ids) is None:
            result.unreachable += 1
        else:
            pending.append(alert)
    if pending:
        campaign_id = await send_digest(session, redis, settings=settings, alerts=pending, day=as_of)
        if campaign_id is None:
            result.already_sent += len(pending)
        else:
            result.raised.extend((alert, campaign_id) for alert in pending)
    await _requeue_drafts(session, redis, settings=settings)
    return result


def digest_text(alerts: list[Alert], *, units: dict[str, str], lang: str, settings: Settings) -> str:
    """One person's digest: their projects' alerts by name, cut to the segment budget (the rest counted)."""
    from notifier.sending.segments import segment_info, with_signature

    # Project by project in turn, so that a shortened digest still names every project it can.
    by_project: dict[int, list[Alert]] = {}
    for alert in alerts:
        by_project.setdefault(alert.project_id, []).append(alert)
    ordered = [a for group in zip_longest(*by_project.values()) for a in group if a is not None]
    items = [
        t("alerts.digest.milestone" if a.kind == AlertKind.MILESTONE else "alerts.digest.black_list", lang,
          **(a.values | {"unit": units.get(a.unit_code, "")}))
        for a in ordered
    ]  # fmt: skip
    separator = ";" if lang == "zh" else "; "
    for keep in range(len(items), 0, -1):
        rest = t("alerts.digest.more", lang, count=len(items) - keep) if keep < len(items) else ""
        text = t("alerts.digest", lang, count=len(items), items=separator.join(items[:keep]) + rest)
        if segment_info(with_signature(text, settings.sms_signature)).segments <= settings.sms_segment_budget:
            return text
    return text


async def send_digest(
    session: AsyncSession, redis: Any, *, settings: Settings, alerts: list[Alert], day: date
) -> int | None:
    """The day's alert campaign: each person told once about all of their projects' new alerts, the
    facts recorded in the same transaction. None when another check recorded them first."""
    from models import Campaign
    from notifier.sending.campaigns import create_campaign, queue_campaign

    people = sorted({pid for a in alerts for pid in a.recipient_ids})
    audience = await _audience(session, tuple(people))
    if audience is None:
        return None
    units = {code: name for code, name in (await session.exec(select(Unit.code, Unit.name))).all()}
    ids_by_phone = {phone: pid for pid, phone in (await session.exec(
        select(Person.id, Person.phone).where(col(Person.id).in_(people)))).all() if phone}  # fmt: skip

    def render(recipient: Recipient) -> str:
        person = recipient.person_id or ids_by_phone.get(recipient.phone)
        mine = [a for a in alerts if person in a.recipient_ids]
        return digest_text(mine, units=units, lang=recipient.language, settings=settings)

    runs = (await session.exec(select(func.count()).select_from(Campaign).where(
        col(Campaign.dedupe_key).startswith(f"alerts:{day.isoformat()}")))).one()  # fmt: skip
    key = f"alerts:{day.isoformat()}" + (f":{runs + 1}" if runs else "")
    campaign = await create_campaign(session, settings=settings, kind=CampaignKind.ALERT,
                                     text=t("alerts.digest.title", settings.language, day=day.isoformat()),
                                     audience=audience, title=t("alerts.digest.title", settings.language,
                                                                day=day.isoformat()),
                                     dedupe_key=key, render=render)  # fmt: skip
    for alert in alerts:
        session.add(AlertRecord(key=alert.key, kind=alert.kind.value, project_id=alert.project_id,
                                campaign_id=campaign.id))  # fmt: skip
    try:
        await session.commit()
    except IntegrityError:  # another worker recorded these facts first; its campaign stands
        await session.rollback()
        return None
    await queue_campaign(session, redis, settings=settings, campaign_id=campaign.id or 0)
    return campaign.id
