"""Spreadsheet import: good files in every form the office saves, and one test per kind of bad row."""

from __future__ import annotations

import csv
import json
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook
from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from typer.testing import CliRunner

from models import (
    AuditLog,
    Channel,
    LeaderLevel,
    Person,
    ProcedureItem,
    ProgressReport,
    Project,
    Role,
    Stage,
    Unit,
    UnitKind,
)
from notifier.core.settings import Settings
from notifier.importing.cells import parse_amount_cell, parse_kind, parse_role, parse_stage
from notifier.importing.importer import (
    COLUMNS,
    ImportKind,
    ImportResult,
    find_header,
    heading_row,
    import_file,
)
from notifier.importing.sheets import Row, SheetError

UNITS = [["code", "name", "kind"], ["ALZQ", "阿拉善左旗", "旗"], ["GXQ", "阿拉善高新技术产业开发区", "园区"],
         ["MJTJ", "盟交通运输局", "部门"]]  # fmt: skip
PEOPLE = [["name", "phone", "role", "unit_code", "telegram_id", "language"],
          ["王伟", "13904830001", "项目负责人", "ALZQ", "", ""],
          ["李强", "139 0483 0002", "领导", "", "555001", "en"],
          ["赵敏", "13904830003", "领导", "ALZQ", "", ""],
          ["陈杰", "13904830004", "部门联系人", "MJTJ", "", ""]]  # fmt: skip
PROJECTS_EN = [
    ["code", "name", "unit_code", "stage", "total_investment", "annual_plan", "ytd_investment", "planned_start",
     "actual_start", "procedures_required", "procedures_completed", "lead_phone", "league_leader_phone",
     "unit_leader_phone", "department_contact_phone"],
    ["P001", "光伏发电项目", "ALZQ", "new", "3亿", "1.2亿", "3000万", "2026-03-01", "2026/3/15", "6", "4",
     "13904830001", "13904830002", "13904830003", "13904830004"],
    ["P002", "公路改扩建", "GXQ", "continuing", "50000000", "20000000", "", "2025-05-01", "2025-06-01", "5", "5",
     "13904830001", "", "", ""],
]  # fmt: skip
PROJECTS_ZH: list[list[Any]] = [
    ["2026年盟级重点项目清单"],
    ["项目编号", "项目名称", "所属旗区", "建设性质", "总投资(万元)", "年度计划投资(万元)", "本年已完成投资(万元)",
     "计划开工时间", "实际开工时间", "应办手续数", "已办手续数", "项目负责人电话", "包联盟领导电话", "旗区领导电话",
     "部门联系人电话"],
    ["P001", "光伏发电项目", "阿拉善左旗", "新开工", 30000, 12000, 3000, datetime(2026, 3, 1), "2026/3/15", 6, 4,
     13904830001, "13904830002", "13904830003", "13904830004"],
    ["P002", "公路改扩建", "GXQ", "续建", 5000, 2000, None, datetime(2025, 5, 1), datetime(2025, 6, 1), 5, 5,
     "13904830001", None, None, None],
]  # fmt: skip
# The same headings in traditional characters, as a Hong Kong / Taiwan locale Excel or an older template has them.
PROJECTS_TRADITIONAL_HEADINGS = ["項目編號", "項目名稱", "所屬旗區", "建設性質", "總投資(萬元)", "年度計劃投資(萬元)",
                                 "本年已完成投資(萬元)", "計劃開工時間", "實際開工時間", "應辦手續數", "已辦手續數",
                                 "項目負責人電話", "包聯盟領導電話", "旗區領導電話", "部門聯繫人電話"]  # fmt: skip


def write_csv(path: Path, rows: list[list[Any]], encoding: str = "utf-8") -> Path:
    with path.open("w", encoding=encoding, newline="") as handle:
        csv.writer(handle).writerows(rows)
    return path


def write_xlsx(path: Path, rows: list[list[Any]]) -> Path:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


async def run_import(
    session: AsyncSession, settings: Settings, kind: ImportKind, path: Path, **options: Any
) -> ImportResult:
    return await import_file(session, settings=settings, kind=kind, path=path, year=2026, **options)


