"""The office's own 重点项目清单 as the office saves it: a title, 序号, a two-row merged heading, 合计 and
section rows, a footnote, people by name, months without days. Every row is imported or listed with
its reason; a broken row changes nothing."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession
from typer.testing import CliRunner

from models import LeaderLevel, Person, Project, Role, Stage, Unit
from notifier.core.settings import Settings
from notifier.importing.importer import ImportKind, ImportResult, import_file
from notifier.importing.projects import generated_code
from notifier.importing.sheets import SheetError
from tests.fixtures.office_sheet import PEOPLE, UNITS, office_rows, office_sheet, write_csv


async def run(
    session: AsyncSession, settings: Settings, kind: ImportKind, path: Path, **options: Any
) -> ImportResult:
    return await import_file(session, settings=settings, kind=kind, path=path, year=2026, **options)


async def load_people(
    session: AsyncSession, settings: Settings, tmp_path: Path, people: list[list[str]] = PEOPLE
) -> None:
    for kind, rows in ((ImportKind.UNITS, UNITS), (ImportKind.PEOPLE, people)):
        result = await run(session, settings, kind, write_csv(tmp_path / f"{kind}.csv", rows))
        assert result.ok, result.errors


async def count_projects(session: AsyncSession) -> int:
    return (await session.exec(select(func.count()).select_from(Project))).one()


async def test_office_sheet_imports_with_its_mapping(
    session: AsyncSession, settings: Settings, tmp_path: Path
) -> None:
    await load_people(session, settings, tmp_path)
    path = office_sheet(tmp_path / "重点项目清单.xlsx", office_rows())
    result = await run(session, settings, ImportKind.PROJECTS, path)
    assert result.ok, result.errors
    assert (result.rows, result.created, result.header_line) == (3, 3, 4)
    mapping = {m.heading: (m.letter, m.key, m.scale) for m in result.mapping}
    assert mapping == {
        "序号": ("A", "seq", 1), "项目名称": ("B", "name", 1), "建设性质": ("C", "stage", 1),
        "投资情况（万元）/总投资": ("D", "total_investment", 10_000),
        "投资情况（万元）/年度计划投资": ("E", "annual_plan", 10_000),
        "投资情况（万元）/本年已完成投资": ("F", "ytd_investment", 10_000),
        "计划开工时间": ("G", "planned_start", 1), "项目负责人": ("H", "lead_name", 1),
        "联系电话": ("I", "lead_phone", 1), "包联盟领导": ("J", "league_leader_name", 1), "备注": ("K", None, 1),
    }  # fmt: skip
    assert [(w.line, w.column) for w in result.warnings] == [(4, "备注")]
    # Every line is a heading, an imported row, or a note saying why it was skipped.
    skipped = {n.line: n.reason for n in result.notes if n.column is None}
    assert sorted(skipped) == [1, 2, 4, 5, 6, 9, 11]
    assert "标题行" in skipped[1] and "合计" in skipped[5] and "注释行" in skipped[11]
    assert "阿拉善左旗" in skipped[6] and "单位" in skipped[6] and "编号" in skipped[4]
    month_notes = sorted(n.line for n in result.notes if n.column == "计划开工时间")
    assert month_notes == [7, 8, 10]
    # J7:J8 is merged: 李强 leads both; said once.
    assert [(n.line, n.column) for n in result.notes if n.column == "包联盟领导"] == [(8, "包联盟领导")]
    # Row 10's landline is not a mobile: the lead is found by name and the phone left unused, said so.
    assert [(n.line, n.column) for n in result.notes if n.column == "联系电话"] == [(10, "联系电话")]
    units = {u.code: u.id for u in (await session.exec(select(Unit))).all()}
    people = {p.name: p.id for p in (await session.exec(select(Person))).all()}
    projects = {p.name: p for p in (await session.exec(select(Project))).all()}
    solar = projects["光伏发电项目"]
    assert (solar.unit_id, solar.stage, solar.code) == (
        units["ALZQ"],
        Stage.NEW,
        generated_code(2026, "ALZQ", "光伏发电项目"),
    )
    assert (solar.total_investment, solar.annual_plan, solar.ytd_base) == (Decimal(300_000_000), Decimal(120_000_000),
                                                                         Decimal(30_000_000))  # fmt: skip
    assert (solar.planned_start, solar.lead_id, solar.league_leader_id) == (
        date(2025, 4, 1),
        people["王伟"],
        people["李强"],
    )
    road = projects["公路改扩建"]
    assert (road.unit_id, road.stage, road.lead_id, road.planned_start) == (units["GXQ"], Stage.PREPARATORY, people["刘洋"],
                                                                           date(2025, 4, 1))  # fmt: skip
    assert (projects["储能电站"].planned_start, projects["储能电站"].league_leader_id) == (
        date(2025, 4, 1),
        people["李强"],
    )
    # The same list again: the generated codes are the same, so it updates and adds nothing.
    again = await run(session, settings, ImportKind.PROJECTS, path)
    assert (again.created, again.updated) == (0, 3)
    assert await count_projects(session) == 3
    assert len({p.code for p in projects.values()}) == 3


@pytest.mark.parametrize(
    ("lead", "people", "reason"),
    [("张三", PEOPLE, "没有名为“张三”的人"),
     ("王伟", [*PEOPLE, ["王伟", "13904830009", "项目负责人", "GXQ"]], "有 2 人名为“王伟”")],
)  # fmt: skip
async def test_a_broken_row_changes_nothing_and_is_reported(
    session: AsyncSession, settings: Settings, tmp_path: Path, lead: str, people: list[list[str]], reason: str
) -> None:
    await load_people(session, settings, tmp_path, people)
    path = office_sheet(tmp_path / "list.xlsx", office_rows(first_lead=lead))
    result = await run(session, settings, ImportKind.PROJECTS, path)
    assert not result.ok
    assert [(e.line, e.column) for e in result.errors][0] == (7, "项目负责人")
    assert reason in result.errors[0].reason
    assert result.mapping  # the mapping is there to read even when nothing is imported
    assert await count_projects(session) == 0


def test_cli_prints_the_mapping(
    engine: AsyncEngine, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from notifier.cli import app

    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    runner = CliRunner()
    for kind, rows in (("units", UNITS), ("people", PEOPLE)):
        done = runner.invoke(app, ["import", kind, str(write_csv(tmp_path / f"{kind}.csv", rows))])
        assert done.exit_code == 0, done.output
    path = str(office_sheet(tmp_path / "list.xlsx", office_rows()))
    dry = runner.invoke(app, ["import", "projects", path, "--dry-run"], env={"COLUMNS": "200"})
    assert dry.exit_code == 0, dry.output
    for shown in (
        "投资情况（万元）/年度计划投资",
        "年度计划投资",
        "万元",
        "备注",
        "未识别的列",
        "合计",
        "试运行",
    ):
        assert shown in dry.output, shown
    as_json = runner.invoke(app, ["import", "projects", path, "--dry-run", "--json"])
    data = json.loads(as_json.output.splitlines()[-1])
    assert {
        "column": "E",
        "heading": "投资情况（万元）/年度计划投资",
        "field": "annual_plan",
        "unit": "万元",
        "chosen": False,
    } in data["mapping"]
    assert {"column": "B", "heading": "项目名称", "field": "name", "unit": None, "chosen": False} in data["mapping"]  # fmt: skip
    assert [w["column"] for w in data["warnings"]] == ["备注"] and len(data["notes"]) == 12
    # A column the importer does not know can be given its field on the command line.
    picked = runner.invoke(
        app, ["import", "projects", path, "--dry-run", "--json", "--map", "备注=", "--map", "K="]
    )
    assert json.loads(picked.output.splitlines()[-1])["warnings"] == []
    bad = runner.invoke(app, ["import", "projects", path, "--dry-run", "--map", "K"])
    assert bad.exit_code == 2 and "--map" in bad.output


# A projects file the bulletins could not use is refused with the reason, and writes nothing.
@pytest.mark.parametrize(
    ("headings", "reason"),
    [(["项目名称", "所属旗区", "建设性质", "总投资", "项目负责人"], "缺少年度计划投资列"),
     (["项目名称", "所属旗区", "建设性质", "2026年计划投资（万元）", "联系人"], "缺少项目负责人列"),
     (["项目名称", "建设性质", "2026年计划投资（万元）", "项目负责人"], "缺少所属旗区列"),
     (["项目名称", "所属旗区", "2026年计划投资（万元）", "项目负责人"], "缺少建设性质列")],
)  # fmt: skip
async def test_projects_without_plan_or_lead_are_refused(
    session: AsyncSession, settings: Settings, tmp_path: Path, headings: list[str], reason: str
) -> None:
    await load_people(session, settings, tmp_path)
    values = {"项目名称": "光伏", "所属旗区": "ALZQ", "建设性质": "新开工", "总投资": "1亿",
              "2026年计划投资（万元）": 100, "项目负责人": "王伟", "联系人": "王伟"}  # fmt: skip
    path = write_csv(tmp_path / "p.csv", [headings, [values[h] for h in headings]])
    result = await run(session, settings, ImportKind.PROJECTS, path)
    assert [e.line for e in result.errors] == [1] and reason in result.errors[0].reason
    assert await count_projects(session) == 0


async def test_single_row_office_headings(session: AsyncSession, settings: Settings, tmp_path: Path) -> None:
    """The headings of the office's real list: 2026年计划投资（万元）, 1-10月完成投资（万元）, 包联盟领导 by name."""
    await load_people(session, settings, tmp_path)
    rows: list[list[Any]] = [["序号", "项目名称", "所属旗区", "建设性质", "总投资（万元）", "2026年计划投资（万元）", "1-10月完成投资（万元）",
             "项目负责人", "联系电话", "包联盟领导"],
            [1, "光伏发电项目", "阿拉善左旗", "新开工", 30000, 12000, 3000, "王伟", "13904830001", "李强"]]  # fmt: skip
    result = await run(session, settings, ImportKind.PROJECTS, write_csv(tmp_path / "p.csv", rows))
    assert result.ok, result.errors
    assert result.warnings == []
    project = (await session.exec(select(Project))).one()
    assert (project.annual_plan, project.ytd_base) == (Decimal(120_000_000), Decimal(30_000_000))
    lead = (await session.exec(select(Person).where(Person.id == project.lead_id))).one()
    assert lead.name == "王伟" and project.league_leader_id is not None


