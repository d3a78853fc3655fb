"""The demo's sample list: 100 fictional key projects over Alxa League's real units."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlmodel.ext.asyncio.session import AsyncSession

from models import LeaderLevel, Milestone, Person, ProcedureItem, Project, Role, Stage, Unit, UnitKind

UNITS: list[tuple[str, str, str, UnitKind]] = [
    ("ALZQ", "阿拉善左旗", "阿左旗", UnitKind.BANNER),
    ("ALYQ", "阿拉善右旗", "阿右旗", UnitKind.BANNER),
    ("EJNQ", "额济纳旗", "额济纳旗", UnitKind.BANNER),
    ("GXQ", "阿拉善高新技术产业开发区", "高新区", UnitKind.PARK),
    ("TGL", "腾格里经济技术开发区", "腾格里", UnitKind.PARK),
    ("JJKFQ", "阿拉善经济开发区", "经开区", UnitKind.PARK),
    ("LJT", "孪井滩生态移民示范区", "孪井滩", UnitKind.DISTRICT),
    ("MJTJ", "盟交通运输局", "交通局", UnitKind.DEPARTMENT),
    ("MSWJ", "盟水务局", "水务局", UnitKind.DEPARTMENT),
]
DEPARTMENTS = ["盟发改委", "盟工信局", "盟自然资源局", "盟生态环境局", "盟住建局"]
PROCEDURES = [
    "立项备案",
    "用地预审",
    "规划选址",
    "环评批复",
    "能评审查",
    "水土保持",
    "施工许可",
    "安全评价",
]
KINDS = ["光伏发电", "风电", "储能电站", "精细化工", "新材料", "公路改扩建", "供水工程", "生态治理", "文旅综合体",
         "物流园", "氢能示范", "农畜产品加工", "污水处理", "数据中心", "医药中间体"]  # fmt: skip
SURNAMES = (
    "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎"
)
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国志红海峰鹏辉斌宇浩凯"
WAN = Decimal("10000")


@dataclass(frozen=True)
class SampleCounts:
    units: int
    people: int
    projects: int
    milestones: int


class _Phones:
    """Fictional but well-formed mobile numbers (139 0483 xxxx), one per person."""

    def __init__(self) -> None:
        self._next = 1

    def take(self) -> str:
        number = f"+86139048{self._next:05d}"
        self._next += 1
        return number


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


async def load_sample(session: AsyncSession, *, as_of: date, seed: int = 2026) -> SampleCounts:
    """Insert the sample list for `as_of.year`; deterministic for a seed."""
    rng = random.Random(seed)
    phones = _Phones()
    year = as_of.year
    people: list[Person] = []

    def person(
        role: Role, unit_id: int | None = None, level: LeaderLevel | None = None, title: str = ""
    ) -> Person:
        p = Person(name=_name(rng), phone=phones.take(), role=role, unit_id=unit_id, level=level, title=title)
        session.add(p)
        people.append(p)
        return p

    units = []
    for order, (code, name, short, kind) in enumerate(UNITS):
        unit = Unit(code=code, name=name, short_name=short, kind=kind, sort_order=order)
        session.add(unit)
        units.append(unit)
    await session.flush()

    league = [person(Role.LEADER, None, LeaderLevel.LEAGUE, "盟领导") for _ in range(6)]
    unit_leaders = {u.id: person(Role.LEADER, u.id, LeaderLevel.UNIT, "旗区领导") for u in units}
    contacts = [person(Role.STAFF, None, LeaderLevel.DEPARTMENT, f"{d}联系人") for d in DEPARTMENTS]
    admin = Person(name="重点办管理员", phone=phones.take(), role=Role.ADMIN, title="发改委重点办")
    session.add(admin)
    people.append(admin)
    await session.flush()

    projects, milestones = [], 0
    leads: list[Person] = []
    for index in range(100):
        unit = units[index % len(units)] if index < 90 else units[rng.randrange(len(units))]
        if leads and rng.random() < 0.15:
            lead = rng.choice(leads)  # some leads answer for two projects
        else:
            lead = person(Role.LEAD, unit.id, None, "项目负责人")
            leads.append(lead)
        await session.flush()
        project = _project(rng, index, unit, year, as_of)
        project.lead_id = lead.id
        project.league_leader_id = rng.choice(league).id
        project.unit_leader_id = unit_leaders[unit.id].id
        project.department_contact_id = rng.choice(contacts).id
        session.add(project)
        projects.append(project)
        await session.flush()
        project_id = project.id or 0
        for position, proc in enumerate(rng.sample(PROCEDURES, project.procedures_required)):
            done = position < project.procedures_base
            session.add(
                ProcedureItem(project_id=project_id, name=proc, done_on=date(year, 1, 15) if done else None)
            )
        for title, due in _milestones(rng, project, as_of):
            overdue = due < as_of and rng.random() < 0.25
            session.add(Milestone(project_id=project_id, title=title, due_date=due,
                                  done_date=None if overdue or due >= as_of else due))  # fmt: skip
            milestones += 1
    await session.flush()
    return SampleCounts(units=len(units), people=len(people), projects=len(projects), milestones=milestones)


def _project(rng: random.Random, index: int, unit: Unit, year: int, as_of: date) -> Project:
    roll = rng.random()
    stage = (Stage.PREPARATORY if roll < 0.12 else Stage.NEW if roll < 0.5
             else Stage.CONTINUING if roll < 0.95 else Stage.COMPLETED)  # fmt: skip
    annual = Decimal(rng.randrange(2_000, 50_000)) * WAN / 10  # 200万 .. 5亿
    annual = annual.quantize(WAN)
    total = (annual * Decimal(rng.choice((1, 2, 3, 4)))).quantize(WAN)
    required = rng.randint(4, 8)
    planned = date(year, rng.randint(3, 9), rng.randint(1, 28))
    actual: date | None = None
    resumed: date | None = None
    if stage == Stage.NEW and planned <= as_of:
        actual = planned + timedelta(days=rng.randint(-10, 40))
        actual = min(actual, as_of - timedelta(days=7))
    elif stage == Stage.NEW:
        planned = min(planned, as_of - timedelta(days=rng.randint(14, 60)))  # some are late starters
    elif stage in (Stage.CONTINUING, Stage.COMPLETED):
        actual = date(year - 1, rng.randint(4, 10), rng.randint(1, 28))
        resumed = date(year, rng.randint(3, 4), rng.randint(1, 28))
    started = actual is not None and (actual.year == year or resumed is not None)
    share = Decimal(str(rng.uniform(0.5, 0.95))) if started else Decimal("0")
    ytd = (annual * share).quantize(WAN)
    base = required if stage != Stage.PREPARATORY and rng.random() < 0.6 else rng.randint(0, required - 1)
    kind = rng.choice(KINDS)
    return Project(
        code=f"AL{year}-{index + 1:03d}",
        name=f"{unit.name.removesuffix('开发区')[:6]}{kind}项目{index + 1:03d}",
        unit_id=unit.id or 0,
        year=year,
        stage=stage,
        total_investment=total,
        annual_plan=annual,
        ytd_base=ytd,
        planned_start=planned if stage in (Stage.PREPARATORY, Stage.NEW) else None,
        actual_start=actual,
        resumed_on=resumed,
        procedures_required=required,
        procedures_base=base,
    )


def _milestones(rng: random.Random, project: Project, as_of: date) -> list[tuple[str, date]]:
    year = as_of.year
    return [
        ("主体工程开工", date(year, rng.randint(4, 8), rng.randint(1, 28))),
        ("设备安装完成", as_of + timedelta(days=rng.randint(-40, 90))),
    ]