async def load_people(session: AsyncSession, settings: Settings, tmp_path: Path) -> None:
    for kind, rows in ((ImportKind.UNITS, UNITS), (ImportKind.PEOPLE, PEOPLE)):
        result = await run_import(session, settings, kind, write_csv(tmp_path / f"{kind}.csv", rows))
        assert result.ok, result.errors


async def project_count(session: AsyncSession) -> int:
    return (await session.exec(select(func.count()).select_from(Project))).one()


async def check_projects(session: AsyncSession) -> None:
    p1 = (await session.exec(select(Project).where(Project.code == "P001"))).one()
    unit = (await session.exec(select(Unit).where(Unit.code == "ALZQ"))).one()
    phones = {p.id: p.phone for p in (await session.exec(select(Person))).all()}
    assert (p1.unit_id, p1.stage, p1.year) == (unit.id, Stage.NEW, 2026)
    assert (p1.total_investment, p1.annual_plan, p1.ytd_base) == (Decimal(300_000_000), Decimal(120_000_000),
                                                                   Decimal(30_000_000))  # fmt: skip
    assert (p1.planned_start, p1.actual_start) == (date(2026, 3, 1), date(2026, 3, 15))
    assert (p1.procedures_required, p1.procedures_base) == (6, 4)
    assert [phones[p1.lead_id], phones[p1.league_leader_id], phones[p1.unit_leader_id],
            phones[p1.department_contact_id]] == ["+8613904830001", "+8613904830002", "+8613904830003",
                                                  "+8613904830004"]  # fmt: skip
    p2 = (await session.exec(select(Project).where(Project.code == "P002"))).one()
    assert (p2.stage, p2.total_investment, p2.ytd_base, p2.league_leader_id) == (
        Stage.CONTINUING, Decimal(50_000_000), Decimal(0), None)  # fmt: skip


async def test_units_and_people(session: AsyncSession, settings: Settings, tmp_path: Path) -> None:
    await load_people(session, settings, tmp_path)
    units = {u.code: u for u in (await session.exec(select(Unit))).all()}
    assert {c: u.kind for c, u in units.items()} == {"ALZQ": UnitKind.BANNER, "GXQ": UnitKind.PARK,
                                                     "MJTJ": UnitKind.DEPARTMENT}  # fmt: skip
    people = {p.phone: p for p in (await session.exec(select(Person))).all()}
    li = people["+8613904830002"]
    assert (li.role, li.level, li.unit_id, li.telegram_id, li.language) == (Role.LEADER, LeaderLevel.LEAGUE, None,
                                                                            555001, "en")  # fmt: skip
    zhao = people["+8613904830003"]
    assert (zhao.level, zhao.unit_id) == (LeaderLevel.UNIT, units["ALZQ"].id)
    assert people["+8613904830004"].role == Role.STAFF


@pytest.mark.parametrize(
    ("name", "rows", "encoding"),
    [("english.csv", PROJECTS_EN, "utf-8"), ("bom.csv", PROJECTS_EN, "utf-8-sig"),
     ("chinese.xlsx", PROJECTS_ZH, None), ("chinese-gb.csv", PROJECTS_ZH, "gb18030"),
     ("traditional.xlsx", [PROJECTS_ZH[0], PROJECTS_TRADITIONAL_HEADINGS, *PROJECTS_ZH[2:]], None),
     ("traditional.csv", [PROJECTS_TRADITIONAL_HEADINGS, *PROJECTS_ZH[2:]], "utf-8-sig")],
)  # fmt: skip
async def test_projects_every_form(
    session: AsyncSession,
    settings: Settings,
    tmp_path: Path,
    name: str,
    rows: list[list[Any]],
    encoding: str | None,
) -> None:
    await load_people(session, settings, tmp_path)
    path = write_csv(tmp_path / name, rows, encoding) if encoding else write_xlsx(tmp_path / name, rows)
    result = await run_import(session, settings, ImportKind.PROJECTS, path)
    assert result.ok, result.errors
    assert (result.rows, result.created, result.updated) == (2, 2, 0)
    await check_projects(session)


