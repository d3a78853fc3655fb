"""The rows of an office's list that are not data: 合计/小计 rows, section rows (一、阿拉善左旗（6个）)
and footnotes (注：…). Each is recognised from its cells alone, so the importer can skip it and say why.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum

from notifier.importing.cells import cell_text, label_key
from notifier.importing.headings import Header
from notifier.importing.sheets import Row

_NUMERALS = "一二三四五六七八九十百零〇"
# 一、阿拉善左旗 opens a section; (一)新开工项目 opens a part of one.
_SECTION = re.compile(
    rf"^(?:(?P<top>[{_NUMERALS}]+)\s*[、.,]|\(\s*[{_NUMERALS}]+\s*\)\s*[、.,]?)\s*(?P<title>\S.*)$"
)
_COUNT = re.compile(r"[(]\s*(?:共\s*)?(?P<count>\d+)\s*(?:个|项)?(?:项目)?\s*[)]\s*$")
_TOTAL = re.compile(r"^(?:(?:全盟|全市|全旗|总)?(?:合计|小计|总计|共计)(?:\(.*\))?:?$|其中[:,])")
_FOOTNOTE = re.compile(r"^(?:注|备注|说明|附注)\s*\d*\s*[:：.、]")
LEADING_CELLS = 3  # a total or section label sits in one of the first few cells


class RowKind(StrEnum):
    DATA = "data"
    TOTAL = "total"
    SECTION = "section"
    FOOTNOTE = "footnote"
    NUMBER_ONLY = "number_only"  # a pre-numbered empty line of a template: 序号 and nothing else
    HEADING = "heading"  # the headings again (a list printed with them on every page)


@dataclass(frozen=True)
class Section:
    """A section row: its title without numbering or count, and the count it announces, if any."""

    line: int
    text: str  # as written
    title: str  # "阿拉善左旗"
    count: int | None
    level: int = 1  # 1: 一、…; 2: (一)…, a part of the section above


def _leading(row: Row) -> list[tuple[int, str]]:
    texts = [(i, cell_text(v)) for i, v in enumerate(row.cells)]
    return [(i, text) for i, text in texts if text][:LEADING_CELLS]


def row_kind(row: Row, header: Header) -> RowKind:
    """What a row below the headings is; data unless it reads as a total, a section or a footnote."""
    leading = _leading(row)
    if not leading:
        return RowKind.DATA
    first_index, first = leading[0]
    plain = unicodedata.normalize("NFKC", first)
    if _FOOTNOTE.match(plain):
        return RowKind.FOOTNOTE
    if any(_TOTAL.match(label_key(text)) for _, text in leading):
        return RowKind.TOTAL
    if _SECTION.match(plain) and _no_name(row, header, first_index):
        return RowKind.SECTION
    filled = {i for i, v in enumerate(row.cells) if cell_text(v)}
    if filled <= {i for i, key in header.columns.items() if key == "seq"}:
        return RowKind.NUMBER_ONLY
    if len(filled) >= 2 and _repeats_headings(row, header, filled):
        return RowKind.HEADING
    return RowKind.DATA


def _repeats_headings(row: Row, header: Header, filled: set[int]) -> bool:
    """Every filled cell is one of the headings (or a part of a two-row heading) again."""
    parts = {label_key(part) for m in header.mapping for part in (m.heading, *m.heading.split("/"))}
    return all(label_key(cell_text(row.cells[i])) in parts for i in filled)


def _no_name(row: Row, header: Header, label_index: int) -> bool:
    """A section row fills no name (or only with its own label) and no code."""
    label = cell_text(row.cells[label_index])
    for key in ("name", "code", "project_code"):
        index = next((i for i, k in header.columns.items() if k == key), None)
        if index is None or index >= len(row.cells):
            continue
        text = cell_text(row.cells[index])
        if text and text != label:  # a section row merged across shows its label in every cell
            return False
    return True


def section_of(row: Row) -> Section:
    """The section a SECTION row opens."""
    text = next(cell_text(v) for v in row.cells if cell_text(v))
    match = _SECTION.match(unicodedata.normalize("NFKC", text))
    title = match.group("title").strip() if match else text
    count = _COUNT.search(title)
    if count:
        title = title[: count.start()].strip()
    return Section(line=row.line, text=text, title=title, count=int(count.group("count")) if count else None,
                   level=1 if match is None or match.group("top") else 2)  # fmt: skip