@pytest.mark.parametrize(
    ("name", "phone", "column", "reason"),
    [("李强", "13904830001", "项目负责人", "13904830001 是“王伟”的手机号"),
     ("", "13904830099", "联系电话", "不属于已导入的人员"), ("", "12345", "联系电话", "手机号无效")],
)  # fmt: skip
async def test_name_and_phone_must_agree(
    session: AsyncSession, settings: Settings, tmp_path: Path, name: str, phone: str, column: str, reason: str
) -> None:
    await load_people(session, settings, tmp_path)
    rows = [["项目名称", "所属旗区", "建设性质", "年度计划投资", "项目负责人", "联系电话"],
            ["光伏", "ALZQ", "新开工", "1亿", name, phone]]  # fmt: skip
    result = await run(session, settings, ImportKind.PROJECTS, write_csv(tmp_path / "p.csv", rows))
    assert [(e.line, e.column) for e in result.errors] == [(2, column)]
    assert (
        reason.replace("13904830001", "+8613904830001") in result.errors[0].reason
        or reason in result.errors[0].reason
    )


async def test_roles_carry_the_leader_level(
    session: AsyncSession, settings: Settings, tmp_path: Path
) -> None:
    await load_people(session, settings, tmp_path)
    people = {p.name: p for p in (await session.exec(select(Person))).all()}
    assert (people["李强"].role, people["李强"].level) == (Role.LEADER, LeaderLevel.LEAGUE)
    assert (people["赵敏"].role, people["赵敏"].level) == (Role.LEADER, LeaderLevel.UNIT)
    assert (people["陈杰"].role, people["陈杰"].level) == (Role.STAFF, None)
    units = {u.code: u.id for u in (await session.exec(select(Unit))).all()}
    assert people["王伟"].unit_id == units["ALZQ"]  # a unit by its name


