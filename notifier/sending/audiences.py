"""Audiences: who a campaign goes to.

A spec is a comma-separated union of selectors:
`all-leaders`, `all-leads`, `unit:CODE` (or the unit's name), `role:ROLE` (or 盟领导, 部门联系人, ...),
`black-list-leads`, `phones:+86...,+86...`
(numbers after `phones:` continue until the next selector). Resolution de-duplicates by E.164
number and reports opted-out and invalid numbers as skipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import LeaderLevel, OptOut, Person, Role, Unit
from notifier.core.errors import GuatuError
from notifier.core.phones import PhoneError, parse_mobile, parse_phone
from notifier.core.settings import Settings

# Role names as offices write them (the importer's words), each a role and, for leaders, a level.
ROLE_NAMES: dict[str, tuple[Role, LeaderLevel | None]] = {
    "盟领导": (Role.LEADER, LeaderLevel.LEAGUE), "包联盟领导": (Role.LEADER, LeaderLevel.LEAGUE),
    "旗区领导": (Role.LEADER, LeaderLevel.UNIT), "部门领导": (Role.LEADER, LeaderLevel.DEPARTMENT),
    "领导": (Role.LEADER, None), "包联领导": (Role.LEADER, None),
    "部门联系人": (Role.STAFF, None), "联系人": (Role.STAFF, None), "工作人员": (Role.STAFF, None),
    "项目负责人": (Role.LEAD, None), "负责人": (Role.LEAD, None),
    "管理员": (Role.ADMIN, None), "审核人": (Role.APPROVER, None),
}  # fmt: skip


def role_of(name: str) -> tuple[Role, LeaderLevel | None]:
    """A role selector's value (`leader`, `盟领导`, ...) as a role and an optional leader level."""
    value = name.strip()
    if value in ROLE_NAMES:
        return ROLE_NAMES[value]
    try:
        return Role(value.lower()), None
    except ValueError:
        names = "、".join([*(r.value for r in Role), *ROLE_NAMES])
        raise AudienceError(f"未知角色“{value}”,可用:{names} / unknown role") from None


class AudienceError(GuatuError):
    """An audience spec that cannot be resolved (unknown selector, unit or role)."""


@dataclass(frozen=True)
class Recipient:
    person_id: int | None
    name: str
    phone: str
    unit_id: int | None = None
    unit_code: str | None = None
    unit_name: str | None = None
    language: str = "zh"


@dataclass(frozen=True)
class Skipped:
    name: str
    phone: str
    reason: str  # opted_out | invalid_number | not_mobile | no_number


