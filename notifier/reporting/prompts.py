"""The weekly round in chat: the prompt per project, the reminder, and the deadline round. With a
PersonChat (WeCom on) each person is reached through their channel order; else in Telegram.

Prompts are recorded as WeekPrompt rows (they define "missed a report"); sending is idempotent per
project and week, so a rerun of a job never messages anyone twice.
"""

from __future__ import annotations

import hashlib
import html
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Campaign, CampaignKind, CampaignState, Person, ProgressReport, Project, WeekPrompt
from notifier.core.chat import Buttons, ChatSender, PersonChat
from notifier.core.errors import GuatuError
from notifier.core.settings import Settings
from notifier.core.texts import t
from notifier.reporting.reports import report_deadline


@dataclass
class RoundResult:
    """What a round did; `str()` is the one-line summary a job returns."""

    chat: int = 0
    no_chat: int = 0
    blocked: int = 0
    skipped: int = 0
    sms_campaigns: list[int] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        parts = [f"chat {self.chat}", f"not in chat {self.no_chat}", f"blocked {self.blocked}",
                 f"already done {self.skipped}"]  # fmt: skip
        if self.sms_campaigns:
            parts.append("sms campaigns " + ",".join(map(str, self.sms_campaigns)))
        return "; ".join(parts + self.notes)


def report_button(project_id: int, week: str, lang: str) -> Buttons:
    """The inline button under a prompt (callback data as bot/callbacks.ReportCallback packs it)."""
    return [[(t("bot.prompt.button", lang), f"rep:{project_id}:{week}")]]


def _deadline_text(settings: Settings, week: str) -> str:
    return report_deadline(settings, week).astimezone(settings.tz).strftime("%m-%d %H:%M")


def _chat_reaches(chat: ChatSender, person: Person) -> bool:
    """Whether to try chat for the person: always through a PersonChat (it knows their channels),
    else when they are in Telegram and have not blocked the bot."""
    return isinstance(chat, PersonChat) or (person.telegram_id is not None and not person.telegram_blocked)


async def _send(
    chat: ChatSender, session: AsyncSession, person: Person, text: str, buttons: Buttons | None
) -> bool:
    """Send; a blocked bot marks the person so that others fall back to SMS."""
    if isinstance(chat, PersonChat):
        assert person.id is not None
        return await chat.send_to_person(person.id, text=text, buttons=buttons)
    assert person.telegram_id is not None
    if await chat.send_text(telegram_id=person.telegram_id, text=text, buttons=buttons):
        return True
    person.telegram_blocked = True
    session.add(person)
    return False


async def send_weekly_prompts(
    session: AsyncSession,
    *,
    settings: Settings,
    chat: ChatSender,
    week: str,
    now: datetime,
    redis: Any = None,
) -> RoundResult:
    """One prompt per active project to its lead, with a report button; WeekPrompt rows for all; leads
    not on Telegram (or who blocked the bot) get an SMS with signed form links when `redis` is given; commits."""
    result = RoundResult()
    by_sms: list[tuple[Person, Project]] = []
    deadline = report_deadline(settings, week)
    done = set((await session.exec(select(WeekPrompt.project_id).where(WeekPrompt.week == week))).all())
    rows = await session.exec(
        select(Project, Person)
        .join(Person, col(Person.id) == col(Project.lead_id))
        .where(col(Project.active).is_(True))
        .order_by(col(Project.code))
    )
    for project, lead in rows.all():
        assert project.id is not None
        if project.id in done:
            result.skipped += 1
            continue
        session.add(WeekPrompt(project_id=project.id, week=week, prompted_at=now, deadline=deadline))
        if lead.telegram_id is None and not isinstance(chat, PersonChat):
            result.no_chat += 1
            by_sms.append((lead, project))
            continue
        if not _chat_reaches(chat, lead):
            result.blocked += 1
            by_sms.append((lead, project))
            continue
        await _ask(chat, session, settings, "bot.prompt.text", lead, project, week, result, by_sms)
    await session.commit()
    await _sms_links(session, redis, settings=settings, week=week, step="prompt", rows=by_sms, result=result)
    return result


