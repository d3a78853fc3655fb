"""Bulletin composition: the period a bulletin covers across the year's end, empty rankings and
lists, and every recipient's text within the segment budget as it is sent."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from arq.connections import RedisSettings, create_pool
from sqlmodel import SQLModel, select
from sqlmodel.ext.asyncio.session import AsyncSession
from typer.testing import CliRunner

from models import BulletinKind, Delivery, LeaderLevel, Person, Project, Role, Stage, Unit, UnitKind
from models.db import create_engine, create_sessionmaker
from notifier.bulletins.compose import (
    DROP_ORDER,
    compose_bulletin,
    covered_day,
    draft_bulletin,
    link_reserve,
    release_bulletin,
)
from notifier.core.settings import Settings
from notifier.sending.segments import segment_info, with_signature


@pytest.mark.parametrize(
    ("kind", "composed_on", "covered"),
    [
        (BulletinKind.MONTHLY, date(2027, 1, 1), date(2026, 12, 31)),
        (BulletinKind.MONTHLY, date(2026, 12, 1), date(2026, 11, 30)),
        (BulletinKind.MONTHLY, date(2026, 11, 24), date(2026, 10, 31)),
        (BulletinKind.MONTHLY, date(2026, 11, 30), date(2026, 11, 30)),
        (BulletinKind.MONTHLY, date(2026, 3, 1), date(2026, 2, 28)),
        (BulletinKind.WEEKLY, date(2027, 1, 1), date(2027, 1, 1)),
        (BulletinKind.PROCEDURES, date(2026, 12, 10), date(2026, 12, 10)),
        (BulletinKind.INVESTMENT, date(2027, 1, 20), date(2027, 1, 20)),
    ],
)
def test_covered_day(kind: BulletinKind, composed_on: date, covered: date) -> None:
    assert covered_day(kind, composed_on) == covered


async def _office(session: AsyncSession, *, units: int, projects_per_unit: int = 2, year: int = 2026) -> None:
    """An office of `units` units with long names, their leaders, and projects of `year`'s list."""
    for u in range(units):
        unit = Unit(code=f"U{u:02d}", name=f"阿拉善盟第{u + 1}号重点项目责任单位管理委员会", short_name=f"第{u + 1}单位",
                    kind=UnitKind.DEPARTMENT, sort_order=u)  # fmt: skip
        session.add(unit)
        await session.flush()
        session.add(Person(name=f"领导{u}", phone=f"+86139048{30000 + u:05d}", role=Role.LEADER, unit_id=unit.id,
                           level=LeaderLevel.UNIT))  # fmt: skip
        for p in range(projects_per_unit):
            session.add(Project(code=f"P{u:02d}{p}", name=f"第{u + 1}单位重点工程建设项目{p}", unit_id=unit.id or 0,
                                year=year, stage=Stage.NEW, annual_plan=Decimal(1000 * (u + 1)),
                                ytd_base=Decimal(37 * (u + p + 1)), planned_start=date(year, 3, 1),
                                actual_start=date(year, 3, 1) if p == 0 else None, procedures_required=3,
                                procedures_base=u % 4 if u % 4 < 4 else 3))  # fmt: skip
    session.add(Person(name="盟领导", phone="+8613904839999", role=Role.LEADER, level=LeaderLevel.LEAGUE))
    await session.commit()


# --- the year's end ------------------------------------------------------------------------------


async def test_monthly_report_on_new_years_day_covers_the_closing_year(
    session: AsyncSession, settings: Settings
) -> None:
    await _office(session, units=3)
    composed = await compose_bulletin(
        session, settings=settings, kind=BulletinKind.MONTHLY, as_of=date(2027, 1, 1)
    )
    assert (composed.as_of, composed.numbers.year, composed.period_key) == (
        date(2026, 12, 31),
        2026,
        "2026-12",
    )
    assert composed.numbers.overall.projects == 6
    assert composed.numbers.time_schedule == 1
    assert "重点项目月报告(2026年12月,截至12月31日)" in composed.sms


async def test_monthly_report_on_the_first_is_labelled_with_the_month_it_covers(
    session: AsyncSession, settings: Settings
) -> None:
    await _office(session, units=3)
    composed = await compose_bulletin(
        session, settings=settings, kind=BulletinKind.MONTHLY, as_of=date(2026, 12, 1)
    )
    assert composed.period_key == "2026-11"
    assert "(2026年11月,截至11月30日)" in composed.sms


async def test_week_53_bulletin_in_january_covers_the_closing_year(
    session: AsyncSession, settings: Settings
) -> None:
    await _office(session, units=3)
    composed = await compose_bulletin(
        session, settings=settings, kind=BulletinKind.WEEKLY, as_of=date(2027, 1, 4)
    )
    assert (composed.period_key, composed.numbers.year) == ("2026-W53", 2026)
    assert composed.numbers.overall.projects == 6
    # The first week of 2027, a week later, is 2027's (no list imported yet: no rates).
    later = await compose_bulletin(
        session, settings=settings, kind=BulletinKind.WEEKLY, as_of=date(2027, 1, 11)
    )
    assert (later.period_key, later.numbers.overall.projects) == ("2027-W01", 0)


async def _seed_file(url: str) -> None:
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(SQLModel.metadata.create_all)
    async with create_sessionmaker(engine)() as session:
        await _office(session, units=2)
    await engine.dispose()


