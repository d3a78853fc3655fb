"""Bulletin composition: SMS text within a segment budget, Telegram HTML, JSON, chart, spreadsheet.

The SMS must fit SMS_SEGMENT_BUDGET UCS-2 segments including the signature. When the full text
does not fit, detail is dropped in this fixed order until it does (DROP_ORDER):

1. names of projects that did not report (the count stays)
2. names on the red list (the count stays)
3. names on the black list (the count stays)
4. the procedure-rate ranking
5. the start-rate ranking
6. the change since the previous bulletin
7. the week's progress line
8. the investment-rate ranking

The header and the overall rates (and a unit leader's own line) are never dropped.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import (
    Bulletin,
    BulletinCopy,
    BulletinKind,
    BulletinState,
    Campaign,
    CampaignKind,
    CampaignState,
    Delivery,
    Person,
    Unit,
)
from notifier.bulletins.signoff import DraftContent, RecipientSnapshot, create_draft, mark_sent
from notifier.core.errors import NotFoundError
from notifier.core.settings import Settings
from notifier.core.texts import t
from notifier.numbers.money import format_amount, format_rate
from notifier.numbers.rates import RANK_KEYS, RATE_KEYS, Numbers, UnitRates, compute_numbers, points, ranked
from notifier.numbers.trends import RateChange, overall_changes, unit_movements
from notifier.numbers.weeks import week_key
from notifier.reporting.receipts import read_path
from notifier.sending.segments import segment_info, with_signature

DROP_ORDER = [
    "missing_names",
    "red_names",
    "black_names",
    "rank_procedure",
    "rank_start",
    "change",
    "week",
    "rank_investment",
]
# Telegram messages stop at 4096 characters: long lists are cut with a count of the rest.
HTML_LIST_LIMIT = 25
# Which rankings each kind shows, in order.
KIND_RANKINGS = {
    BulletinKind.WEEKLY: ["investment_rate", "start_rate", "procedure_rate"],
    BulletinKind.PROCEDURES: ["procedure_rate"],
    BulletinKind.INVESTMENT: ["start_rate", "investment_rate"],
    BulletinKind.MONTHLY: ["investment_rate", "start_rate", "procedure_rate"],
}


def period_key(kind: BulletinKind, as_of: date, numbers: Numbers | None = None) -> str:
    """The period a bulletin covers: its reporting week, or its month."""
    if kind == BulletinKind.WEEKLY:
        return numbers.report_week if numbers else week_key(as_of)
    return f"{as_of.year}-{as_of.month:02d}"


@dataclass
class ComposedBulletin:
    kind: BulletinKind
    as_of: date
    period_key: str
    numbers: Numbers
    sms: str
    unit_sms: dict[str, str]
    html: str
    dropped: list[str]
    previous: dict[str, Any] | None = None
    lang: str = "zh"
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The documented bulletin JSON (rates as fractions or null), plus the SMS text."""
        data = self.numbers.to_json()
        changes = overall_changes(self.previous, data)
        return {
            "kind": str(self.kind),
            "period": self.period_key,
            **data,
            "change": {k: c.points for k, c in changes.items()},
            "rank_movement": unit_movements(self.previous, data),
            "sms": self.sms,
            "sms_segments": segment_info(self.sms).segments,
            "dropped": self.dropped,
        }

    def copies(self) -> dict[str, str]:
        """Text per recipient group: "all", and each unit's leaders' copy."""
        return {"all": self.sms, **self.unit_sms}


# --- SMS ---------------------------------------------------------------------------------------------


def _versus(rate: Any, schedule: Any, lang: str) -> str:
    diff = points(rate, schedule)
    if diff is None:
        return t("bulletin.no_rate", lang)
    if diff > 0:
        return t("bulletin.ahead", lang, points=diff)
    if diff < 0:
        return t("bulletin.behind", lang, points=-diff)
    return t("bulletin.level", lang)


def _ranking_line(numbers: Numbers, key: str, lang: str) -> str:
    items = [
        t(
            "bulletin.rank_item",
            lang,
            rank=u.rank[key] or "-",
            name=_unit_label(u, lang),
            value=format_rate(u.rates.rate(key)),
        )
        for u in ranked(numbers.units, key)
        if u.rates.projects
    ]
    separator = "、" if lang == "zh" else ", "
    return t("bulletin.rank", lang, rate=t(f"bulletin.rate.{key}", lang), items=separator.join(items))