async def test_sections_are_counted_and_must_be_units(
    session: AsyncSession, settings: Settings, tmp_path: Path
) -> None:
    await load_people(session, settings, tmp_path)
    rows = office_rows()
    rows[5] = ["一、阿拉善左旗（3个）"]
    rows[8] = ["二、乌海市（1个）"]
    result = await run(session, settings, ImportKind.PROJECTS, office_sheet(tmp_path / "p.xlsx", rows))
    assert [(w.line, w.column) for w in result.warnings] == [(4, "备注"), (6, None)]
    assert "写有 3 个项目,其下实际有 2 行" in result.warnings[1].reason
    assert [(e.line, e.column) for e in result.errors] == [(10, None)]
    assert "乌海市" in result.errors[0].reason and "第 9 行" in result.errors[0].reason
    assert await count_projects(session) == 0


async def test_data_under_no_heading_is_a_warning(
    session: AsyncSession, settings: Settings, tmp_path: Path
) -> None:
    await load_people(session, settings, tmp_path)
    rows = [["项目名称", "所属旗区", "建设性质", "年度计划投资", "项目负责人"],
            ["光伏", "ALZQ", "新开工", "1亿", "王伟", "", "不知何物"]]  # fmt: skip
    result = await run(session, settings, ImportKind.PROJECTS, write_csv(tmp_path / "p.csv", rows))
    assert result.ok
    assert [(w.line, w.reason) for w in result.warnings] == [(2, "G 列没有表头,其中的数据未导入")]