async def test_reimport_updates_by_code(session: AsyncSession, settings: Settings, tmp_path: Path) -> None:
    await load_people(session, settings, tmp_path)
    await run_import(session, settings, ImportKind.PROJECTS, write_csv(tmp_path / "p.csv", PROJECTS_EN))
    changed = [PROJECTS_EN[0], [*PROJECTS_EN[1][:3], "completed", *PROJECTS_EN[1][4:]]]
    result = await run_import(session, settings, ImportKind.PROJECTS, write_csv(tmp_path / "p2.csv", changed))
    assert (result.created, result.updated) == (0, 1)
    assert await project_count(session) == 2
    p1 = (await session.exec(select(Project).where(Project.code == "P001"))).one()
    assert p1.stage == Stage.COMPLETED
    people = await run_import(session, settings, ImportKind.PEOPLE, write_csv(tmp_path / "pp.csv", PEOPLE))
    assert (people.created, people.updated) == (0, 4)


async def test_dry_run_writes_nothing(session: AsyncSession, settings: Settings, tmp_path: Path) -> None:
    await load_people(session, settings, tmp_path)
    path = write_csv(tmp_path / "p.csv", PROJECTS_EN)
    result = await run_import(session, settings, ImportKind.PROJECTS, path, dry_run=True)
    assert (result.ok, result.dry_run, result.created) == (True, True, 2)
    assert await project_count(session) == 0


def _bad(column: str, value: str) -> list[list[str]]:
    """PROJECTS_EN plus a third row (line 4) that is good except for one cell."""
    row = ["P003", "储能电站", "ALZQ", "new", "1000万", "500万", "", "2026-05-01", "", "4", "1", "13904830001",
           "", "", ""]  # fmt: skip
    row[PROJECTS_EN[0].index(column)] = value
    return [*PROJECTS_EN, row]


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [("total_investment", "三千万多", "金额无效"), ("annual_plan", "-500万", "金额无效"),
     ("lead_phone", "12345", "手机号无效"), ("unit_leader_phone", "13904839999", "不属于已导入的人员"),
     ("unit_code", "NOPE", "未知单位"), ("stage", "开工了", "建设性质无效"), ("planned_start", "2026-02-30", "日期无效"),
     ("code", "P001", "与第 2 行重复"), ("procedures_completed", "9", "大于应办手续数"), ("name", "", "必填项为空")],
)  # fmt: skip
async def test_one_bad_row_imports_nothing_and_names_its_line(
    session: AsyncSession, settings: Settings, tmp_path: Path, column: str, value: str, reason: str
) -> None:
    await load_people(session, settings, tmp_path)
    path = write_csv(tmp_path / "p.csv", _bad(column, value))
    result = await run_import(session, settings, ImportKind.PROJECTS, path)
    assert not result.ok
    assert [(e.line, e.column) for e in result.errors] == [(4, column)]
    assert reason in result.errors[0].reason
    assert await project_count(session) == 0