def _unit_label(unit: UnitRates, lang: str) -> str:
    return unit.short_name if lang == "zh" else unit.code


def _names(entries: list[Any], lang: str, *, with_reason: bool = False) -> str:
    separator = "、" if lang == "zh" else ", "
    parts = [f"{e.name}({e.reason})" if with_reason and lang == "zh" else
             f"{e.name} ({e.reason})" if with_reason else e.name for e in entries]  # fmt: skip
    return t("bulletin.names", lang, names=separator.join(parts)) if parts else ""


def _sections(
    composed: Numbers, kind: BulletinKind, lang: str, previous: dict[str, Any] | None
) -> dict[str, str]:
    n = composed
    overall = n.overall
    sections: dict[str, str] = {
        "overall": t(
            "bulletin.overall",
            lang,
            projects=overall.projects,
            start=format_rate(overall.start_rate),
            procedure=format_rate(overall.procedure_rate),
            investment=format_rate(overall.investment_rate),
            schedule=format_rate(n.time_schedule),
            versus=_versus(overall.investment_rate, n.time_schedule, lang),
        ),  # fmt: skip
        "week": t(
            "bulletin.week",
            lang,
            starts=n.week.new_starts,
            investment=format_amount(n.week.investment, lang),
            procedures=n.week.procedures,
        )
        if kind == BulletinKind.WEEKLY
        else "",  # fmt: skip
    }
    if previous is not None:
        changes = overall_changes(previous, n.to_json())
        render = RateChange.render if lang == "zh" else RateChange.render_en
        sections["change"] = t(
            "bulletin.change", lang, **{k.removesuffix("_rate"): render(c) for k, c in changes.items()}
        )
    for key in RATE_KEYS:
        short = RANK_KEYS[key]
        sections[f"rank_{short}"] = _ranking_line(n, key, lang) if key in KIND_RANKINGS[kind] else ""
    if kind == BulletinKind.PROCEDURES:
        outstanding = overall.procedures_required - overall.procedures_done
        sections["week"] = t("bulletin.outstanding", lang, count=outstanding)
    sections["red"] = t("bulletin.red", lang, count=len(n.red_list), names="{red_names}")
    sections["black"] = t("bulletin.black", lang, count=len(n.black_list), names="{black_names}")
    sections["missing"] = t("bulletin.missing", lang, count=len(n.not_reported), names="{missing_names}") if (
        kind == BulletinKind.WEEKLY) else ""  # fmt: skip
    return sections


def render_sms(
    numbers: Numbers,
    *,
    kind: BulletinKind,
    settings: Settings,
    lang: str = "zh",
    lead: str = "",
    previous: dict[str, Any] | None = None,
) -> tuple[str, list[str]]:
    """The SMS (signature included) within the segment budget, and what had to be dropped."""
    sections = _sections(numbers, kind, lang, previous)
    names = {
        "red_names": _names(numbers.red_list, lang),
        "black_names": _names(numbers.black_list, lang, with_reason=True),
        "missing_names": _names(numbers.not_reported, lang),
    }
    header = t("bulletin.header", lang, title=t(f"bulletin.kind.{kind}", lang),
               period=period_key(kind, numbers.as_of, numbers), date=_date_label(numbers.as_of, lang))  # fmt: skip
    dropped: list[str] = []
    for step in [None, *DROP_ORDER]:
        if step is not None:
            if step in names:
                names[step] = ""
            if step in sections:
                sections[step] = ""
            dropped.append(step)
        body = "".join([
            header, lead, sections["overall"], sections.get("change", ""), sections["week"],
            sections["rank_investment"], sections["rank_start"], sections["rank_procedure"],
            sections["red"].format(**names), sections["black"].format(**names),
            sections["missing"].format(**names),
        ])  # fmt: skip
        text = with_signature(body, settings.sms_signature)
        # Every character takes at least one unit and no message holds more than 160, or 153 per
        # segment once split, so a text this long is over budget without counting it exactly
        # (the lists run to thousands of names at ten thousand projects).
        if len(text) > max(160, settings.sms_segment_budget * 153):
            continue
        if segment_info(text).segments <= settings.sms_segment_budget:
            return text, [d for d in dropped if d]
    return text, dropped


def _date_label(day: date, lang: str) -> str:
    return f"{day.month}月{day.day}日" if lang == "zh" else day.isoformat()