async def _ask(
    chat: ChatSender, session: AsyncSession, settings: Settings, key: str, lead: Person, project: Project,
    week: str, result: RoundResult, by_sms: list[tuple[Person, Project]],
) -> None:  # fmt: skip
    """Send a lead the prompt or reminder `key` with the report button; when chat does not take it,
    the lead goes to the SMS list."""
    assert project.id is not None
    text = t(key, lead.language, name=html.escape(lead.name), project=html.escape(project.name),
             code=html.escape(project.code), week=week, deadline=_deadline_text(settings, week))  # fmt: skip
    if await _send(chat, session, lead, text, report_button(project.id, week, lead.language)):
        result.chat += 1
        return
    if isinstance(chat, PersonChat):  # none of the person's chat channels took it
        result.no_chat += 1
    else:
        result.blocked += 1
    by_sms.append((lead, project))


async def missing_reports(session: AsyncSession, *, week: str) -> list[tuple[WeekPrompt, Project, Person]]:
    """Prompted projects of `week` without a current report, with their leads."""
    rows = await session.exec(
        select(WeekPrompt, Project, Person)
        .join(Project, col(Project.id) == col(WeekPrompt.project_id))
        .join(Person, col(Person.id) == col(Project.lead_id))
        .outerjoin(
            ProgressReport,
            and_(
                col(ProgressReport.project_id) == col(WeekPrompt.project_id),
                col(ProgressReport.week) == col(WeekPrompt.week),
                col(ProgressReport.is_current).is_(True),
            ),
        )
        .where(WeekPrompt.week == week, col(ProgressReport.id).is_(None), col(Project.active).is_(True))
        .order_by(col(Project.code))
    )
    return list(rows.all())


async def remind_leads(
    session: AsyncSession,
    *,
    settings: Settings,
    chat: ChatSender,
    week: str,
    now: datetime,
    redis: Any = None,
) -> RoundResult:
    """Remind, once, each lead whose prompted project has no report yet (by SMS with form links for those
    not on Telegram, when `redis` is given); commits."""
    result = RoundResult()
    by_sms: list[tuple[Person, Project]] = []
    for prompt, project, lead in await missing_reports(session, week=week):
        assert project.id is not None
        if prompt.reminded_at is not None:
            result.skipped += 1
            continue
        prompt.reminded_at = now
        session.add(prompt)
        if not _chat_reaches(chat, lead):
            result.no_chat += 1
            by_sms.append((lead, project))
            continue
        await _ask(chat, session, settings, "bot.remind.text", lead, project, week, result, by_sms)
    await session.commit()
    await _sms_links(
        session, redis, settings=settings, week=week, step="reminder", rows=by_sms, result=result
    )
    return result


async def _sms_links(
    session: AsyncSession, redis: Any, *, settings: Settings, week: str, step: str,
    rows: list[tuple[Person, Project]], result: RoundResult,
) -> None:  # fmt: skip
    """One SMS per lead (one campaign per week and step) listing a signed form link per project."""
    from notifier.reporting.links import report_link
    from notifier.sending.campaigns import create_campaign, queue_campaign

    rows = [(lead, project) for lead, project in rows if lead.phone]
    if redis is None or not rows:
        return
    lines: dict[int | None, list[str]] = defaultdict(list)
    for lead, project in rows:
        assert lead.id is not None and project.id is not None
        lines[lead.id].append(
            f"{project.name} {report_link(settings, person_id=lead.id, project_id=project.id, week=week)}"
        )
    deadline = _deadline_text(settings, week)

    def render(recipient: Any) -> str:
        return t(f"bot.{step}.sms", recipient.language, week=week, deadline=deadline,
                 links=";".join(lines.get(recipient.person_id, [])))  # fmt: skip

    campaign = await create_campaign(
        session, settings=settings, kind=CampaignKind.REMINDER,
        text=t(f"bot.{step}.sms", settings.language, week=week, deadline=deadline, links="…"),
        audience="phones:" + ",".join(sorted({lead.phone for lead, _ in rows if lead.phone})),
        title=f"{step} {week}", dedupe_key=f"{step}-sms:{week}:{_digest(project.id for _, project in rows)}",
        render=render,
    )  # fmt: skip
    await session.commit()
    assert campaign.id is not None
    if campaign.state == CampaignState.DRAFT:
        await queue_campaign(session, redis, settings=settings, campaign_id=campaign.id)
    result.sms_campaigns.append(campaign.id)


def _digest(project_ids: Iterable[int | None]) -> str:
    """Names a set of projects in a dedupe key: a later round of the same week for other projects
    (projects imported after `start_round_now`, then the calendar's round) gets its own SMS campaign."""
    return hashlib.sha1(",".join(map(str, sorted(i or 0 for i in project_ids))).encode()).hexdigest()[:12]


