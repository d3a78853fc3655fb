"""What notifier needs from WeCom (the `WecomApi` protocol, implemented by wecom/), its errors, and
binding people to WeCom members by their mobile number (user/getuserid).

A number is looked up once. A miss is recorded (Person.wecom_state) and not asked again until an
admin runs `guatu wecom sync --recheck`: WeCom bars an app from the lookup for a day once too many
numbers it is asked about are wrong.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Person, WecomState, utcnow
from notifier.core.chat import Buttons
from notifier.core.errors import GuatuError

log = logging.getLogger("guatu.wecom")

# States after which WeCom is not tried for the person until a recheck.
MISSES = (WecomState.NO_USER, WecomState.NOT_VISIBLE)


class WecomError(GuatuError):
    """WeCom refused or failed a request. `code` is WeCom's errcode (None for HTTP and network
    failures); `transient` ones may succeed later (rate limit, system busy, network)."""

    def __init__(self, message: str, *, code: int | None = None, transient: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.transient = transient


class WecomUnreachableError(WecomError):
    """This app cannot reach the member: no member has the number, or the member is outside the
    app's visible range. Recorded on the person, never retried on its own."""

    def __init__(
        self, message: str, *, code: int | None = None, state: WecomState = WecomState.NO_USER
    ) -> None:
        super().__init__(message, code=code, transient=False)
        self.state = state


class WecomApi(Protocol):
    """The WeCom self-built app as notifier uses it."""

    async def userid_by_mobile(self, mobile: str) -> str:
        """The member's userid; WecomUnreachableError when WeCom has none the app may see."""
        ...

    async def send_chat(self, *, userid: str, text: str, buttons: Buttons | None = None) -> None:
        """A chat message (Telegram HTML is made plain) and, with buttons, a button card; raises
        WecomUnreachableError for a member the app cannot reach, WecomError otherwise."""
        ...


def wecom_mobile(phone: str) -> str:
    """The number as WeCom's directory holds it: mainland numbers without +86, others in E.164."""
    return phone.removeprefix("+86") if phone.startswith("+86") else phone


async def bind_wecom(
    session: AsyncSession,
    api: WecomApi,
    person: Person,
    *,
    now: datetime | None = None,
    recheck: bool = False,
) -> str | None:
    """The person's WeCom userid, looking their number up on first contact (the session is left
    with the change; the caller commits). None when there is no member to reach; a transient
    WecomError propagates and records nothing."""
    if person.wecom_userid and person.wecom_state == WecomState.BOUND and not recheck:
        return person.wecom_userid
    if not person.phone or (person.wecom_state in MISSES and not recheck):
        return None
    now = now or utcnow()
    try:
        userid = await api.userid_by_mobile(wecom_mobile(person.phone))
    except WecomUnreachableError as exc:
        person.wecom_state, person.wecom_checked_at = exc.state, now
        session.add(person)
        log.info("person %s: no WeCom member to reach for their number (%s)", person.id, exc.code)
        return None
    holder = (
        await session.exec(select(Person).where(Person.wecom_userid == userid, col(Person.id) != person.id))
    ).first()
    if holder is not None:
        # Two people cannot share one WeCom member; the office has to fix the list, not Guatu guess.
        log.warning("WeCom member %s is already bound to person %s, not to %s", userid, holder.id, person.id)
        raise WecomBindingConflictError(
            f"企业微信成员 {userid} 已绑定给 {holder.name},未绑定 {person.name} / "
            f"WeCom member {userid} is already bound to {holder.name}, not bound to {person.name}"
        )
    person.wecom_userid, person.wecom_state, person.wecom_checked_at = userid, WecomState.BOUND, now
    session.add(person)
    return userid


class WecomBindingConflictError(GuatuError):
    """The member found for a number is bound to someone else already."""


@dataclass
class SyncReport:
    """What `sync_wecom` did; `str()` is its one-line summary."""

    bound: int = 0
    already: int = 0
    no_user: int = 0
    not_visible: int = 0
    skipped: int = 0
    conflicts: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        parts = [f"newly bound {self.bound}", f"already bound {self.already}", f"no WeCom member {self.no_user}",
                 f"outside the app's visible range {self.not_visible}", f"not looked up {self.skipped}"]  # fmt: skip
        if self.conflicts:
            parts.append("conflicts: " + "; ".join(self.conflicts))
        return ", ".join(parts)


async def sync_wecom(
    session: AsyncSession, api: WecomApi, *, recheck: bool = False, now: datetime | None = None
) -> SyncReport:
    """Bind everyone with a number to their WeCom member (`guatu wecom sync`); each person is
    committed as they are done, so a stop halfway keeps what was found. Without `recheck`, people
    bound already and known misses are not asked about again."""
    report = SyncReport()
    people = (
        await session.exec(select(Person).where(col(Person.phone).is_not(None)).order_by(col(Person.id)))
    ).all()
    for person in people:
        was = (person.wecom_userid, person.wecom_state)
        if not recheck and (was[1] == WecomState.BOUND or was[1] in MISSES):
            report.already += was[1] == WecomState.BOUND
            report.skipped += was[1] in MISSES
            continue
        try:
            userid = await bind_wecom(session, api, person, now=now, recheck=recheck)
        except WecomBindingConflictError as exc:
            report.conflicts.append(str(exc))
            continue
        await session.commit()
        if userid is None:
            report.no_user += person.wecom_state == WecomState.NO_USER
            report.not_visible += person.wecom_state == WecomState.NOT_VISIBLE
        elif was == (userid, WecomState.BOUND):
            report.already += 1
        else:
            report.bound += 1
    return report


async def mark_unreachable(
    session: AsyncSession, person: Person, *, state: WecomState, now: datetime | None = None
) -> None:
    """WeCom refused to deliver to the person's member (not visible to the app, or gone): stop
    trying WeCom for them until a recheck; the binding is kept."""
    person.wecom_state, person.wecom_checked_at = state, now or utcnow()
    session.add(person)