async def test_every_bad_row_is_listed(session: AsyncSession, settings: Settings, tmp_path: Path) -> None:
    await load_people(session, settings, tmp_path)
    rows = _bad("stage", "x")
    rows[1] = [*rows[1][:4], "abc", *rows[1][5:]]
    result = await run_import(session, settings, ImportKind.PROJECTS, write_csv(tmp_path / "p.csv", rows))
    assert [(e.line, e.column) for e in result.errors] == [(2, "total_investment"), (4, "stage")]
    audit = (await session.exec(select(AuditLog).where(AuditLog.action == "import.projects"))).one()
    assert json.loads(audit.detail or "{}")["errors"] == 2


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [("list.xlsx", b"not a zip at all", "不是电子表格"), ("list.docx", b"PK\x03\x04", "不是电子表格"),
     ("huge.csv", b"code,name,kind\n" + b"A,B,banner\n" * 2000, "文件过大"),
     ("empty.csv", b"", "找不到表头"), ("wrong.csv", "名称,备注\n甲,乙\n".encode(), "找不到表头")],
)  # fmt: skip
async def test_unreadable_files_change_nothing(
    session: AsyncSession, settings: Settings, tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    small = settings.model_copy(update={"import_max_bytes": 10_000})
    with pytest.raises(SheetError, match=message):
        await run_import(session, small, ImportKind.UNITS, path)
    assert (await session.exec(select(func.count()).select_from(Unit))).one() == 0
    audit = (await session.exec(select(AuditLog).where(AuditLog.action == "import.units"))).one()
    assert message in json.loads(audit.detail or "{}")["refused"]


async def test_people_bad_rows(session: AsyncSession, settings: Settings, tmp_path: Path) -> None:
    await load_people(session, settings, tmp_path)
    rows = [PEOPLE[0], ["新人", "13904830010", "领导", "NOPE", "", ""], ["甲", "13904830011", "神仙", "", "", ""],
            ["乙", "13904830012", "lead", "", "555001", ""], ["丙", "13904830012", "lead", "", "", "fr"]]  # fmt: skip
    result = await run_import(session, settings, ImportKind.PEOPLE, write_csv(tmp_path / "p.csv", rows))
    assert [(e.line, e.column) for e in result.errors] == [(2, "unit_code"), (3, "role"), (4, "telegram_id"),
                                                            (5, "language"), (5, "phone")]  # fmt: skip
    assert (await session.exec(select(func.count()).select_from(Person))).one() == 4


@pytest.mark.parametrize(
    ("parse", "value", "expected"),
    [(parse_stage, "新開工", Stage.NEW), (parse_stage, "續建", Stage.CONTINUING),
     (parse_stage, "竣工投產", Stage.COMPLETED), (parse_kind, "園區", UnitKind.PARK),
     (parse_role, "項目負責人", Role.LEAD), (parse_amount_cell, "1.2億", Decimal("120000000.00"))],
)  # fmt: skip
def test_traditional_cell_values(parse: Any, value: str, expected: object) -> None:
    assert parse(value) == expected


def test_cli_json_names_bad_lines_and_exits_nonzero(
    engine: AsyncEngine, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from notifier.cli import app

    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    runner = CliRunner()
    good = runner.invoke(app, ["import", "units", str(write_csv(tmp_path / "u.csv", UNITS)), "--json"])
    assert good.exit_code == 0, good.output
    assert json.loads(good.output.splitlines()[-1])["created"] == 3
    bad = write_csv(tmp_path / "b.csv", [*UNITS, ["X1", "某地", "星球"]])
    result = runner.invoke(app, ["import", "units", str(bad), "--json"])
    assert result.exit_code == 1
    data = json.loads(result.output.splitlines()[-1])
    assert (data["ok"], [(e["line"], e["column"]) for e in data["errors"]]) == (False, [(5, "kind")])
    table = runner.invoke(app, ["import", "units", str(bad)])
    assert table.exit_code == 1 and "5" in table.output and "单位类型无效" in table.output
    not_sheet = runner.invoke(app, ["import", "units", str(tmp_path / "u.csv") + ".pdf", "--json"])
    assert not_sheet.exit_code == 2


PROGRESS = [["project_code", "week", "investment", "procedures_completed", "stage", "blockers"],
            ["P001", "2026-W10", "500万", "1", "新开工", ""],
            ["P002", "2026-w11", "200", "0", "continuing", "用地手续待批"]]  # fmt: skip


async def load_projects(session: AsyncSession, settings: Settings, tmp_path: Path) -> None:
    await load_people(session, settings, tmp_path)
    result = await run_import(
        session, settings, ImportKind.PROJECTS, write_csv(tmp_path / "p.csv", PROJECTS_EN)
    )
    assert result.ok, result.errors


async def test_progress_rows_become_reports(
    session: AsyncSession, settings: Settings, tmp_path: Path
) -> None:
    await load_projects(session, settings, tmp_path)
    path = write_csv(tmp_path / "progress.csv", PROGRESS)
    result = await run_import(session, settings, ImportKind.PROGRESS, path)
    assert result.ok, result.errors
    assert result.created == 2
    reports = {r.week: r for r in (await session.exec(select(ProgressReport))).all()}
    assert set(reports) == {"2026-W10", "2026-W11"}
    w10 = reports["2026-W10"]
    assert (w10.investment, w10.procedures_completed, w10.stage, w10.channel) == (
        Decimal(5_000_000), 1, Stage.NEW, Channel.IMPORT)  # fmt: skip
    assert reports["2026-W11"].blockers == "用地手续待批"
    # The same file again replaces each week's report (history kept), never a second current one.
    again = await run_import(session, settings, ImportKind.PROGRESS, path)
    assert again.ok, again.errors
    current = (
        await session.exec(select(func.count()).select_from(ProgressReport).where(ProgressReport.is_current))
    ).one()
    assert current == 2
    done = (
        await session.exec(
            select(func.count()).select_from(ProcedureItem).where(col(ProcedureItem.done_on).is_not(None))
        )
    ).one()
    assert done == 4 + 5 + 1  # before reporting: P001 four, P002 all five; then one more in W10


@pytest.mark.parametrize(
    ("row", "column", "reason"),
    [(["P404", "2026-W10", "1万", "", "续建", ""], "project_code", "未知项目编号"),
     (["P001", "2026-W99", "1万", "", "续建", ""], "week", "周次无效"),
     (["P001", "2026-W12", "很多", "", "续建", ""], "investment", "金额无效"),
     (["P001", "2026-W10", "1万", "", "续建", ""], "week", "与第 2 行重复"),
     (["P002", "2026-W12", "9亿", "", "续建", ""], None, "超过项目剩余总投资"),
     (["P001", "2026-W12", "1万", "7", "续建", ""], None, "只有 1 项手续未办结")],
)  # fmt: skip
async def test_bad_progress_row_stores_no_report(
    session: AsyncSession, settings: Settings, tmp_path: Path, row: list[str], column: str | None, reason: str
) -> None:
    await load_projects(session, settings, tmp_path)
    result = await run_import(
        session, settings, ImportKind.PROGRESS, write_csv(tmp_path / "g.csv", [*PROGRESS, row])
    )
    assert [(e.line, e.column) for e in result.errors] == [(4, column)]
    assert reason in result.errors[0].reason
    assert (await session.exec(select(func.count()).select_from(ProgressReport))).one() == 0
    done = (
        await session.exec(
            select(func.count()).select_from(ProcedureItem).where(col(ProcedureItem.done_on).is_not(None))
        )
    ).one()
    assert done == 4 + 5  # only those done before reporting


async def test_values_the_tables_cannot_hold_are_refused(
    session: AsyncSession, settings: Settings, tmp_path: Path
) -> None:
    await load_people(session, settings, tmp_path)
    rows = [PEOPLE[0], ["甲" * 65, "13904830020", "lead", "", "", ""], ["乙", "13904830021", "lead", "", "777", ""],
            ["丙", "13904830022", "lead", "", "777", ""]]  # fmt: skip
    result = await run_import(session, settings, ImportKind.PEOPLE, write_csv(tmp_path / "p.csv", rows))
    assert [(e.line, e.column) for e in result.errors] == [(2, "name"), (4, "telegram_id")]
    assert "最多 64 个字符" in result.errors[0].reason and "与第 3 行重复" in result.errors[1].reason
    units = await run_import(session, settings, ImportKind.UNITS,
                             write_csv(tmp_path / "u.csv", [UNITS[0], ["X" * 33, "某单位", "旗"]]))  # fmt: skip
    assert [(e.line, e.column) for e in units.errors] == [(2, "code")]
    assert (await session.exec(select(func.count()).select_from(Person))).one() == 4


@pytest.mark.parametrize("kind", list(ImportKind))
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_template_headings_are_recognised(kind: ImportKind, lang: str) -> None:
    headings = heading_row(kind, lang=lang)
    header = find_header(kind, [Row(line=1, cells=tuple(headings))])
    # 序号 is recognised but never part of a template: it only numbers the rows.
    assert sorted(header.columns.values()) == sorted(c.key for c in COLUMNS[kind] if c.key != "seq")
    scales = {key: header.scales[key] for key in ("total_investment", "investment") if key in header.scales}
    assert all(scale == (Decimal(10_000) if lang == "zh" else Decimal(1)) for scale in scales.values())


async def test_projects_get_their_procedure_items(
    session: AsyncSession, settings: Settings, tmp_path: Path
) -> None:
    await load_people(session, settings, tmp_path)
    rows = [[*PROJECTS_EN[0], "procedures"], [*PROJECTS_EN[1], ""], [*PROJECTS_EN[2][:9], "", "2", *PROJECTS_EN[2][11:],
            "立项备案、用地预审;环评批复"]]  # fmt: skip
    result = await run_import(session, settings, ImportKind.PROJECTS, write_csv(tmp_path / "p.csv", rows))
    assert result.ok, result.errors
    items = (await session.exec(select(Project.code, ProcedureItem.name, col(ProcedureItem.done_on))
                                .join(Project, col(Project.id) == col(ProcedureItem.project_id))
                                .order_by(col(ProcedureItem.id)))).all()  # fmt: skip
    p1 = [(name, done is not None) for code, name, done in items if code == "P001"]
    assert p1 == [(f"手续{n}", n <= 4) for n in range(1, 7)]
    p2 = [(name, done is not None) for code, name, done in items if code == "P002"]
    assert p2 == [("立项备案", True), ("用地预审", True), ("环评批复", False)]
    project = (await session.exec(select(Project).where(Project.code == "P002"))).one()
    assert (project.procedures_required, project.procedures_base) == (3, 2)
    # Importing again adds nothing and reopens nothing.
    await run_import(session, settings, ImportKind.PROJECTS, write_csv(tmp_path / "p2.csv", rows))
    assert (await session.exec(select(func.count()).select_from(ProcedureItem))).one() == 9
    mismatch = [rows[0], [*rows[2][:9], "5", *rows[2][10:]]]
    bad = await run_import(session, settings, ImportKind.PROJECTS, write_csv(tmp_path / "p3.csv", mismatch))
    assert [(e.line, e.column) for e in bad.errors] == [(2, "procedures")]


@pytest.mark.parametrize("heading", ["复工时间", "复工日期"])
async def test_resume_date_column(
    session: AsyncSession, settings: Settings, tmp_path: Path, heading: str
) -> None:
    """A continuing project's 复工时间 is stored as its resume date and counts it as resumed from that day."""
    from notifier.numbers.rates import project_figures

    await load_people(session, settings, tmp_path)
    rows: list[list[Any]] = [
        [*PROJECTS_ZH[1], heading],
        [*PROJECTS_ZH[3][:-4], None, None, None, None, "2026/4/2"],
    ]
    result = await run_import(session, settings, ImportKind.PROJECTS, write_xlsx(tmp_path / "p.xlsx", rows))
    assert result.ok, result.errors
    p2 = (await session.exec(select(Project).where(Project.code == "P002"))).one()
    assert (p2.actual_start, p2.resumed_on) == (date(2025, 6, 1), date(2026, 4, 2))
    assert [f.started for f in await project_figures(session, as_of=date(2026, 4, 1))] == [False]
    assert [f.started for f in await project_figures(session, as_of=date(2026, 4, 2))] == [True]


async def test_bad_resume_date_is_refused(session: AsyncSession, settings: Settings, tmp_path: Path) -> None:
    await load_people(session, settings, tmp_path)
    rows: list[list[Any]] = [
        [*PROJECTS_ZH[1], "复工时间"],
        [*PROJECTS_ZH[3][:-4], None, None, None, None, "2026-02-30"],
    ]
    result = await run_import(session, settings, ImportKind.PROJECTS, write_xlsx(tmp_path / "p.xlsx", rows))
    assert [(e.line, e.column) for e in result.errors] == [(2, "复工时间")]
    assert "日期无效" in result.errors[0].reason
    assert await project_count(session) == 0
