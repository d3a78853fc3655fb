"""The bulletin buttons, written once for every chat channel: 已阅 under a leader's copy records
the read, 同意 / 驳回 signs a draft off. The rules live in notifier.reporting.receipts and
notifier.bulletins.signoff; a refusal is the button's answer and changes nothing. Channels call
these with their Turn (notifier.reporting.conversation.Turn): bot/routers/governance.py for
Telegram, wecom/handlers.py for WeCom.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from models import Person
from notifier.core.errors import GuatuError
from notifier.core.settings import Settings
from notifier.core.texts import t
from notifier.reporting.conversation import Turn


async def read_pressed(
    session: AsyncSession, turn: Turn, *, person: Person, bulletin_id: int, via: str, now: datetime, lang: str
) -> None:
    """已阅: recorded once (commits); pressed again, the answer says it was read already."""
    from notifier.reporting.receipts import ReceiptError, record_read

    assert person.id is not None
    try:
        first = await record_read(session, bulletin_id=bulletin_id, person_id=person.id, via=via, now=now)
    except ReceiptError as exc:
        await turn.alert(str(exc))
        return
    await session.commit()
    await turn.ack(t("approval.read" if first else "approval.read_again", lang, id=bulletin_id),
                   label=t("wecom.read_done", lang))  # fmt: skip


async def decision_pressed(
    session: AsyncSession, turn: Turn, *, settings: Settings, person: Person | None, bulletin_id: int,
    approve: bool, channel: str, now: datetime, lang: str, telegram_admin: bool = False,
) -> None:  # fmt: skip
    """同意 / 驳回 on a draft (commits); refused (not an approver, the second of two-person sign-off
    being the first, a draft replaced...) with the reason, audit-logged by signoff."""
    from notifier.bulletins.signoff import approve_bulletin, reject_bulletin

    decide = approve_bulletin if approve else reject_bulletin
    try:
        bulletin = await decide(session, settings=settings, bulletin_id=bulletin_id, person=person,
                                channel=channel, telegram_admin=telegram_admin, now=now)  # fmt: skip
    except GuatuError as exc:
        await turn.alert(str(exc))
        return
    await session.commit()
    send_at = bulletin.send_at.astimezone(settings.tz).strftime("%m-%d %H:%M") if bulletin.send_at else "—"
    key, label = (
        ("approval.approved", "wecom.approved_done")
        if approve
        else ("approval.rejected", "wecom.rejected_done")
    )
    await turn.ack(t(key, lang, id=bulletin.id, send_at=send_at), label=t(label, lang), keep=True)
