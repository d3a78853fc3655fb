"""Bulletins in chat: approvers asked to sign drafts off (and reminded), leaders' copies with an
已阅 button, and read reminders; and the admins told when a mass send paused or met a code the
provider never documented — in Telegram, and in WeCom when the sender routes by person
(notifier.core.chat.send_chat), each person by their channel order.

Every message here goes at most once per bulletin and person: a JobRun key is taken before the
send (notifier.core.jobruns.run_once), so a job that runs twice — two workers, a restart — sends
nothing the second time. The callback data is packed the way bot/callbacks.py's
DecisionCallback ("bd:<bulletin>:<1|0>") and ReadCallback ("rd:<bulletin>") unpack it.
"""

from __future__ import annotations

import hashlib
import html
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import (
    Bulletin,
    BulletinRecipient,
    BulletinState,
    Campaign,
    CampaignState,
    JobRun,
    Person,
    Role,
    utcnow,
)
from notifier.bulletins.compose import describe_dropped
from notifier.core.chat import Buttons, ChatSender, chat_reach, send_chat
from notifier.core.jobruns import run_once
from notifier.core.settings import Settings
from notifier.core.texts import t
from notifier.reporting.receipts import unread_recipients

log = logging.getLogger("guatu.approvals")

APPROVER_ROLES = (Role.ADMIN, Role.APPROVER)
# Telegram refuses messages over 4096 characters; the HTML copy is cut below that.
TELEGRAM_LIMIT = 4000


def decision_buttons(bulletin_id: int, lang: str) -> Buttons:
    return [
        [
            (t("approval.approve", lang), f"bd:{bulletin_id}:1"),
            (t("approval.reject", lang), f"bd:{bulletin_id}:0"),
        ]
    ]


def read_buttons(bulletin_id: int, lang: str) -> Buttons:
    return [[(t("approval.read_button", lang), f"rd:{bulletin_id}")]]


@dataclass(frozen=True)
class Chat:
    telegram_id: int | None  # None: reached by person through their channel order (WeCom)
    person_id: int | None
    lang: str


def _chat(person: Person) -> Chat:
    return Chat(None if person.telegram_blocked else person.telegram_id, person.id, person.language)


async def _send(chat: ChatSender, c: Chat, text: str, buttons: Buttons | None = None) -> bool:
    return await send_chat(chat, person_id=c.person_id, telegram_id=c.telegram_id, text=text, buttons=buttons)


async def approver_chats(
    session: AsyncSession,
    *,
    settings: Settings,
    chat: object = None,
    roles: tuple[Role, ...] = APPROVER_ROLES,
) -> list[Chat]:
    """Admins and approvers (or `roles`) `chat` can reach (bound to Telegram; or in WeCom when
    `chat` routes by person), plus TELEGRAM_ADMIN_IDS (once each)."""
    people = (await session.exec(select(Person).where(col(Person.role).in_(roles), chat_reach(chat)))).all()
    chats = {("person", p.id): _chat(p) for p in people}
    bound = {c.telegram_id for c in chats.values()}
    for telegram_id in settings.telegram_admin_ids:
        if telegram_id not in bound:
            chats[("telegram", telegram_id)] = Chat(telegram_id, None, settings.language)
    return sorted(chats.values(), key=lambda c: (c.telegram_id is None, c.telegram_id or 0, c.person_id or 0))


def _headline(bulletin: Bulletin, lang: str) -> str:
    numbers = json.loads(bulletin.numbers_json)
    overall = numbers.get("overall", {})
    # Drafts composed before the rates' text was stored have no "text": they show "—".
    text = numbers.get("text", {}).get("overall", {})
    return t("approval.headline", lang, projects=overall.get("projects", 0), start=text.get("start_rate", "—"),
             procedure=text.get("procedure_rate", "—"), investment=text.get("investment_rate", "—"),
             black=len(numbers.get("black_list", [])), red=len(numbers.get("red_list", [])))  # fmt: skip


