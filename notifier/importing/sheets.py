"""Reading the office's spreadsheets: .xlsx through openpyxl (read-only) and .csv through the csv module.

Rows come back with their line number in the file, so every complaint about a row can name it.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openpyxl import load_workbook

from notifier.core.errors import GuatuError
from notifier.core.texts import t

XLSX_SUFFIXES = {".xlsx", ".xlsm"}
CSV_SUFFIXES = {".csv", ".txt"}
# Excel "CSV" from a Chinese-locale Windows is GB18030 (a superset of GBK); UTF-8 (with or
# without the BOM Excel adds) is tried first because it never decodes GB text by accident.
CSV_ENCODINGS = ("utf-8-sig", "gb18030")


class SheetError(GuatuError):
    """The file cannot be read as a spreadsheet (too large, not a spreadsheet, unreadable)."""


@dataclass(frozen=True)
class Row:
    """One row of cells and its 1-based line number in the file."""

    line: int
    cells: tuple[Any, ...]

    def is_blank(self) -> bool:
        return all(cell is None or (isinstance(cell, str) and not cell.strip()) for cell in self.cells)


def read_rows(path: Path, *, max_bytes: int, max_rows: int, lang: str = "zh") -> list[Row]:
    """Every non-blank row of the first sheet of `path`, or SheetError with a readable reason."""
    if not path.is_file():
        raise SheetError(t("importer.no_file", lang, path=path))
    size = path.stat().st_size
    if size > max_bytes:
        raise SheetError(t("importer.too_large", lang, path=path.name, size=size, limit=max_bytes))
    suffix = path.suffix.lower()
    if suffix in XLSX_SUFFIXES:
        rows = _read_xlsx(path, max_rows=max_rows, lang=lang)
    elif suffix in CSV_SUFFIXES:
        rows = _read_csv(path, max_rows=max_rows, lang=lang)
    elif suffix == ".xls":
        raise SheetError(t("importer.old_xls", lang, path=path.name))
    else:
        raise SheetError(t("importer.not_sheet", lang, path=path.name))
    return [row for row in rows if not row.is_blank()]


def _too_many(path: Path, max_rows: int, lang: str) -> SheetError:
    return SheetError(t("importer.too_many_rows", lang, path=path.name, limit=max_rows))


def _read_xlsx(path: Path, *, max_rows: int, lang: str) -> list[Row]:
    # openpyxl has no single error type: a damaged file surfaces as zipfile, zlib, XML, EOF or
    # NotImplementedError (unknown compression) errors, anywhere while the sheet streams. All of
    # them mean the same to the user: this is not a spreadsheet we can read.
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception:
        raise SheetError(t("importer.not_sheet", lang, path=path.name)) from None
    try:
        sheet = workbook.worksheets[0] if workbook.worksheets else None
        if sheet is None:
            return []
        rows: list[Row] = []
        # A read-only sheet streams its XML, so a zip bomb stops at max_rows instead of filling memory.
        for line, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            if line > max_rows:
                raise _too_many(path, max_rows, lang)
            rows.append(Row(line=line, cells=tuple(values)))
        return rows
    except SheetError:
        raise
    except Exception:
        raise SheetError(t("importer.not_sheet", lang, path=path.name)) from None
    finally:
        workbook.close()


def decode_csv(data: bytes) -> str | None:
    """The text of a CSV file in UTF-8 (BOM or not) or GB18030; None when it is neither or binary."""
    if b"\x00" in data:
        return None
    for encoding in CSV_ENCODINGS:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return None


def _delimiter(text: str) -> str:
    first = text.split("\n", 1)[0]
    # Excel in some locales saves ";" and some systems export tabs; a comma wins any tie.
    counts = {sep: first.count(sep) for sep in (",", "\t", ";")}
    best = max(counts, key=lambda sep: (counts[sep], sep == ","))
    return best if counts[best] else ","


def _read_csv(path: Path, *, max_rows: int, lang: str) -> list[Row]:
    text = decode_csv(path.read_bytes())
    if text is None:
        raise SheetError(t("importer.not_sheet", lang, path=path.name))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    rows: list[Row] = []
    line = 1
    try:
        for record in reader:
            if len(rows) >= max_rows:
                raise _too_many(path, max_rows, lang)
            rows.append(Row(line=line, cells=tuple(record)))
            # A quoted cell may span lines: the next record starts after the last line read.
            line = reader.line_num + 1
    except csv.Error:
        raise SheetError(t("importer.not_sheet", lang, path=path.name)) from None
    return rows