def test_cli_monthly_preview_on_new_years_day_covers_the_closing_year(tmp_path: Path, redis_url: str) -> None:
    import asyncio

    from notifier.cli import app

    url = f"sqlite+aiosqlite:///{tmp_path / 'guatu.db'}"
    asyncio.run(_seed_file(url))
    env = {"DATABASE_URL": url, "REDIS_URL": redis_url, "SMS_BACKEND": "file", "QUIET_HOURS": ""}
    result = CliRunner().invoke(app, ["bulletin", "preview", "--kind", "monthly", "--as-of", "2027-01-01", "--json"],
                                env=env)  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(result.output[result.output.index("{") :])
    assert (data["as_of"], data["period"], data["overall"]["projects"]) == ("2026-12-31", "2026-12", 4)
    assert data["time_schedule"] == 1.0


# --- empty rankings and lists --------------------------------------------------------------------


async def test_no_data_reads_so(session: AsyncSession, settings: Settings) -> None:
    session.add(Unit(code="ALYQ", name="阿拉善右旗", short_name="阿右旗", kind=UnitKind.BANNER))
    await session.flush()
    unit = (await session.exec(select(Unit))).one()
    # A project with no plan and no procedures: the unit is in the list but has no procedure or investment rate.
    session.add(Project(code="P1", name="项目", unit_id=unit.id or 0, year=2026, stage=Stage.PREPARATORY))
    await session.commit()
    composed = await compose_bulletin(
        session, settings=settings, kind=BulletinKind.WEEKLY, as_of=date(2026, 6, 30)
    )
    assert "手续办结率排名:暂无数据。" in composed.sms
    assert "投资完成率排名:暂无数据。" in composed.sms
    assert "开复工率排名:1阿右旗0.0%。" in composed.sms
    assert "—、" not in composed.sms and "-阿右旗" not in composed.sms
    assert "红榜:无。" in composed.sms and "黑榜:无。" in composed.sms and "红榜0" not in composed.sms


# --- the budget, as sent --------------------------------------------------------------------------


@pytest.fixture
async def pool(redis: Any, redis_url: str) -> AsyncIterator[Any]:
    arq = await create_pool(RedisSettings.from_dsn(redis_url))
    yield arq
    await arq.aclose()


def _budgeted(settings: Settings) -> Settings:
    return settings.model_copy(update={"public_base_url": "https://guatu.alsm.gov.cn", "sms_segment_budget": 5,
                                       "bulletin_approval": "auto"})  # fmt: skip


async def _sent_texts(
    session: AsyncSession, pool: Any, settings: Settings, kind: BulletinKind, as_of: date
) -> list[str]:
    bulletin, composed = await draft_bulletin(session, settings=settings, kind=kind, as_of=as_of)
    for text in composed.copies().values():
        assert segment_info(text + link_reserve(settings)).segments <= settings.sms_segment_budget
    assert composed.longest()["segments"] <= settings.sms_segment_budget
    campaign = await release_bulletin(session, pool, settings=settings, bulletin_id=bulletin.id or 0)
    bodies = (await session.exec(select(Delivery.body).where(Delivery.campaign_id == campaign.id,
                                                             Delivery.body != ""))).all()  # fmt: skip
    return list(bodies)


async def test_every_text_of_a_30_unit_office_is_within_budget(
    session: AsyncSession, settings: Settings, pool: Any
) -> None:
    settings = _budgeted(settings)
    await _office(session, units=30)
    for kind in BulletinKind:
        bodies = await _sent_texts(session, pool, settings, kind, date(2026, 6, 30))
        assert len(bodies) == 31
        for body in bodies:
            assert "已阅请点 https://guatu.alsm.gov.cn/r/" in body
            assert segment_info(body).segments <= settings.sms_segment_budget, body
    composed = await compose_bulletin(
        session, settings=settings, kind=BulletinKind.WEEKLY, as_of=date(2026, 6, 30)
    )
    # The ranking tails went first, and the approvers are told what was left out of each variant.
    assert composed.dropped[:1] == ["tail_procedure"]
    assert "等(其余" in composed.sms
    assert set(composed.unit_lines) == {f"U{u:02d}" for u in range(30)}
    assert composed.to_json()["longest"]["dropped"]


async def test_every_text_of_the_demo_bulletin_is_within_budget(
    session: AsyncSession, settings: Settings, pool: Any
) -> None:
    from notifier.demo.sample import load_sample

    settings = _budgeted(settings)
    await load_sample(session, as_of=date(2026, 11, 23))
    await session.commit()
    bodies = await _sent_texts(session, pool, settings, BulletinKind.WEEKLY, date(2026, 11, 23))
    assert len(bodies) == 15  # 6 league leaders and 9 unit leaders
    assert max(segment_info(b).segments for b in bodies) <= 5


async def test_a_text_over_budget_at_release_is_refused(
    session: AsyncSession, settings: Settings, pool: Any
) -> None:
    from notifier.bulletins.compose import OverBudgetError

    settings = _budgeted(settings)
    await _office(session, units=2)
    bulletin, _ = await draft_bulletin(
        session, settings=settings, kind=BulletinKind.WEEKLY, as_of=date(2026, 6, 30)
    )
    with pytest.raises(OverBudgetError, match="超过预算 1 条"):
        await release_bulletin(session, pool, settings=settings.model_copy(update={"sms_segment_budget": 1}),
                               bulletin_id=bulletin.id or 0)  # fmt: skip


def test_drop_order_starts_with_the_ranking_tails() -> None:
    assert DROP_ORDER[:3] == ["tail_procedure", "tail_start", "tail_investment"]


def test_signature_counts() -> None:
    assert with_signature("x", "【签名】") == "【签名】x"
