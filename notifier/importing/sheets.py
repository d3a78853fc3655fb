"""Reading the office's spreadsheets: .xlsx through openpyxl (read-only) and .csv through the csv module.

Rows come back with their line number in the file, so every complaint about a row can name it.
A hostile file is refused, not parsed: an .xlsx is a zip archive, and before openpyxl opens one
its declared entry count and unpacked sizes are checked (zipfile never inflates an entry past its
declared size); then rows, cells and time are bounded while the sheet streams. `read_sheet` runs
all of it off the event loop.
"""

from __future__ import annotations

import asyncio
import csv
import io
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from notifier.core.errors import GuatuError
from notifier.core.settings import Settings
from notifier.core.texts import t

XLSX_SUFFIXES = {".xlsx", ".xlsm"}
CSV_SUFFIXES = {".csv", ".txt"}
# Excel "CSV" from a Chinese-locale Windows is GB18030 (a superset of GBK); UTF-8 (with or
# without the BOM Excel adds) is tried first because it never decodes GB text by accident.
CSV_ENCODINGS = ("utf-8-sig", "gb18030")
# A workbook saved by Excel or WPS holds a few dozen entries; thousands mean something else.
MAX_ZIP_ENTRIES = 1000
MAX_UNPACKED = 200 * 1024 * 1024
MAX_CELLS = 2_000_000
CHECK_EVERY = 256  # rows between looks at the clock


class SheetError(GuatuError):
    """The file cannot be read as a spreadsheet (too large, not a spreadsheet, unreadable)."""


@dataclass(frozen=True)
class Row:
    """One row of cells and its 1-based line number in the file."""

    line: int
    cells: tuple[Any, ...]
    # Cells that show the value of a merged range they belong to (not its first cell): index -> "G7:G9".
    merged: tuple[tuple[int, str], ...] = ()

    def is_blank(self) -> bool:
        return all(cell is None or (isinstance(cell, str) and not cell.strip()) for cell in self.cells)


@dataclass(frozen=True)
class _Limits:
    path: Path
    max_rows: int
    max_cells: int
    deadline: float | None
    seconds: float
    lang: str

    def check_time(self) -> None:
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise SheetError(
                t("importer.too_slow", self.lang, path=self.path.name, seconds=f"{self.seconds:g}")
            )

    def check(self, *, rows: int, cells: int) -> None:
        if rows > self.max_rows:
            raise _too_many(self.path, self.max_rows, self.lang)
        if cells > self.max_cells:
            raise SheetError(
                t("importer.too_many_cells", self.lang, path=self.path.name, limit=self.max_cells)
            )
        if self.deadline is not None and rows % CHECK_EVERY == 0 and time.monotonic() > self.deadline:
            raise SheetError(
                t("importer.too_slow", self.lang, path=self.path.name, seconds=f"{self.seconds:g}")
            )


async def read_sheet(path: Path, *, settings: Settings, lang: str = "zh") -> list[Row]:
    """`read_rows` with the limits of `settings`, in a thread: the event loop keeps answering meanwhile."""
    seconds = settings.import_max_seconds
    reading = asyncio.to_thread(read_rows, path, max_bytes=settings.import_max_bytes,
                                max_rows=settings.import_max_rows, max_unpacked=settings.import_max_unpacked_bytes,
                                max_cells=settings.import_max_cells, seconds=seconds, lang=lang)  # fmt: skip
    try:
        # The reader stops itself at the deadline; the grace covers a step that runs past it.
        return await asyncio.wait_for(reading, timeout=seconds + 5)
    except TimeoutError:
        raise SheetError(t("importer.too_slow", lang, path=path.name, seconds=f"{seconds:g}")) from None


def read_rows(
    path: Path,
    *,
    max_bytes: int,
    max_rows: int,
    max_unpacked: int = MAX_UNPACKED,
    max_cells: int = MAX_CELLS,
    seconds: float | None = None,
    lang: str = "zh",
) -> list[Row]:
    """Every non-blank row of the first sheet of `path`, or SheetError with a readable reason.

    Refused: files over `max_bytes`, .xlsx archives unpacking past `max_unpacked`, more than
    `max_rows` rows or `max_cells` cells, and reading for longer than `seconds`.
    """
    deadline = time.monotonic() + seconds if seconds is not None else None
    limits = _Limits(path=path, max_rows=max_rows, max_cells=max_cells, deadline=deadline,
                     seconds=seconds or 0, lang=lang)  # fmt: skip
    if not path.is_file():
        raise SheetError(t("importer.no_file", lang, path=path))
    size = path.stat().st_size
    if size > max_bytes:
        raise SheetError(t("importer.too_large", lang, path=path.name, size=size, limit=max_bytes))
    suffix = path.suffix.lower()
    if suffix in XLSX_SUFFIXES:
        check_archive(path, max_unpacked=max_unpacked, lang=lang)
        rows = _read_xlsx(path, limits)
    elif suffix in CSV_SUFFIXES:
        rows = _read_csv(path, limits)
    elif suffix == ".xls":
        raise SheetError(t("importer.old_xls", lang, path=path.name))
    else:
        raise SheetError(t("importer.not_sheet", lang, path=path.name))
    return [row for row in rows if not row.is_blank()]


