"""Bulletin composition: SMS text within a segment budget, Telegram HTML, JSON, chart, spreadsheet.

What a bulletin covers: the weekly one its report week, over the list of that week's ISO year
(week 53 of 2026, sent in January 2027, covers 2026); the monthly report the latest whole month
by its date (composed on 1 December it is the November report, as of 30 November; on 1 January
the December report over the closing year's list); the 10th/20th dispatches their month to date.

Every recipient's SMS must fit SMS_SEGMENT_BUDGET segments as it is sent: the signature, a unit
leader's own line and the 已阅 link (the longest link ids up to LINK_ID_DIGITS digits give) all
count. When a variant does not fit, it is shortened in this fixed order until it does (DROP_ORDER),
and the composer records what was left out:

1. the tails of the rankings (procedure, start, investment): the first TAIL_KEEP units stay and
   the text says how many were left out
2. names of projects that did not report (the count stays)
3. names on the red list (the count stays)
4. names on the black list (the count stays)
5. the procedure-rate ranking
6. the start-rate ranking
7. the change since the previous bulletin
8. the week's progress line
9. the investment-rate ranking

The header and the overall rates (and a unit leader's own line) are never dropped.
"""

from __future__ import annotations

import calendar
import html
import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
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
from notifier.core.errors import GuatuError, NotFoundError
from notifier.core.settings import Settings
from notifier.core.texts import t
from notifier.numbers.money import format_amount, format_rate
from notifier.numbers.rates import (
    RANK_KEYS,
    RATE_KEYS,
    Numbers,
    UnitRates,
    compute_numbers,
    points,
    ranked,
    report_week_for,
)
from notifier.numbers.trends import RateChange, overall_changes, unit_movements
from notifier.numbers.weeks import parse_week, week_key, week_label
from notifier.reporting.receipts import read_path
from notifier.sending.segments import segment_info, with_signature


class OverBudgetError(GuatuError):
    """A recipient's text as it would be sent is over SMS_SEGMENT_BUDGET."""


DROP_ORDER = [
    "tail_procedure",
    "tail_start",
    "tail_investment",
    "missing_names",
    "red_names",
    "black_names",
    "rank_procedure",
    "rank_start",
    "change",
    "week",
    "rank_investment",
]
# A shortened ranking keeps its first units.
TAIL_KEEP = 3
# The 已阅 link is reserved at its longest for bulletin and person ids of up to this many digits.
LINK_ID_DIGITS = 7
# Telegram messages stop at 4096 characters: long lists are cut with a count of the rest.
HTML_LIST_LIMIT = 25
# Which rankings each kind shows, in order.
KIND_RANKINGS = {
    BulletinKind.WEEKLY: ["investment_rate", "start_rate", "procedure_rate"],
    BulletinKind.PROCEDURES: ["procedure_rate"],
    BulletinKind.INVESTMENT: ["start_rate", "investment_rate"],
    BulletinKind.MONTHLY: ["investment_rate", "start_rate", "procedure_rate"],
}


def covered_day(kind: BulletinKind, composed_on: date) -> date:
    """The as-of date of a bulletin composed on `composed_on`: the monthly report's is the last day
    of the latest whole month (the day itself when it is a month's last); the others' the day."""
    if kind != BulletinKind.MONTHLY:
        return composed_on
    if composed_on.day == calendar.monthrange(composed_on.year, composed_on.month)[1]:
        return composed_on
    return composed_on.replace(day=1) - timedelta(days=1)


def list_year(kind: BulletinKind, as_of: date, settings: Settings) -> int:
    """Whose list a bulletin as of `as_of` covers: the weekly one's report week's ISO year."""
    if kind == BulletinKind.WEEKLY:
        return parse_week(report_week_for(as_of, settings))[0]
    return as_of.year


def period_key(kind: BulletinKind, as_of: date, numbers: Numbers | None = None) -> str:
    """The period a bulletin covers: its reporting week, or its month."""
    if kind == BulletinKind.WEEKLY:
        return numbers.report_week if numbers else week_key(as_of)
    day = covered_day(kind, as_of)
    return f"{day.year}-{day.month:02d}"


