"""A small unit with a lead, a department contact and two projects, shared by the bot and report tests."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlmodel.ext.asyncio.session import AsyncSession

from models import Person, ProcedureItem, Project, Role, Stage, Unit, UnitKind


@dataclass
class World:
    unit: Unit
    lead: Person
    other_lead: Person
    contact: Person
    admin: Person
    projects: list[Project]
    items: list[ProcedureItem]


async def make_world(session: AsyncSession) -> World:
    unit = Unit(code="ALZQ", name="阿拉善左旗", kind=UnitKind.BANNER)
    session.add(unit)
    await session.flush()
    lead = Person(name="王伟", phone="+8613904830001", role=Role.LEAD, unit_id=unit.id)
    other = Person(name="李娜", phone="+8613904830002", role=Role.LEAD, unit_id=unit.id)
    contact = Person(name="联系人", phone="+8613904830003", role=Role.STAFF, unit_id=unit.id)
    admin = Person(name="管理员", phone="+8613904830004", role=Role.ADMIN)
    session.add_all([lead, other, contact, admin])
    await session.flush()
    projects = [
        Project(code="P001", name="光伏电站", unit_id=unit.id, year=2026, stage=Stage.PREPARATORY,  # type: ignore[arg-type]
                total_investment=Decimal("500000000"), annual_plan=Decimal("200000000"),
                ytd_base=Decimal("100000000"), procedures_required=3, lead_id=lead.id,
                department_contact_id=contact.id),
        Project(code="P002", name="供水管网", unit_id=unit.id, year=2026, stage=Stage.CONTINUING,  # type: ignore[arg-type]
                total_investment=Decimal("80000000"), annual_plan=Decimal("30000000"),
                ytd_base=Decimal("0"), procedures_required=1, lead_id=lead.id,
                department_contact_id=contact.id),
        Project(code="P003", name="道路改造", unit_id=unit.id, year=2026, stage=Stage.NEW,  # type: ignore[arg-type]
                total_investment=Decimal("60000000"), annual_plan=Decimal("60000000"),
                ytd_base=Decimal("0"), procedures_required=0, lead_id=other.id,
                department_contact_id=contact.id),
    ]  # fmt: skip
    session.add_all(projects)
    await session.flush()
    items = [ProcedureItem(project_id=projects[0].id, name=name) for name in ("立项", "用地", "环评")]  # type: ignore[arg-type]
    session.add_all(items)
    await session.commit()
    return World(
        unit=unit, lead=lead, other_lead=other, contact=contact, admin=admin, projects=projects, items=items
    )