def variants_text(numbers: dict[str, Any], *, sms_text: str, lang: str, room: int) -> str:
    """What approvers check besides the generic text (HTML): the variant that costs most as sent,
    with its segments and what the composer left out of it, and each unit's own line. Unit lines
    that would take the message past `room` characters are counted, not shown."""
    longest = numbers.get("longest")
    if not longest:
        return ""  # composed before variants were recorded
    names = {u.get("code"): u.get("name", "") for u in numbers.get("units", [])}
    group = str(longest.get("group", "all"))
    who = t("approval.group_all", lang) if group == "all" else f"{group} {names.get(group, '')}".strip()
    parts = [t("approval.longest", lang, group=html.escape(who), segments=longest.get("segments", "—"),
               characters=longest.get("characters", "—"))]  # fmt: skip
    if longest.get("sms") and longest["sms"] != sms_text:
        parts.append(html.escape(longest["sms"]))
    dropped = list(longest.get("dropped") or [])
    parts.append(t("approval.dropped", lang, items=html.escape(describe_dropped(dropped, lang))) if dropped
                 else t("approval.dropped_none", lang))  # fmt: skip
    lines = list((numbers.get("unit_lines") or {}).values())
    if not lines:
        return "\n".join(parts)
    text = "\n".join([*parts, t("approval.unit_lines", lang)])
    rest = t("approval.unit_lines_rest", lang, count=len(lines))
    shown = 0
    for line in lines:
        item = f"\n• {html.escape(line)}"
        if len(text) + len(item) + len(rest) + 1 > room:
            break
        text += item
        shown += 1
    if shown < len(lines):
        text += "\n" + t("approval.unit_lines_rest", lang, count=len(lines) - shown)
    return text


def approval_text(bulletin: Bulletin, *, settings: Settings, recipients: int, lang: str) -> str:
    """The sign-off request: the generic SMS, then the longest variant and each unit's line."""
    text = t("approval.ask", lang, id=bulletin.id, period=html.escape(bulletin.period_key),
             send_at=_when(bulletin.send_at, settings), recipients=recipients,
             headline=_headline(bulletin, lang), sms=html.escape(bulletin.sms_text))  # fmt: skip
    details = variants_text(json.loads(bulletin.numbers_json), sms_text=bulletin.sms_text, lang=lang,
                            room=TELEGRAM_LIMIT - len(text) - 2)  # fmt: skip
    return f"{text}\n\n{details}" if details else text


async def _recipient_count(session: AsyncSession, *, settings: Settings) -> int:
    from notifier.sending.audiences import resolve_audience

    return len((await resolve_audience(session, settings=settings, audience="all-leaders")).recipients)


def _when(moment: datetime | None, settings: Settings) -> str:
    return moment.astimezone(settings.tz).strftime("%m-%d %H:%M") if moment else "—"


async def ask_approvers(
    session: AsyncSession, chat: ChatSender, *, settings: Settings, bulletin_id: int
) -> int:
    """Send a draft to every approver with Approve / Reject buttons (once per bulletin)."""
    bulletin = await session.get(Bulletin, bulletin_id)
    if bulletin is None or bulletin.state != BulletinState.DRAFT:
        return 0
    chats = await approver_chats(session, settings=settings, chat=chat)
    if not chats or not await run_once(session, key=f"approval-ask:{bulletin_id}"):
        return 0
    recipients = await _recipient_count(session, settings=settings)
    sent = 0
    for c in chats:
        text = approval_text(bulletin, settings=settings, recipients=recipients, lang=c.lang)
        sent += await _send(chat, c, text, decision_buttons(bulletin_id, c.lang))
    log.info("bulletin %s: %s approvers asked", bulletin_id, sent)
    return sent


async def ask_for_new_drafts(session: AsyncSession, chat: ChatSender, *, settings: Settings) -> int:
    """Ask the approvers about every draft not asked about yet, wherever it was composed (the
    calendar, the bot, the web console, the command line)."""
    drafts = (await session.exec(select(Bulletin.id).where(Bulletin.state == BulletinState.DRAFT))).all()
    sent = 0
    for bulletin_id in drafts:
        if bulletin_id is not None and await session.get(JobRun, f"approval-ask:{bulletin_id}") is None:
            sent += await ask_approvers(session, chat, settings=settings, bulletin_id=bulletin_id)
    return sent