def period_label(kind: BulletinKind, period: str, lang: str) -> str:
    """How a bulletin names its period: "11月第4周" (English keeps "2026-W47"), or "2026年11月"."""
    if lang != "zh":
        return period
    if kind == BulletinKind.WEEKLY:
        return week_label(period, lang, dates=False)
    year, month = period.split("-")
    return f"{year}年{int(month)}月"


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
    unit_lines: dict[str, str] = field(default_factory=dict)
    unit_dropped: dict[str, list[str]] = field(default_factory=dict)
    link_reserve: str = ""

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
            "longest": self.longest(),
            "unit_lines": self.unit_lines,
        }

    def longest(self) -> dict[str, Any]:
        """The variant that costs most as sent (with the longest 已阅 link), and what it left out."""
        group, text = max(self.copies().items(), key=lambda item: (segment_info(item[1] + self.link_reserve).segments,
                                                                    len(item[1]), item[0]))  # fmt: skip
        info = segment_info(text + self.link_reserve)
        dropped = self.dropped if group == "all" else self.unit_dropped.get(group, [])
        return {"group": group, "sms": text, "characters": info.characters, "segments": info.segments,
                "dropped": dropped, "dropped_text": describe_dropped(dropped, self.lang)}  # fmt: skip

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


def _ranking_line(numbers: Numbers, key: str, lang: str, *, keep: int | None = None) -> str:
    """Units with a rate in ranking order ("暂无数据" when none has one); with `keep`, the first
    `keep` units and how many were left out."""
    rated = [u for u in ranked(numbers.units, key) if u.rank[key] is not None]
    items = [t("bulletin.rank_item", lang, rank=u.rank[key], name=_unit_label(u, lang), value=format_rate(u.rates.rate(key)))
             for u in rated[:keep]]  # fmt: skip
    separator = "、" if lang == "zh" else ", "
    text = separator.join(items) if items else t("bulletin.no_rate", lang)
    if keep is not None and len(rated) > keep:
        text += t("bulletin.rank_rest", lang, count=len(rated) - keep)
    return t("bulletin.rank", lang, rate=t(f"bulletin.rate.{key}", lang), items=text)


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
    sections["red"] = _list_line("red", len(n.red_list), "{red_names}", lang)
    sections["black"] = _list_line("black", len(n.black_list), "{black_names}", lang)
    sections["missing"] = _list_line("missing", len(n.not_reported), "{missing_names}", lang) if (
        kind == BulletinKind.WEEKLY) else ""  # fmt: skip
    return sections


def _list_line(name: str, count: int, names: str, lang: str) -> str:
    """ "红榜3个:…。", or "红榜:无。" with no number for an empty list."""
    if count == 0:
        return t(f"bulletin.{name}_none", lang)
    return t(f"bulletin.{name}", lang, count=count, names=names)


def render_sms(
    numbers: Numbers,
    *,
    kind: BulletinKind,
    settings: Settings,
    lang: str = "zh",
    lead: str = "",
    previous: dict[str, Any] | None = None,
    reserve: str = "",
) -> tuple[str, list[str]]:
    """The SMS (signature included) within the segment budget with `reserve` (the 已阅 link at its
    longest) appended, and what had to be left out."""
    sections = _sections(numbers, kind, lang, previous)
    names = {
        "red_names": _names(numbers.red_list, lang),
        "black_names": _names(numbers.black_list, lang, with_reason=True),
        "missing_names": _names(numbers.not_reported, lang),
    }
    period = period_label(kind, period_key(kind, numbers.as_of, numbers), lang)
    header = t("bulletin.header", lang, title=t(f"bulletin.kind.{kind}", lang), period=period,
               date=_date_label(numbers.as_of, lang))  # fmt: skip
    dropped: list[str] = []
    for step in [None, *DROP_ORDER]:
        if step is not None and _shorten(step, sections, names, numbers, lang):
            dropped.append(step)
        body = "".join([
            header, lead, sections["overall"], sections.get("change", ""), sections["week"],
            sections["rank_investment"], sections["rank_start"], sections["rank_procedure"],
            sections["red"].format(**names), sections["black"].format(**names),
            sections["missing"].format(**names),
        ])  # fmt: skip
        text = with_signature(body, settings.sms_signature)
        sent = text + reserve
        # Every character takes at least one unit and no message holds more than 160, or 153 per
        # segment once split, so a text this long is over budget without counting it exactly
        # (the lists run to thousands of names at ten thousand projects).
        if len(sent) > max(160, settings.sms_segment_budget * 153):
            continue
        if segment_info(sent).segments <= settings.sms_segment_budget:
            return text, dropped
    return text, dropped


