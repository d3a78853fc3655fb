"""Reading .xlsx and .csv: encodings, line numbers, refusals of files that are not spreadsheets."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from openpyxl import Workbook

from notifier.importing.sheets import Row, SheetError, fill_merged, read_rows


def read(path: Path) -> list[Row]:
    return read_rows(path, max_bytes=1_000_000, max_rows=1000)


CSV_TEXT = '代码,名称,类型\nALZQ,阿拉善左旗,旗\n\nGXQ,"高新\n区",园区\nEJNQ,额济纳旗,旗\n'


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_csv_in_each_encoding_offices_save(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "units.csv"
    path.write_bytes(CSV_TEXT.encode(encoding))
    rows = read(path)
    # Blank line 3 is dropped; the quoted cell spans lines 4-5, so the next row is line 6.
    assert [(r.line, r.cells[0]) for r in rows] == [(1, "代码"), (2, "ALZQ"), (4, "GXQ"), (6, "EJNQ")]
    assert rows[1].cells[1] == "阿拉善左旗"


def test_csv_semicolons_and_tabs(tmp_path: Path) -> None:
    path = tmp_path / "units.csv"
    path.write_text("code;name;kind\nA;甲;旗\n", encoding="utf-8")
    assert read(path)[1].cells == ("A", "甲", "旗")
    path.write_text("code\tname\tkind\nA\t甲\t旗\n", encoding="utf-8")
    assert read(path)[1].cells == ("A", "甲", "旗")


def test_xlsx_first_sheet_with_typed_cells(tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["2026年重点项目清单"])
    sheet.append(["项目编号", "总投资", "计划开工时间"])
    sheet.append(["P1", 3000, datetime(2026, 3, 1)])
    book.save(tmp_path / "p.xlsx")
    rows = read(tmp_path / "p.xlsx")
    assert rows[2].line == 3
    assert rows[2].cells == ("P1", 3000, datetime(2026, 3, 1))


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [("random.xlsx", b"\x89PNG\r\n\x1a\n" + bytes(range(256)), "不是电子表格"),
     ("binary.csv", b"PK\x03\x04\x00\x00garbage", "不是电子表格"),
     ("notes.pdf", b"%PDF-1.4", "不是电子表格"),
     ("old.xls", b"\xd0\xcf\x11\xe0", ".xls"),
     ("latin.csv", b"\xff\xfe\xfa\xfb\xfc", "不是电子表格")],
)  # fmt: skip
def test_refuses_files_that_are_not_spreadsheets(
    tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(SheetError, match=message):
        read(path)


def test_refuses_oversized_file_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    path.write_text("code,name,kind\n" + "A,甲,旗\n" * 100, encoding="utf-8")
    with pytest.raises(SheetError, match="文件过大"):
        read_rows(path, max_bytes=100, max_rows=1000)


@pytest.mark.parametrize("suffix", ["csv", "xlsx"])
def test_refuses_too_many_rows(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"long.{suffix}"
    if suffix == "csv":
        path.write_text("code\n" + "A\n" * 50, encoding="utf-8")
    else:
        book = Workbook()
        sheet = book.active
        assert sheet is not None
        for _ in range(51):
            sheet.append(["A"])
        book.save(path)
    with pytest.raises(SheetError, match="行数过多"):
        read_rows(path, max_bytes=1_000_000, max_rows=20)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SheetError, match="找不到文件"):
        read(tmp_path / "nope.csv")


def test_merged_cells_show_their_value_in_every_cell() -> None:
    rows = [Row(1, ("标题", None, None)), Row(2, ("序号", "投资", None)), Row(3, (None, "总投资", "计划")),
            Row(4, (1, "阿拉善左旗", 5)), Row(5, (2, None, 6))]  # fmt: skip
    filled = fill_merged(rows, ["A1:C1", "A2:A3", "B2:C2", "B4:B5", "C9:C12", "bad", "A4:XFD1048576"])
    assert [r.cells for r in filled] == [("标题", "标题", "标题"), ("序号", "投资", "投资"), ("序号", "总投资", "计划"),
                                         (1, "阿拉善左旗", 5), (2, "阿拉善左旗", 6)]  # fmt: skip
    assert filled[4].merged == ((1, "B4:B5"),) and filled[3].merged == ()
    assert filled[2].merged == ((0, "A2:A3"),)


def test_merged_ranges_over_and_over_are_refused() -> None:
    rows = [Row(n, (n,) * 100) for n in range(1, 101)]
    with pytest.raises(SheetError, match="单元格过多"):
        fill_merged(rows, ["A1:CV100"] * 50, max_cells=100_000)


def test_merged_ranges_are_read_from_the_workbook(tmp_path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["所属旗区", "项目名称"])
    sheet.append(["阿拉善左旗", "光伏"])
    sheet.append([None, "储能"])
    sheet.merge_cells("A2:A3")
    book.save(tmp_path / "m.xlsx")
    rows = read_rows(tmp_path / "m.xlsx", max_bytes=10**6, max_rows=100)
    assert [r.cells for r in rows] == [
        ("所属旗区", "项目名称"),
        ("阿拉善左旗", "光伏"),
        ("阿拉善左旗", "储能"),
    ]
