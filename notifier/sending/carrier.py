"""China's carrier rules applied at preview and at send time.

- Every message carries the signature (【...】) — added by the send path, checked here.
- At most 8 segments / 500 characters per message: refused at preview, before anything is sent.
- The same text to one number at most twice in 24 hours (carriers reject the third as spam).
- At most SMS_DAILY_CAP_PER_NUMBER messages to one number per day across all campaigns; a
  recipient over it is held to the next day and counted, never dropped.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Delivery, DeliveryState
from notifier.core.errors import GuatuError

MAX_SEGMENTS = 8
MAX_CHARACTERS = 500
SAME_TEXT_PER_24H = 2
# Deliveries that count as "sent to that number": accepted by a provider, or being handed over.
_COUNTED = (DeliveryState.SENDING, DeliveryState.SENT, DeliveryState.DELIVERED, DeliveryState.UNDELIVERED)


class MessageTooLongError(GuatuError):
    """The message breaks the carriers' length limit; says by how much."""


class MissingSignatureError(GuatuError):
    """A message to a mainland number without the office's signature."""


def check_length(text: str) -> None:
    """Refuse a message (signature included) over 8 segments or 500 characters."""
    from notifier.sending.segments import segment_info

    info = segment_info(text)
    if info.characters > MAX_CHARACTERS or info.segments > MAX_SEGMENTS:
        raise MessageTooLongError(
            f"短信过长:{info.characters} 字、{info.segments} 条,运营商上限为 {MAX_CHARACTERS} 字、"
            f"{MAX_SEGMENTS} 条;请删减后再预览 / message too long: {info.characters} characters, "
            f"{info.segments} segments (limit {MAX_CHARACTERS} characters, {MAX_SEGMENTS} segments)"
        )


@dataclass(frozen=True)
class Hold:
    """A delivery that may not go now, why, and when it may."""

    phone: str
    reason: str  # "daily_cap" or "same_text_24h"
    until: datetime


def next_day_start(now: datetime, tz: ZoneInfo, morning: time = time(8, 0)) -> datetime:
    """The next calendar day in the office time zone, at `morning` (quiet hours end by default)."""
    local = now.astimezone(tz)
    return datetime.combine(local.date() + timedelta(days=1), morning, tzinfo=tz)


async def carrier_holds(
    session: AsyncSession,
    *,
    messages: dict[str, str],
    now: datetime,
    tz: ZoneInfo,
    daily_cap: int,
    morning: time = time(8, 0),
    exclude_ids: Collection[int] = (),
) -> dict[str, Hold]:
    """Which of `messages` (phone -> body) must wait, judged on what was sent in the last day.

    `exclude_ids`: the deliveries being judged, already claimed (`sending`), so they do not count
    against themselves.
    """
    if not messages:
        return {}
    day_start = datetime.combine(now.astimezone(tz).date(), time(0, 0), tzinfo=tz)
    since = min(day_start, now - timedelta(hours=24))
    rows = (
        await session.exec(
            select(Delivery.phone, Delivery.body, Delivery.sent_at, Delivery.claimed_at).where(
                col(Delivery.phone).in_(list(messages)),
                col(Delivery.state).in_(_COUNTED),
                col(Delivery.claimed_at) >= since,
                col(Delivery.id).not_in(list(exclude_ids)),
            )
        )
    ).all()
    today: dict[str, int] = defaultdict(int)
    same: dict[str, list[datetime]] = defaultdict(list)
    for phone, body, sent_at, claimed_at in rows:
        at = sent_at or claimed_at
        if at is None:
            continue
        if at >= day_start:
            today[phone] += 1
        if body == messages[phone] and at >= now - timedelta(hours=24):
            same[phone].append(at)
    holds: dict[str, Hold] = {}
    for phone in messages:
        if len(same[phone]) >= SAME_TEXT_PER_24H:
            holds[phone] = Hold(phone, "same_text_24h", min(same[phone]) + timedelta(hours=24))
        elif today[phone] >= daily_cap:
            holds[phone] = Hold(phone, "daily_cap", next_day_start(now, tz, morning))
    return holds