def _shorten(step: str, sections: dict[str, str], names: dict[str, str], numbers: Numbers, lang: str) -> bool:
    """Take one step of DROP_ORDER; False when it left nothing out (nothing there, short already)."""
    if step.startswith("tail_"):
        key = f"{step.removeprefix('tail_')}_rate"
        section = f"rank_{RANK_KEYS[key]}"
        if not sections[section]:
            return False  # this kind shows no such ranking
        shortened = _ranking_line(numbers, key, lang, keep=TAIL_KEEP)
        changed = shortened != sections[section]
        sections[section] = shortened
        return changed
    if step in names:
        # A list's names count as left out only where the text shows that list (the dispatches
        # show no 未报送 list, and an empty list reads "无" without its names).
        shown = "{" + step + "}" in sections.get(step.removesuffix("_names"), "")
        changed = shown and bool(names[step])
        names[step] = ""
        return changed
    changed = bool(sections.get(step))
    sections[step] = ""
    return changed


def describe_dropped(dropped: list[str], lang: str) -> str:
    """What a variant left out, as approvers read it."""
    separator = "、" if lang == "zh" else ", "
    return separator.join(t(f"bulletin.drop.{d}", lang, keep=TAIL_KEEP) for d in dropped)


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
    """Compute the numbers of the period a bulletin composed on `as_of` covers (covered_day,
    list_year) and render every form of it, each recipient's variant within the segment budget."""
    lang = lang or settings.language
    as_of = covered_day(kind, as_of)
    numbers = await compute_numbers(session, settings=settings, as_of=as_of, unit_code=unit_code,
                                    year=list_year(kind, as_of, settings))  # fmt: skip
    period = period_key(kind, as_of, numbers)
    previous = await previous_numbers(session, kind=kind, before_period=period)
    reserve = link_reserve(settings)
    sms, dropped = render_sms(
        numbers, kind=kind, settings=settings, lang=lang, previous=previous, reserve=reserve
    )
    unit_sms, unit_lines, unit_dropped = {}, {}, {}
    for unit in numbers.units:
        if unit.rates.projects and (unit_code is None or unit.code == unit_code):
            unit_lines[unit.code] = unit_lead_line(unit, lang)
            unit_sms[unit.code], unit_dropped[unit.code] = render_sms(
                numbers, kind=kind, settings=settings, lang=lang, lead=unit_lines[unit.code], previous=previous,
                reserve=reserve)  # fmt: skip
    if unit_code is not None and unit_code in unit_sms:
        sms, dropped = unit_sms[unit_code], unit_dropped[unit_code]
    return ComposedBulletin(kind=kind, as_of=as_of, period_key=period, numbers=numbers, sms=sms, unit_sms=unit_sms,
                            html=render_html(numbers, kind=kind, lang=lang, previous=previous), dropped=dropped,
                            previous=previous, lang=lang, unit_lines=unit_lines, unit_dropped=unit_dropped,
                            link_reserve=reserve)  # fmt: skip


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


def link_reserve(settings: Settings) -> str:
    """The longest 已阅 link a recipient's SMS may carry (ids of up to LINK_ID_DIGITS digits), or ""."""
    largest = 10**LINK_ID_DIGITS - 1
    return read_link(settings, largest, largest)


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
        sent = text.removeprefix(signature) + read_link(settings, bulletin_id, recipient.person_id)
        segments = segment_info(with_signature(sent, signature)).segments
        if segments > settings.sms_segment_budget:
            # The composer keeps every variant within the budget; a text that still is not (ids
            # past LINK_ID_DIGITS, a smaller budget since) is refused, and approvers are told.
            raise OverBudgetError(t("bulletin.over_budget", settings.language, group=recipient.unit_code or "all",
                                    segments=segments, budget=settings.sms_segment_budget))  # fmt: skip
        return sent

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