async def deadline_round(
    session: AsyncSession, redis: Any, *, settings: Settings, chat: ChatSender, week: str
) -> RoundResult:
    """At the deadline: SMS to leads still missing (one campaign per week, deduplicated) and a notice to
    each project's department contact naming who is missing (Telegram, else SMS); commits."""
    from notifier.sending.campaigns import create_campaign, queue_campaign

    result = RoundResult()
    missing = await missing_reports(session, week=week)
    if not missing:
        result.notes.append("nobody missing")
        return result
    phones = sorted({lead.phone for _, _, lead in missing if lead.phone})
    names: dict[str | None, list[str]] = defaultdict(list)
    for _, project, lead in missing:
        names[lead.phone].append(project.name)
    if phones:

        def render(recipient: Any) -> str:
            return t("bot.deadline.lead_sms", recipient.language, week=week,
                     projects="、".join(names.get(recipient.phone, [])))  # fmt: skip

        campaign = await create_campaign(
            session, settings=settings, kind=CampaignKind.REMINDER,
            text=t("bot.deadline.lead_sms", settings.language, week=week, projects="…"),
            audience="phones:" + ",".join(phones), title=f"deadline {week}",
            dedupe_key=f"deadline-leads:{week}", render=render,
        )  # fmt: skip
        await session.commit()
        assert campaign.id is not None
        if campaign.state == CampaignState.DRAFT:  # a rerun finds it queued or sending already
            await queue_campaign(session, redis, settings=settings, campaign_id=campaign.id)
        result.sms_campaigns.append(campaign.id)
    await _notify_contacts(session, redis, settings=settings, chat=chat, week=week, missing=missing,
                           result=result)  # fmt: skip
    await session.commit()
    return result


async def _notify_contacts(
    session: AsyncSession, redis: Any, *, settings: Settings, chat: ChatSender, week: str,
    missing: list[tuple[WeekPrompt, Project, Person]], result: RoundResult,
) -> None:  # fmt: skip
    """Each department contact hears which of their projects are missing and whose (Telegram, else SMS)."""
    from notifier.sending.campaigns import create_campaign, queue_campaign

    by_contact: dict[int, list[str]] = defaultdict(list)
    for _, project, lead in missing:
        if project.department_contact_id is not None:
            by_contact[project.department_contact_id].append(f"{project.name}({lead.name})")
    for contact_id, lines in sorted(by_contact.items()):
        contact = await session.get(Person, contact_id)
        if contact is None:
            continue
        listing = "、".join(lines)
        if _chat_reaches(chat, contact):
            text = t("bot.deadline.contact", contact.language, week=week, count=len(lines),
                     projects=html.escape(listing))  # fmt: skip
            if await _send(chat, session, contact, text, None):
                result.chat += 1
                continue
            result.blocked += 1
        if not contact.phone:
            result.no_chat += 1
            continue
        campaign = await create_campaign(
            session, settings=settings, kind=CampaignKind.REMINDER,
            text=t("bot.deadline.contact", contact.language, week=week, count=len(lines), projects=listing),
            audience=f"phones:{contact.phone}", title=f"deadline {week} contact",
            dedupe_key=f"deadline-contact:{week}:{contact_id}",
        )  # fmt: skip
        await session.commit()
        assert campaign.id is not None
        if campaign.state == CampaignState.DRAFT:  # a rerun finds it queued or sending already
            await queue_campaign(session, redis, settings=settings, campaign_id=campaign.id)
        result.sms_campaigns.append(campaign.id)


class RoundClosedError(GuatuError):
    """This week's reports are past their deadline: a prompt now would ask for what can no longer be sent."""


@dataclass
class RoundPlan:
    """What `start_round_now` would do for `week`, counted before anything is sent."""

    week: str
    deadline: datetime
    already: int = 0  # prompted before: not prompted again
    by_chat: int = 0  # leads in Telegram
    by_sms: int = 0  # leads not in Telegram (or who blocked the bot): an SMS with form links
    unreachable: int = 0  # leads with neither

    @property
    def to_prompt(self) -> int:
        return self.by_chat + self.by_sms + self.unreachable


def round_week(settings: Settings, *, now: datetime, as_of: date | None = None) -> str:
    """The week a round started now covers: the week of `as_of`, or of today in the office time zone;
    RoundClosedError when that week's deadline has passed."""
    from notifier.numbers.weeks import week_key

    week = week_key(as_of or now.astimezone(settings.tz).date())
    deadline = report_deadline(settings, week)
    if now >= deadline:
        raise RoundClosedError(
            t(
                "round.closed",
                settings.language,
                week=week,
                deadline=f"{deadline.astimezone(settings.tz):%Y-%m-%d %H:%M}",
            )
        )
    return week