async def test_a_picked_field_makes_the_file_importable(
    session: AsyncSession, settings: Settings, tmp_path: Path
) -> None:
    await load_people(session, settings, tmp_path)
    rows: list[list[Any]] = [
        ["项目名称", "所属旗区", "建设性质", "年计划数(万元)", "负责同志"],
        ["光伏", "ALZQ", "新开工", 100, "王伟"],
    ]
    path = write_csv(tmp_path / "p.csv", rows)
    refused = await run(session, settings, ImportKind.PROJECTS, path, dry_run=True)
    assert [m.heading for m in refused.unknown] == ["年计划数(万元)", "负责同志"] and not refused.ok
    picked = await run(
        session, settings, ImportKind.PROJECTS, path, overrides={"D": "annual_plan", "E": "lead_name"}
    )
    assert picked.ok, picked.errors
    project = (await session.exec(select(Project))).one()
    assert project.annual_plan == Decimal(1_000_000)  # the 万元 of the heading holds for a picked column too
    with pytest.raises(SheetError, match="选择的字段无效"):
        await run(session, settings, ImportKind.PROJECTS, path, overrides={"D": "salary"})


async def test_parts_of_sections_keep_the_unit_and_give_the_stage(
    session: AsyncSession, settings: Settings, tmp_path: Path
) -> None:
    """一、阿拉善左旗 gives the unit, (一)新开工项目 under it the stage; each count is checked against its rows."""
    await load_people(session, settings, tmp_path)
    rows: list[list[Any]] = [
        ["序号", "项目名称", "年度计划投资（万元）", "项目负责人"],
        ["一、阿拉善左旗（3个）"], ["（一）新开工项目（2个）"], [1, "光伏", 100, "王伟"], [2, "储能", 50, "王伟"],
        ["（二）续建项目（1个）"], [3, "公路", 20, "王伟"], ["其中：中央预算内投资项目1个"],
        ["二、阿拉善高新技术产业开发区（2个）"], ["（一）续建项目（1个）"], [1, "园区道路", 10, "刘洋"],
        ["序号", "项目名称", "年度计划投资（万元）", "项目负责人"], [2], [3, None, None, None],
    ]  # fmt: skip
    result = await run(session, settings, ImportKind.PROJECTS, write_csv(tmp_path / "p.csv", rows))
    assert result.ok, result.errors
    assert [(w.line, w.reason) for w in result.warnings] == [
        (9, "分组“阿拉善高新技术产业开发区”写有 2 个项目,其下实际有 1 行")
    ]
    assert [n.line for n in result.notes] == [1, 2, 3, 6, 8, 9, 10, 12, 13, 14]
    assert ["重复的表头行" in n.reason for n in result.notes[-3:]] == [True, False, False]
    assert all("只有序号的空行" in n.reason for n in result.notes[-2:])
    units = {u.id: u.code for u in (await session.exec(select(Unit))).all()}
    stored = {p.name: (units[p.unit_id], p.stage) for p in (await session.exec(select(Project))).all()}
    assert stored == {"光伏": ("ALZQ", Stage.NEW), "储能": ("ALZQ", Stage.NEW), "公路": ("ALZQ", Stage.CONTINUING),
                      "园区道路": ("GXQ", Stage.CONTINUING)}  # fmt: skip


