"""Rows that are not data: totals, sections and footnotes, recognised from their cells."""

from __future__ import annotations

from typing import Any

import pytest

from notifier.importing.headings import ImportKind, find_header
from notifier.importing.layout import RowKind, row_kind, section_of
from notifier.importing.sheets import Row

HEADER = find_header(
    ImportKind.PROJECTS, [Row(1, ("序号", "项目名称", "建设性质", "年度计划投资", "项目负责人"))]
)


@pytest.mark.parametrize(
    ("cells", "kind"),
    [(("合计", None, None, 3000), RowKind.TOTAL), ((None, "合  计", "", 3000), RowKind.TOTAL),
     (("", "小计(3个)", "", 1), RowKind.TOTAL), (("总计",), RowKind.TOTAL),
     (("一、阿拉善左旗（6个）", None, None, 1200), RowKind.SECTION), (("（二）新开工项目",), RowKind.SECTION),
     (("十二、盟直部门",), RowKind.SECTION), (("注：投资单位为万元",), RowKind.FOOTNOTE),
     (("注1:数据截至10月底",), RowKind.FOOTNOTE), (("备注：",), RowKind.FOOTNOTE),
     ((1, "光伏发电项目", "新开工", 100, "王伟"), RowKind.DATA),
     # A numbered line with a project name in the name column is data, whatever its first cell says.
     (("一、", "光伏发电项目", "新开工", 100, "王伟"), RowKind.DATA),
     (("其中：新开工项目", None, None, 100), RowKind.TOTAL), (("其中:续建", None), RowKind.TOTAL),
     ((7,), RowKind.NUMBER_ONLY), ((7, None, None, None, None), RowKind.NUMBER_ONLY),
     (("序号", "项目名称", "建设性质", "年度计划投资", "项目负责人"), RowKind.HEADING),
     ((None, "项目名称", None, "年度计划投资"), RowKind.HEADING), ((7, "项目名称"), RowKind.DATA),
     ((2, "合计管网改造工程", "续建", 5, "李强"), RowKind.DATA), ((3, "注塑厂", "续建", 5, "李强"), RowKind.DATA)],
)  # fmt: skip
def test_row_kind(cells: tuple[Any, ...], kind: RowKind) -> None:
    assert row_kind(Row(5, cells), HEADER) == kind


@pytest.mark.parametrize(
    ("text", "title", "count", "level"),
    [("一、阿拉善左旗（6个）", "阿拉善左旗", 6, 1), ("二、额济纳旗(共3个项目)", "额济纳旗", 3, 1),
     ("（三）新开工项目", "新开工项目", None, 2), ("四.盟直部门", "盟直部门", None, 1)],
)  # fmt: skip
def test_section_title_and_count(text: str, title: str, count: int | None, level: int) -> None:
    section = section_of(Row(7, (text,)))
    assert (section.line, section.text, section.title, section.count, section.level) == (
        7,
        text,
        title,
        count,
        level,
    )