def unit_lead_line(unit: UnitRates, lang: str) -> str:
    """A unit leader's copy starts with their own unit's rates and ranks."""
    return t("bulletin.unit_lead", lang, unit=unit.name if lang == "zh" else unit.code,
             start=format_rate(unit.rates.start_rate), procedure=format_rate(unit.rates.procedure_rate),
             investment=format_rate(unit.rates.investment_rate),
             **{f"rank_{RANK_KEYS[k]}": unit.rank[k] or "—" for k in RATE_KEYS})  # fmt: skip


# --- HTML --------------------------------------------------------------------------------------------


def render_html(numbers: Numbers, *, kind: BulletinKind, lang: str, previous: dict[str, Any] | None) -> str:
    """The fuller Telegram copy (HTML parse mode); every piece of data is escaped."""
    e = html.escape
    n = numbers
    moves = unit_movements(previous, n.to_json()) if previous is not None else {}
    lines = [f"<b>{e(t(f'bulletin.kind.{kind}', lang))}</b> {e(period_key(kind, n.as_of, n))}",
             e(_sections(n, kind, lang, previous)["overall"])]  # fmt: skip
    if previous is not None:
        lines.append(e(_sections(n, kind, lang, previous)["change"]))
    lines.append(f"\n<b>{e(t('bulletin.html.units', lang))}</b>")
    for unit in ranked(n.units, "investment_rate"):
        lines.append(e(t("bulletin.html.unit_row", lang, rank=unit.rank["investment_rate"] or "—", name=unit.name,
                         start=format_rate(unit.rates.start_rate), procedure=format_rate(unit.rates.procedure_rate),
                         investment=format_rate(unit.rates.investment_rate),
                         move=moves.get(unit.code, {}).get("investment_rate", ""))))  # fmt: skip
    none = e(t("bulletin.html.none", lang))
    for title, entries in (("red", n.red_list), ("black", n.black_list), ("missing", n.not_reported)):
        items = [f"• {e(x.code)} {e(x.name)}" + (f":{e(x.reason)}" if hasattr(x, "reason") else "")
                 for x in entries[:HTML_LIST_LIMIT]]  # fmt: skip
        if len(entries) > HTML_LIST_LIMIT:
            items.append(f"… +{len(entries) - HTML_LIST_LIMIT}")
        lines.append(
            f"\n<b>{e(t(f'bulletin.html.{title}', lang))}</b>({len(entries)})\n" + ("\n".join(items) or none)
        )
    return "\n".join(lines)


# --- composition -------------------------------------------------------------------------------------


async def previous_numbers(
    session: AsyncSession, *, kind: BulletinKind, before_period: str
) -> dict[str, Any] | None:
    """The numbers of the last bulletin of this kind that was sent for an earlier period."""
    row = (
        await session.exec(
            select(Bulletin.numbers_json)
            .where(
                Bulletin.kind == kind,
                Bulletin.state == BulletinState.SENT,
                col(Bulletin.period_key) < before_period,
                col(Bulletin.corrects_id).is_(None),
            )  # fmt: skip
            .order_by(col(Bulletin.period_key).desc(), col(Bulletin.id).desc())
            .limit(1)
        )
    ).first()
    return json.loads(row) if row else None


async def compose_bulletin(
    session: AsyncSession,
    *,
    settings: Settings,
    kind: BulletinKind,
    as_of: date,
    unit_code: str | None = None,
    lang: str | None = None,
) -> ComposedBulletin:
    """Compute the numbers and render every form of one bulletin."""
    lang = lang or settings.language
    numbers = await compute_numbers(session, settings=settings, as_of=as_of, unit_code=unit_code)
    period = period_key(kind, as_of, numbers)
    previous = await previous_numbers(session, kind=kind, before_period=period)
    sms, dropped = render_sms(numbers, kind=kind, settings=settings, lang=lang, previous=previous)
    unit_sms = {}
    for unit in numbers.units:
        if unit.rates.projects and (unit_code is None or unit.code == unit_code):
            unit_sms[unit.code], _ = render_sms(numbers, kind=kind, settings=settings, lang=lang,
                                                lead=unit_lead_line(unit, lang), previous=previous)  # fmt: skip
    if unit_code is not None and unit_code in unit_sms:
        sms = unit_sms[unit_code]
    return ComposedBulletin(kind=kind, as_of=as_of, period_key=period, numbers=numbers, sms=sms, unit_sms=unit_sms,
                            html=render_html(numbers, kind=kind, lang=lang, previous=previous), dropped=dropped,
                            previous=previous, lang=lang)  # fmt: skip