def _too_many(path: Path, max_rows: int, lang: str) -> SheetError:
    return SheetError(t("importer.too_many_rows", lang, path=path.name, limit=max_rows))


def check_archive(path: Path, *, max_unpacked: int, lang: str = "zh") -> None:
    """SheetError unless `path` is a zip archive of at most MAX_ZIP_ENTRIES entries whose declared
    sizes add up to at most `max_unpacked` bytes (a zip bomb declares what it expands to, or is
    cut off at what it declares)."""
    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
        raise SheetError(t("importer.not_sheet", lang, path=path.name)) from None
    if len(entries) > MAX_ZIP_ENTRIES:
        raise SheetError(
            t("importer.zip_entries", lang, path=path.name, count=len(entries), limit=MAX_ZIP_ENTRIES)
        )
    unpacked = sum(entry.file_size for entry in entries)
    if unpacked > max_unpacked:
        mb = 1024 * 1024
        raise SheetError(t("importer.unpacked_too_large", lang, path=path.name, size=unpacked // mb,
                           limit=max_unpacked // mb))  # fmt: skip


def _read_xlsx(path: Path, limits: _Limits) -> list[Row]:
    lang = limits.lang
    # openpyxl has no single error type: a damaged file surfaces as zipfile, zlib, XML, EOF or
    # NotImplementedError (unknown compression) errors, anywhere while the sheet streams. All of
    # them mean the same to the user: this is not a spreadsheet we can read.
    from openpyxl import load_workbook  # heavy: loaded when a workbook is read, not when a command starts

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception:
        raise SheetError(t("importer.not_sheet", lang, path=path.name)) from None
    try:
        sheet = workbook.worksheets[0] if workbook.worksheets else None
        if sheet is None:
            return []
        rows: list[Row] = []
        cells = 0
        # A read-only sheet streams its XML: rows, cells and time are counted as they come.
        for line, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            cells += len(values)
            limits.check(rows=line, cells=cells)
            rows.append(Row(line=line, cells=tuple(values)))
        ranges = _merged_ranges(path, str(getattr(sheet, "_worksheet_path", "")), limits)
        return fill_merged(rows, ranges, max_cells=limits.max_cells, name=path.name, lang=lang)
    except SheetError:
        raise
    except Exception:
        raise SheetError(t("importer.not_sheet", lang, path=path.name)) from None
    finally:
        workbook.close()


def _merged_ranges(path: Path, sheet_path: str, limits: _Limits) -> list[str]:
    """The merged ranges of a sheet ("A1:K1"), read from its XML (a read-only workbook does not keep them)."""
    ranges: list[str] = []
    with zipfile.ZipFile(path) as archive, archive.open(sheet_path.lstrip("/")) as xml:
        for seen, (_, element) in enumerate(ElementTree.iterparse(xml), start=1):
            if element.tag.endswith("}mergeCell") and element.get("ref"):
                ranges.append(element.get("ref") or "")
            element.clear()
            if seen % 4096 == 0:
                limits.check_time()
    return ranges


def fill_merged(
    rows: list[Row], ranges: list[str], *, max_cells: int = MAX_CELLS, name: str = "", lang: str = "zh"
) -> list[Row]:
    """Each cell of a merged range shows the range's value, as Excel shows it: a unit or a leader merged
    down several projects belongs to each of them, a heading merged across several columns heads each.
    Cells that get a value this way are listed in `Row.merged`."""
    from openpyxl.utils.cell import range_boundaries

    if not rows or not ranges:
        return rows
    cells = {row.line: list(row.cells) for row in rows}
    last = rows[-1].line
    marks: dict[int, list[tuple[int, str]]] = {}
    work = 0
    for ref in ranges:
        try:
            min_col, min_row, max_col, max_row = range_boundaries(ref)
        except (ValueError, TypeError):
            continue
        anchor = cells.get(min_row or 0)
        if anchor is None or min_col is None or max_col is None or max_row is None or min_col > len(anchor):
            continue
        value = anchor[min_col - 1]
        if value is None:
            continue
        for line in range(min_row or 0, min(max_row, last) + 1):
            row = cells.get(line, [])
            for index in range(min_col - 1, min(max_col, len(row))):
                work += 1
                if row[index] is None and (line, index) != (min_row, min_col - 1):
                    row[index] = value
                    marks.setdefault(line, []).append((index, ref))
        if work > max_cells:  # overlapping ranges over the whole sheet, again and again
            raise SheetError(t("importer.too_many_cells", lang, path=name, limit=max_cells))
    return [Row(line=row.line, cells=tuple(cells[row.line]), merged=tuple(marks.get(row.line, ())))
            for row in rows]  # fmt: skip


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


def _read_csv(path: Path, limits: _Limits) -> list[Row]:
    lang = limits.lang
    text = decode_csv(path.read_bytes())
    if text is None:
        raise SheetError(t("importer.not_sheet", lang, path=path.name))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    rows: list[Row] = []
    line = 1
    cells = 0
    try:
        for record in reader:
            cells += len(record)
            limits.check(rows=len(rows) + 1, cells=cells)
            rows.append(Row(line=line, cells=tuple(record)))
            # A quoted cell may span lines: the next record starts after the last line read.
            line = reader.line_num + 1
    except csv.Error:
        raise SheetError(t("importer.not_sheet", lang, path=path.name)) from None
    return rows