async def remind_approvers(
    session: AsyncSession, chat: ChatSender, *, settings: Settings, now: datetime | None = None
) -> int:
    """Drafts still undecided within APPROVAL_REMIND_MINUTES of their send time: remind once."""
    now = now or utcnow()
    soon = now + timedelta(minutes=settings.approval_remind_minutes)
    drafts = (
        await session.exec(
            select(Bulletin).where(
                Bulletin.state == BulletinState.DRAFT,
                col(Bulletin.send_at).is_not(None),
                col(Bulletin.send_at) <= soon,
                col(Bulletin.send_at) > now,
            )
        )
    ).all()
    sent = 0
    for bulletin in drafts:
        if not await run_once(session, key=f"approval-remind:{bulletin.id}"):
            continue
        for c in await approver_chats(session, settings=settings, chat=chat):
            text = t("approval.remind", c.lang, id=bulletin.id, send_at=_when(bulletin.send_at, settings))
            sent += await _send(chat, c, text, decision_buttons(bulletin.id or 0, c.lang))
    return sent


async def tell_expired(
    session: AsyncSession, chat: ChatSender, *, settings: Settings, bulletins: list[Bulletin]
) -> int:
    """Tell the approvers that a draft passed its send time unapproved and was not sent."""
    sent = 0
    for bulletin in bulletins:
        if not await run_once(session, key=f"approval-expired:{bulletin.id}"):
            continue
        for c in await approver_chats(session, settings=settings, chat=chat):
            text = t("approval.expired", c.lang, id=bulletin.id, send_at=_when(bulletin.send_at, settings))
            sent += await _send(chat, c, text)
    return sent


async def tell_blocked(
    session: AsyncSession, chat: ChatSender, *, settings: Settings, blocked: list[tuple[int, str]]
) -> int:
    """Tell the approvers, once per bulletin, that an approved bulletin could not be sent and why."""
    sent = 0
    for bulletin_id, reason in blocked:
        if not await run_once(session, key=f"release-blocked:{bulletin_id}"):
            continue
        for c in await approver_chats(session, settings=settings, chat=chat):
            text = t("approval.blocked", c.lang, id=bulletin_id, reason=html.escape(reason))
            sent += await _send(chat, c, text)
    return sent


# A campaign's notice is told while the campaign is live, or within a day of its end (an unknown code
# met by its last batch).
NOTICE_WINDOW = timedelta(days=1)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def paused_key(campaign_id: int, reason: str) -> str:
    """The JobRun key of telling admins a campaign paused for `reason` (resume_campaign deletes it,
    so a campaign paused again after a resume is told again)."""
    from notifier.sending.campaigns import pause_told_prefix

    return pause_told_prefix(campaign_id) + _digest(reason)


async def tell_campaign_notices(
    session: AsyncSession, chat: ChatSender, *, settings: Settings, now: datetime | None = None
) -> int:
    """Tell the admins (role admin, and TELEGRAM_ADMIN_IDS) what a mass send needs from them: a
    campaign paused by the provider's answer, with the reason; a notice while it goes on (an
    unknown code held, a text the provider refused). Each once per campaign and text."""
    now = now or utcnow()
    live = (CampaignState.QUEUED, CampaignState.SENDING, CampaignState.PAUSED)
    campaigns = (
        await session.exec(
            select(Campaign)
            .where(
                or_(
                    and_(col(Campaign.state) == CampaignState.PAUSED, col(Campaign.pause_reason).is_not(None)),
                    and_(col(Campaign.notice).is_not(None),
                         or_(col(Campaign.state).in_(live), col(Campaign.finished_at) >= now - NOTICE_WINDOW)),
                )
            )
            .order_by(col(Campaign.id))
        )
    ).all()  # fmt: skip
    # Read before any claim: a claim taken already rolls the session back, which expires the rows.
    notices = [notice for campaign in campaigns for notice in _campaign_notices(campaign)]
    sent = 0
    for notice in notices:
        if not await run_once(session, key=notice.run_key):
            continue
        for c in await approver_chats(session, settings=settings, chat=chat, roles=(Role.ADMIN,)):
            body = t(notice.key, c.lang, id=notice.campaign_id, title=html.escape(notice.title or "—"),
                     text=html.escape(notice.text))  # fmt: skip
            sent += await _send(chat, c, body)
    return sent


@dataclass(frozen=True)
class _Notice:
    campaign_id: int
    title: str
    key: str  # the text catalogue key
    text: str  # the reason or notice, as stored
    run_key: str  # the JobRun key that makes it told once