# --- sign-off and sending ------------------------------------------------------------------------------


def draft_content(composed: ComposedBulletin) -> DraftContent:
    return DraftContent(kind=composed.kind, as_of=composed.as_of, period_key=composed.period_key,
                        numbers=composed.to_json(), sms_text=composed.sms, html=composed.html,
                        copies=composed.copies(), language=composed.lang)  # fmt: skip


async def draft_bulletin(
    session: AsyncSession,
    *,
    settings: Settings,
    kind: BulletinKind,
    as_of: date,
    send_at: datetime | None = None,
    composed_by_id: int | None = None,
) -> tuple[Bulletin, ComposedBulletin]:
    """Compose and store a bulletin for sign-off (approved at once under BULLETIN_APPROVAL=auto)."""
    composed = await compose_bulletin(session, settings=settings, kind=kind, as_of=as_of)
    bulletin = await create_draft(session, settings=settings, content=draft_content(composed), send_at=send_at,
                                  composed_by_id=composed_by_id)  # fmt: skip
    await session.commit()
    return bulletin, composed


def read_link(settings: Settings, bulletin_id: int, person_id: int | None) -> str:
    """The signed 已阅 link appended to a leader's SMS, when the web app's address is known."""
    if person_id is None or not settings.public_base_url or settings.secret_key is None:
        return ""
    path = read_path(settings.secret_key.get_secret_value(), bulletin_id, person_id)
    return f" 已阅请点 {settings.public_base_url.rstrip('/')}{path}"


async def release_bulletin(
    session: AsyncSession, redis: Any, *, settings: Settings, bulletin_id: int
) -> Campaign:
    """Mass-send an approved bulletin to the leaders: unit leaders get their unit's copy.

    One campaign per bulletin (dedupe key), so a second release sends nothing; the bulletin is
    frozen as sent with its recipients.
    """
    from notifier.sending.audiences import Recipient
    from notifier.sending.campaigns import create_campaign, queue_campaign

    bulletin = await session.get(Bulletin, bulletin_id)
    if bulletin is None:
        raise NotFoundError(f"没有编号为 {bulletin_id} 的通报 / no bulletin {bulletin_id}")
    copies = {c.group: c.sms_text for c in (await session.exec(
        select(BulletinCopy).where(BulletinCopy.bulletin_id == bulletin_id))).all()}  # fmt: skip
    signature = settings.sms_signature

    def render(recipient: Recipient) -> str:
        text = copies.get(recipient.unit_code or "", copies.get("all", bulletin.sms_text))
        return text.removeprefix(signature) + read_link(settings, bulletin_id, recipient.person_id)

    key = (
        f"correction:{bulletin_id}"
        if bulletin.corrects_id
        else f"{bulletin.kind}-bulletin:{bulletin.period_key}"
    )
    if bulletin.state == BulletinState.SENT:
        existing = (await session.exec(select(Campaign).where(Campaign.bulletin_id == bulletin_id))).first()
        if existing is not None:
            return existing
    campaign = await create_campaign(session, settings=settings, kind=CampaignKind.BULLETIN, text=bulletin.sms_text,
                                     audience="all-leaders", title=f"{bulletin.kind} {bulletin.period_key}",
                                     dedupe_key=key, bulletin_id=bulletin_id, render=render)  # fmt: skip
    if bulletin.state != BulletinState.SENT:
        recipients = (await session.exec(
            select(Delivery.person_id, Person.name, Delivery.phone, Person.unit_id)
            .join(Person, col(Person.id) == col(Delivery.person_id))
            .where(Delivery.campaign_id == campaign.id))).all()  # fmt: skip
        units = {u.id: u.code for u in (await session.exec(select(Unit))).all()}
        await mark_sent(session, bulletin_id=bulletin_id, recipients=[
            RecipientSnapshot(person_id=pid, name=name, phone=phone, group=units.get(uid, "all") if uid else "all")
            for pid, name, phone, uid in recipients if pid is not None])  # fmt: skip
    await session.commit()
    if campaign.state == CampaignState.DRAFT:
        campaign = await queue_campaign(session, redis, settings=settings, campaign_id=campaign.id or 0)
    return campaign