@dataclass
class AudienceResult:
    recipients: list[Recipient] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)

    def skipped_by_reason(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for s in self.skipped:
            counts[s.reason] = counts.get(s.reason, 0) + 1
        return counts


@dataclass(frozen=True)
class Selector:
    kind: str
    value: str = ""
    phones: tuple[str, ...] = ()


def parse_audience(spec: str) -> list[Selector]:
    """Split a spec into selectors; raises AudienceError naming what it could not read."""
    selectors: list[Selector] = []
    for raw in (part.strip() for part in (spec or "").split(",")):
        if not raw:
            continue
        lowered = raw.lower()
        if lowered in ("all-leaders", "all-leads", "black-list-leads"):
            selectors.append(Selector(lowered))
        elif lowered.startswith(("unit:", "role:")):
            kind, _, value = raw.partition(":")
            if not value.strip():
                raise AudienceError(f"受众“{raw}”缺少值 / audience selector {raw!r} has no value")
            selectors.append(Selector(kind.lower(), value.strip()))
        elif lowered.startswith("phones:"):
            selectors.append(Selector("phones", phones=(raw.partition(":")[2].strip(),)))
        elif selectors and selectors[-1].kind == "phones":
            last = selectors.pop()
            selectors.append(Selector("phones", phones=(*last.phones, raw)))
        else:
            raise AudienceError(
                f"无法识别的受众“{raw}”;可用:all-leaders、all-leads、unit:编号、role:角色、black-list-leads、"
                f"phones:号码 / unknown audience {raw!r}"
            )
    if not selectors:
        raise AudienceError("受众为空 / the audience is empty")
    return selectors


async def _people_for(
    session: AsyncSession, selector: Selector, *, settings: Settings, as_of: date | None
) -> list[Person]:
    query = select(Person)
    if selector.kind == "all-leaders":
        query = query.where(Person.role == Role.LEADER)
    elif selector.kind == "all-leads":
        query = query.where(Person.role == Role.LEAD)
    elif selector.kind == "role":
        role, level = role_of(selector.value)
        query = query.where(Person.role == role)
        if level is not None:
            query = query.where(Person.level == level)
    elif selector.kind == "unit":
        unit = (await session.exec(select(Unit).where(Unit.code == selector.value))).first() or (
            await session.exec(select(Unit).where(Unit.name == selector.value))
        ).first()
        if unit is None:
            raise AudienceError(f"没有编号为“{selector.value}”的单位 / no unit {selector.value!r}")
        query = query.where(Person.unit_id == unit.id)
    elif selector.kind == "black-list-leads":
        from notifier.numbers.rates import black_list

        entries = await black_list(session, settings=settings, as_of=as_of or date.today())
        ids = {e.lead_id for e in entries if e.lead_id is not None}
        query = query.where(col(Person.id).in_(ids))
    return list((await session.exec(query.order_by(col(Person.id)))).all())


async def resolve_audience(
    session: AsyncSession, *, settings: Settings, audience: str, as_of: date | None = None
) -> AudienceResult:
    """Recipients of `audience`, unique by E.164 number, opted-out and invalid numbers skipped."""
    selectors = parse_audience(audience)
    units = {u.id: u for u in (await session.exec(select(Unit))).all()}
    result = AudienceResult()
    seen: set[str] = set()
    candidates: list[tuple[Person | None, str]] = []
    for selector in selectors:
        if selector.kind == "phones":
            candidates.extend((None, phone) for phone in selector.phones)
        else:
            candidates.extend((p, p.phone or "") for p in await _people_for(session, selector, settings=settings,
                                                                             as_of=as_of))  # fmt: skip
    parsed: list[tuple[Person | None, str]] = []
    for person, phone in candidates:
        name = person.name if person else ""
        if not phone:
            result.skipped.append(Skipped(name, "", "no_number"))
            continue
        try:
            e164 = parse_phone(phone)
        except PhoneError:
            if phone not in seen:
                seen.add(phone)
                result.skipped.append(Skipped(name, phone, "invalid_number"))
            continue
        try:
            parse_mobile(e164)
        except PhoneError:  # a landline stored before imports refused them: never messaged
            if e164 not in seen:
                seen.add(e164)
                result.skipped.append(Skipped(name, e164, "not_mobile"))
            continue
        if e164 not in seen:
            seen.add(e164)
            parsed.append((person, e164))
    opted = await opted_out_numbers(session, phones=[p for _, p in parsed])
    by_phone = await people_by_phone(session, phones=[e for person, e in parsed if person is None])
    for person, e164 in parsed:
        person = person or by_phone.get(e164)
        if e164 in opted:
            result.skipped.append(Skipped(person.name if person else "", e164, "opted_out"))
            continue
        unit = units.get(person.unit_id) if person and person.unit_id else None
        result.recipients.append(Recipient(
            person_id=person.id if person else None, name=person.name if person else "", phone=e164,
            unit_id=unit.id if unit else None, unit_code=unit.code if unit else None,
            unit_name=unit.name if unit else None, language=person.language if person else settings.language,
        ))  # fmt: skip
    return result


LOOKUP_CHUNK = 500  # numbers per IN (...) query: far below PostgreSQL's 32,767 bind parameters


async def people_by_phone(session: AsyncSession, *, phones: list[str]) -> dict[str, Person]:
    """The people whose numbers are among `phones` (looked up in chunks)."""
    found: dict[str, Person] = {}
    for start in range(0, len(phones), LOOKUP_CHUNK):
        chunk = phones[start : start + LOOKUP_CHUNK]
        for person in (await session.exec(select(Person).where(col(Person.phone).in_(chunk)))).all():
            if person.phone:
                found[person.phone] = person
    return found


async def opted_out_numbers(session: AsyncSession, *, phones: list[str]) -> set[str]:
    """Which of `phones` must not get SMS (the OptOut table, or a person's opted-out flag)."""
    if not phones:
        return set()
    found: set[str] = set()
    for start in range(0, len(phones), LOOKUP_CHUNK):
        chunk = phones[start : start + LOOKUP_CHUNK]
        found.update((await session.exec(select(OptOut.phone).where(col(OptOut.phone).in_(chunk)))).all())
        flagged = await session.exec(
            select(Person.phone).where(col(Person.phone).in_(chunk), col(Person.opted_out))
        )
        found.update(p for p in flagged.all() if p)
    return found
