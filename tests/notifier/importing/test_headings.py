"""Headings: the office's own names, two-row headings, picked fields and the closest row when none is found."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from notifier.importing.headings import COLUMNS, ImportKind, column_letter, find_header, heading_key
from notifier.importing.sheets import Row, SheetError

ALIASES = {name: c.key for c in COLUMNS[ImportKind.PROJECTS] for name in (c.key, *c.names)}
WAN = Decimal(10_000)


@pytest.mark.parametrize(
    ("heading", "key", "scale"),
    [("2026年计划投资（万元）", "annual_plan", WAN), ("年度计划投资", "annual_plan", None),
     ("1-10月完成投资（万元）", "ytd_investment", WAN), ("1—10月完成投资(万元)", "ytd_investment", WAN),
     ("本年已完成投资", "ytd_investment", None), ("截至10月底累计完成投资(万元)", "ytd_investment", WAN),
     ("项目负责人", "lead_name", None), ("包联盟领导", "league_leader_name", None),
     ("总投资", "total_investment", None), ("总投资(亿元)", "total_investment", Decimal(100_000_000)),
     ("序号", "seq", None), ("年度", "year", None), ("备注", None, None), ("2026年", None, None)],
)  # fmt: skip
def test_office_headings(heading: str, key: str | None, scale: Decimal | None) -> None:
    from notifier.importing.cells import label_key

    aliases = {label_key(name): value for name, value in ALIASES.items()}
    assert heading_key(heading, aliases) == (key, scale)


def rows(*cells: tuple[Any, ...]) -> list[Row]:
    return [Row(line=n, cells=c) for n, c in enumerate(cells, start=1)]


TWO_ROWS = rows(
    ("2026年重点项目清单",),
    (
        "序号",
        "项目名称",
        "所属旗区",
        "建设性质",
        "投资情况（万元）",
        None,
        None,
        "项目负责人",
        "联系电话",
        "备注",
    ),
    (None, None, None, None, "总投资", "年度计划投资", "本年已完成投资", None, None, None),
    (1, "光伏", "阿拉善左旗", "新开工", 100, 50, 10, "王伟", "13904830001", ""),
)


def test_two_row_heading_under_a_merged_group() -> None:
    header = find_header(ImportKind.PROJECTS, TWO_ROWS)
    assert (header.first_line, header.line) == (2, 3)
    shown = {m.heading: (m.key, m.scale) for m in header.mapping}
    assert shown["投资情况（万元）/总投资"] == ("total_investment", WAN)
    assert shown["投资情况（万元）/年度计划投资"] == ("annual_plan", WAN)
    assert shown["投资情况（万元）/本年已完成投资"] == ("ytd_investment", WAN)
    assert shown["项目名称"] == ("name", Decimal(1))
    # The phone right of a person's name is that person's phone.
    assert shown["联系电话"][0] == "lead_phone"
    assert [m.heading for m in header.unknown] == ["备注"]


def test_phone_columns_follow_the_name_before_them() -> None:
    header = find_header(ImportKind.PROJECTS, rows(
        ("项目名称", "建设性质", "项目负责人", "联系电话", "包联盟领导", "联系电话", "年度计划投资"),
    ))  # fmt: skip
    assert [m.key for m in header.mapping] == ["name", "stage", "lead_name", "lead_phone", "league_leader_name",
                                               "league_leader_phone", "annual_plan"]  # fmt: skip


def test_name_and_phone_under_a_person_heading() -> None:
    header = find_header(ImportKind.PROJECTS, rows(
        ("项目名称", "建设性质", "年度计划投资", "项目负责人", None),
        (None, None, None, "姓名", "联系电话"),
    ))  # fmt: skip
    assert header.columns == {0: "name", 1: "stage", 2: "annual_plan", 3: "lead_name", 4: "lead_phone"}


def test_a_data_row_is_not_taken_for_a_second_heading_row() -> None:
    header = find_header(ImportKind.PROJECTS, [TWO_ROWS[1], TWO_ROWS[3]])
    assert (header.first_line, header.line) == (2, 2)


def test_picked_fields_by_letter_or_heading() -> None:
    sheet = rows(
        ("项目名称", "建设性质", "年计划数", "负责同志", "备注", "所属旗区"),
        ("光伏", "新开工", 1, "王伟", "x", "左旗"),
    )
    auto = find_header(ImportKind.PROJECTS, sheet)
    assert [m.heading for m in auto.unknown] == ["年计划数", "负责同志", "备注"]
    picked = find_header(ImportKind.PROJECTS, sheet, overrides={"C": "annual_plan", "负责同志": "lead_name",
                                                                 "备注": ""})  # fmt: skip
    assert (picked.columns[2], picked.columns[3]) == ("annual_plan", "lead_name")
    assert picked.unknown == [] and all(m.chosen for m in picked.mapping[2:5])
    with pytest.raises(SheetError, match="选择的字段无效"):
        find_header(ImportKind.PROJECTS, sheet, overrides={"C": "salary"})
    with pytest.raises(SheetError, match="字段“建设性质”不能同时对应“建设性质”和“年计划数”两列"):
        find_header(ImportKind.PROJECTS, sheet, overrides={"C": "stage"})


@pytest.mark.parametrize(
    ("kind", "sheet", "expected"),
    [(ImportKind.UNITS, rows(("单位一览",), ("单位名称", "类型"), ("左旗", "旗")),
      ["最接近的是第 2 行(单位名称 | 类型)", "缺少:单位编码"]),
     (ImportKind.PEOPLE, rows(("姓名", "电话", "备注")), ["第 1 行", "缺少:角色"]),
     (ImportKind.PROJECTS, rows(("重点项目",), ("项目名称", "备注")), ["第 2 行", "至少 3 个可识别的列"])],
)  # fmt: skip
def test_no_heading_row_names_the_closest(kind: ImportKind, sheet: list[Row], expected: list[str]) -> None:
    with pytest.raises(SheetError) as caught:
        find_header(kind, sheet)
    for part in expected:
        assert part in str(caught.value)


def test_no_recognisable_row_at_all() -> None:
    with pytest.raises(SheetError, match="找不到表头") as caught:
        find_header(ImportKind.UNITS, rows(("甲", "乙")))
    assert "最接近" not in str(caught.value)


@pytest.mark.parametrize(
    ("index", "letter"), [(0, "A"), (10, "K"), (25, "Z"), (26, "AA"), (51, "AZ"), (702, "AAA")]
)
def test_column_letters(index: int, letter: str) -> None:
    from openpyxl.utils import get_column_letter

    assert column_letter(index) == letter == get_column_letter(index + 1)