async def test_an_amount_merged_across_projects_is_refused(
    session: AsyncSession, settings: Settings, tmp_path: Path
) -> None:
    await load_people(session, settings, tmp_path)
    path = office_sheet(tmp_path / "p.xlsx", office_rows())
    book = load_workbook(path)
    sheet = book.active
    assert sheet is not None
    sheet["E8"] = None
    sheet.merge_cells("E7:E8")  # one plan for two projects: which share is whose?
    book.save(path)
    result = await run(session, settings, ImportKind.PROJECTS, path)
    assert [(e.line, e.column) for e in result.errors] == [(8, "投资情况（万元）/年度计划投资")]
    assert "E7:E8" in result.errors[0].reason
    assert await count_projects(session) == 0


async def test_a_title_after_a_name_is_not_part_of_it(
    session: AsyncSession, settings: Settings, tmp_path: Path
) -> None:
    await load_people(session, settings, tmp_path)
    rows = [["项目名称", "所属旗区", "建设性质", "年度计划投资", "项目负责人", "包联盟领导"],
            ["光伏", "ALZQ", "新开工", "1亿", "王伟", "李强（副盟长）"], ["储能", "ALZQ", "新开工", "1亿", "王伟", "李强(副盟长)"],
            ["公路", "ALZQ", "新开工", "1亿", "王伟", "张三（副盟长）"]]  # fmt: skip
    result = await run(
        session, settings, ImportKind.PROJECTS, write_csv(tmp_path / "p.csv", rows), dry_run=True
    )
    assert [(e.line, e.column) for e in result.errors] == [(4, "包联盟领导")]
    assert "张三（副盟长）" in result.errors[0].reason


async def test_notes_in_english(session: AsyncSession, settings: Settings, tmp_path: Path) -> None:
    await load_people(session, settings, tmp_path)
    english = settings.model_copy(update={"language": "en"})
    result = await run(
        session, english, ImportKind.PROJECTS, office_sheet(tmp_path / "p.xlsx", office_rows())
    )
    assert result.ok, result.errors
    reasons = " ".join(n.reason for n in [*result.notes, *result.warnings])
    assert (
        "title row above the headings" in reasons
        and "total row" in reasons
        and "unrecognised column" in reasons
    )
    # The sheet's own words (headings, sections, names) stay as written; none of ours is Chinese.
    assert not any(
        word in reasons for word in ("跳过", "只有年月", "未识别", "合并单元格", "按姓名", "分组行")
    )