def _campaign_notices(campaign: Campaign) -> list[_Notice]:
    """What an admin must hear about `campaign`."""
    campaign_id, notices = campaign.id or 0, []
    if campaign.state == CampaignState.PAUSED and campaign.pause_reason:
        notices.append(_Notice(campaign_id, campaign.title, "approval.campaign_paused", campaign.pause_reason,
                               paused_key(campaign_id, campaign.pause_reason)))  # fmt: skip
    if campaign.notice:
        notices.append(_Notice(campaign_id, campaign.title, "approval.campaign_notice", campaign.notice,
                               f"campaign-notice:{campaign_id}:{_digest(campaign.notice)}"))  # fmt: skip
    return notices


async def _leader_chats(
    session: AsyncSession, *, bulletin_id: int, person_ids: list[int] | None = None, chat: object = None
) -> list[Chat]:
    query = (
        select(Person)
        .join(BulletinRecipient, col(BulletinRecipient.person_id) == col(Person.id))
        .where(BulletinRecipient.bulletin_id == bulletin_id, chat_reach(chat))
    )
    if person_ids is not None:
        query = query.where(col(Person.id).in_(person_ids))
    people = (await session.exec(query)).all()
    return [_chat(p) for p in people]


def _cut(text: str) -> str:
    return text if len(text) <= TELEGRAM_LIMIT else text[:TELEGRAM_LIMIT] + "…"


async def send_telegram_copies(session: AsyncSession, chat: ChatSender, *, bulletin_id: int) -> int:
    """The HTML copy with an 已阅 button to each recipient with a bound Telegram account (once each)."""
    bulletin = await session.get(Bulletin, bulletin_id)
    if bulletin is None or bulletin.state != BulletinState.SENT:
        return 0
    sent = 0
    for c in await _leader_chats(session, bulletin_id=bulletin_id, chat=chat):
        if not await run_once(session, key=f"bulletin-copy:{bulletin_id}:{c.person_id}"):
            continue
        sent += await _send(chat, c, _cut(bulletin.html), read_buttons(bulletin_id, c.lang))
    return sent


async def send_pending_copies(session: AsyncSession, chat: ChatSender, *, now: datetime | None = None) -> int:
    """Telegram copies of every bulletin sent in the last day whose copies have not all gone out
    (a worker stopped between the SMS release and the copies finishes them on the next run)."""
    since = (now or utcnow()) - timedelta(days=1)
    ids = (
        await session.exec(
            select(Bulletin.id).where(Bulletin.state == BulletinState.SENT, col(Bulletin.sent_at) >= since)
        )
    ).all()
    sent = 0
    for bulletin_id in ids:
        if bulletin_id is None or await session.get(JobRun, f"bulletin-copies:{bulletin_id}") is not None:
            continue
        sent += await send_telegram_copies(session, chat, bulletin_id=bulletin_id)
        await run_once(session, key=f"bulletin-copies:{bulletin_id}")
    return sent


async def remind_unread(
    session: AsyncSession, chat: ChatSender, *, settings: Settings, now: datetime | None = None
) -> int:
    """READ_REMINDER_HOURS after a bulletin went out, remind each recipient who has not acknowledged
    it, once, in Telegram (recipients without a bound account have the link in their SMS)."""
    if settings.read_reminder_hours <= 0:
        return 0
    now = now or utcnow()
    due = now - timedelta(hours=settings.read_reminder_hours)
    bulletins = (
        await session.exec(
            select(Bulletin).where(
                Bulletin.state == BulletinState.SENT,
                col(Bulletin.sent_at) <= due,
                col(Bulletin.sent_at) > due - timedelta(days=7),
            )
        )
    ).all()
    sent = 0
    for bulletin in bulletins:
        unread = [r.person_id for r in await unread_recipients(session, bulletin_id=bulletin.id or 0)]
        if not unread:
            continue
        for c in await _leader_chats(session, bulletin_id=bulletin.id or 0, person_ids=unread, chat=chat):
            if not await run_once(session, key=f"read-remind:{bulletin.id}:{c.person_id}"):
                continue
            text = t("approval.read_remind", c.lang, id=bulletin.id, period=html.escape(bulletin.period_key))
            sent += await _send(chat, c, text, read_buttons(bulletin.id or 0, c.lang))
    return sent