async def plan_round_now(
    session: AsyncSession, *, settings: Settings, now: datetime, as_of: date | None = None
) -> RoundPlan:
    """Count, without sending, whom this week's round would prompt and how (the same rows as
    `send_weekly_prompts`)."""
    week = round_week(settings, now=now, as_of=as_of)
    plan = RoundPlan(week=week, deadline=report_deadline(settings, week))
    done = set((await session.exec(select(WeekPrompt.project_id).where(WeekPrompt.week == week))).all())
    rows = await session.exec(
        select(Project.id, Person.telegram_id, Person.telegram_blocked, Person.phone)
        .join(Person, col(Person.id) == col(Project.lead_id))
        .where(col(Project.active).is_(True))
    )
    for project_id, telegram_id, blocked, phone in rows.all():
        if project_id in done:
            plan.already += 1
        elif telegram_id is not None and not blocked:
            plan.by_chat += 1
        elif phone:
            plan.by_sms += 1
        else:
            plan.unreachable += 1
    return plan


async def start_round_now(
    session: AsyncSession,
    *,
    settings: Settings,
    chat: ChatSender,
    now: datetime,
    as_of: date | None = None,
    redis: Any = None,
) -> RoundResult:
    """This week's prompt round, now rather than on the calendar's day (an office starting mid-week,
    or a round the calendar missed). Each project is prompted at most once a week, so running it twice,
    or the calendar's own round later, prompts nobody again. Leads not in Telegram get their SMS when
    `redis` (the queue) is given. RoundClosedError after the week's deadline; commits."""
    week = round_week(settings, now=now, as_of=as_of)
    return await send_weekly_prompts(session, settings=settings, chat=chat, week=week, now=now, redis=redis)


@dataclass
class TestPrompt:
    """This week's prompt SMS as it would reach `phone` (E.164): a dry run to one's own number."""

    __test__ = False  # not a pytest test class

    week: str
    phone: str
    text: str


async def compose_test_prompt(
    session: AsyncSession, *, settings: Settings, phone: str, now: datetime, as_of: date | None = None
) -> TestPrompt:
    """The SMS a lead not in Telegram gets for this week's prompt, addressed to `phone`: with the
    form links of that person's own projects when they lead any, else a sample line (no valid link).
    PhoneError for a malformed number; RoundClosedError after the week's deadline."""
    from notifier.core.phones import parse_phone
    from notifier.reporting.links import report_link

    e164 = parse_phone(phone)
    week = round_week(settings, now=now, as_of=as_of)
    person = (await session.exec(select(Person).where(Person.phone == e164))).first()
    lang = person.language if person is not None else settings.language
    own: list[Project] = []
    if person is not None:
        own = list((await session.exec(select(Project).where(col(Project.lead_id) == person.id,
                    col(Project.active).is_(True)).order_by(col(Project.code)))).all())  # fmt: skip
    if own and person is not None and person.id is not None:
        person_id = person.id
        links = ";".join(f"{p.name} {report_link(settings, person_id=person_id, project_id=p.id or 0, week=week)}"
                         for p in own)  # fmt: skip
    else:
        sample = (await session.exec(select(Project.name).where(col(Project.active).is_(True))
                                     .order_by(col(Project.code)))).first()  # fmt: skip
        base = (settings.public_base_url or "").rstrip("/")
        links = f"{sample or t('round.test_sample_project', lang)} {base}/r/…"
    text = t("bot.prompt.sms", lang, week=week, deadline=_deadline_text(settings, week), links=links)
    return TestPrompt(week=week, phone=e164, text=text)


async def send_test_prompt(
    session: AsyncSession,
    redis: Any,
    *,
    settings: Settings,
    prompt: TestPrompt,
    created_by_id: int | None = None,
    title: str | None = None,
) -> Campaign:
    """Send `prompt` through the ordinary campaign path (opt-out, daily cap, templates, quiet hours
    apply as for the leads); no project is marked prompted. Returns the queued Campaign; commits."""
    from notifier.sending.campaigns import create_campaign, queue_campaign

    campaign = await create_campaign(session, settings=settings, kind=CampaignKind.REMINDER, text=prompt.text,
                                     audience=f"phones:{prompt.phone}", title=title or f"test prompt {prompt.week}",
                                     created_by_id=created_by_id)  # fmt: skip
    await session.commit()
    assert campaign.id is not None
    return await queue_campaign(session, redis, settings=settings, campaign_id=campaign.id)
