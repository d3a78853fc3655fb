"""Read receipts (已阅): a Telegram button or a short signed link in the SMS records the read.

The link names the bulletin and the person and carries a truncated HMAC of both, so it is short
enough for an SMS and cannot be altered to record a read for someone else.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Bulletin, BulletinRead, BulletinRecipient, BulletinState, utcnow
from notifier.core.errors import GuatuError

SIG_LENGTH = 12


class ReceiptError(GuatuError):
    """A read that cannot be recorded (bad link, not a recipient)."""


def read_signature(secret: str, bulletin_id: int, person_id: int) -> str:
    digest = hmac.new(secret.encode(), f"read:{bulletin_id}:{person_id}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode()[:SIG_LENGTH]


def read_path(secret: str, bulletin_id: int, person_id: int) -> str:
    """The path of a leader's read link: /r/<bulletin>/<person>/<signature>."""
    return f"/r/{bulletin_id}/{person_id}/{read_signature(secret, bulletin_id, person_id)}"


def verify_read_signature(secret: str, bulletin_id: int, person_id: int, signature: str) -> bool:
    return hmac.compare_digest(read_signature(secret, bulletin_id, person_id), signature)


async def record_read(
    session: AsyncSession, *, bulletin_id: int, person_id: int, via: str, now: datetime | None = None
) -> bool:
    """Record that a recipient read a sent bulletin; True the first time, False when already recorded."""
    bulletin = await session.get(Bulletin, bulletin_id)
    if bulletin is None or bulletin.state != BulletinState.SENT:
        raise ReceiptError("没有这份已发送的通报 / no such sent bulletin")
    recipient = (
        await session.exec(
            select(BulletinRecipient.id).where(
                BulletinRecipient.bulletin_id == bulletin_id, BulletinRecipient.person_id == person_id
            )
        )
    ).first()
    if recipient is None:
        raise ReceiptError("这份通报没有发给您 / this bulletin was not sent to you")
    existing = (
        await session.exec(
            select(BulletinRead.id).where(
                BulletinRead.bulletin_id == bulletin_id, BulletinRead.person_id == person_id
            )
        )
    ).first()
    if existing is not None:
        return False
    try:
        async with session.begin_nested():
            session.add(
                BulletinRead(bulletin_id=bulletin_id, person_id=person_id, via=via, at=now or utcnow())
            )
    except IntegrityError:  # a concurrent tap of the same button
        return False
    return True


async def unread_recipients(session: AsyncSession, *, bulletin_id: int) -> list[BulletinRecipient]:
    """Recipients of a bulletin who have not acknowledged it."""
    read = select(BulletinRead.person_id).where(BulletinRead.bulletin_id == bulletin_id)
    return list(
        (
            await session.exec(
                select(BulletinRecipient).where(
                    BulletinRecipient.bulletin_id == bulletin_id,
                    col(BulletinRecipient.person_id).not_in(read),
                )
            )
        ).all()
    )
