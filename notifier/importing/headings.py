"""Which column is which: the fields of each kind of import, the heading row (one row, or a merged
group heading over a second row), and the mapping from each heading as written to a field.

Every headed column appears in the mapping, recognised or not, so the importer can say what it
used and what it left out; the person importing may pick the field of any column (`overrides`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

from notifier.core.texts import t
from notifier.importing.cells import cell_text, label_key
from notifier.importing.sheets import Row, SheetError

HEADER_SCAN_ROWS = 20  # offices put a title row or two above the headings
_UNIT_SUFFIX = re.compile(r"[(\[【]([^)\]】]*)[)\]】]$")
SCALES = {"元": Decimal(1), "万元": Decimal(10_000), "亿元": Decimal(100_000_000)}
# Period words before a heading: 2026年计划投资, 1-10月完成投资, 截至10月底累计完成投资.
_PERIOD = re.compile(
    r"^(?:截至|截止)?\s*(?:\d{4}\s*年度?)?\s*(?:(?:\d{1,2}\s*[-~—–至到]\s*)?\d{1,2}\s*月份?(?:底|末)?)?\s*(?:累计)?"
)
# A phone heading belongs to the person named in the column before it (项目负责人 | 联系电话).
PHONE_HEADINGS = {label_key(name) for name in ("联系电话", "电话", "手机", "手机号", "手机号码", "联系方式")}
IGNORE = ""  # an override that leaves a column out on purpose
MIN_PROJECT_HEADINGS = 3


class ImportKind(StrEnum):
    UNITS = "units"
    PEOPLE = "people"
    PROJECTS = "projects"
    PROGRESS = "progress"


@dataclass(frozen=True)
class Column:
    key: str
    names: tuple[str, ...]  # the English key is always accepted too
    required: bool = False


COLUMNS: dict[ImportKind, tuple[Column, ...]] = {
    ImportKind.UNITS: (
        Column("code", ("单位编码", "单位代码", "编码", "代码"), True),
        Column("name", ("单位名称", "名称", "单位"), True),
        Column("kind", ("单位类型", "类型", "类别"), True),
        Column("short_name", ("简称", "单位简称")),
    ),
    ImportKind.PEOPLE: (
        Column("name", ("姓名", "名字"), True),
        Column("phone", ("手机号", "手机号码", "手机", "电话", "联系电话"), True),
        Column("role", ("角色", "身份"), True),
        Column("unit_code", ("单位编码", "所属单位", "所属旗区", "单位")),
        Column("telegram_id", ("telegram", "telegramid", "电报id")),
        Column("language", ("语言",)),
        Column("level", ("级别", "层级")),
        Column("title", ("职务", "职位")),
    ),
    ImportKind.PROJECTS: (
        # No code column: codes are made from the unit and the name (see the importer).
        Column("code", ("项目编号", "项目编码", "项目代码", "编号")),
        Column("name", ("项目名称", "名称"), True),
        Column("unit_code", ("所属旗区", "所属单位", "责任单位", "单位编码", "旗区", "所属地区")),
        Column("stage", ("建设性质", "项目阶段", "阶段", "项目性质")),
        Column("total_investment", ("总投资", "计划总投资", "项目总投资")),
        Column("annual_plan", ("年度计划投资", "年度计划", "本年计划投资", "计划投资", "年度投资计划")),
        Column(
            "ytd_investment",
            ("本年已完成投资", "已完成投资", "年初至今完成投资", "完成投资", "累计完成投资", "本年完成投资"),
        ),  # fmt: skip
        Column("planned_start", ("计划开工时间", "计划开工日期")),
        Column("actual_start", ("实际开工时间", "实际开工日期", "开工时间")),
        # A continuing (续建) project's resume date this year: it counts as resumed from that day.
        Column("resumed_on", ("复工时间", "复工日期", "实际复工时间", "实际复工日期")),
        Column("procedures_required", ("应办手续数", "应办手续")),
        Column("procedures_completed", ("已办手续数", "已办手续")),
        Column("procedures", ("应办手续清单", "手续清单", "手续名称")),
        Column("lead_name", ("项目负责人", "负责人", "项目责任人")),
        Column("lead_phone", ("项目负责人电话", "负责人电话")),
        Column("league_leader_name", ("包联盟领导", "盟级包联领导", "盟领导", "包联领导")),
        Column("league_leader_phone", ("包联盟领导电话", "盟领导电话", "包联领导电话")),
        Column("unit_leader_name", ("包联旗区领导", "旗区包联领导", "旗区领导")),
        Column("unit_leader_phone", ("旗区领导电话", "单位领导电话")),
        Column("department_contact_name", ("部门联系人", "包联部门联系人")),
        Column("department_contact_phone", ("部门联系人电话", "联系人电话")),
        Column("year", ("年度", "年份")),
        Column("seq", ("序号",)),
    ),
    ImportKind.PROGRESS: (
        Column("project_code", ("项目编号", "项目编码", "编号"), True),
        Column("week", ("周次", "周", "填报周"), True),
        Column("investment", ("本周完成投资", "本周投资", "完成投资", "投资"), True),
        Column("procedures_completed", ("本周办结手续数", "已办手续数", "办结手续")),
        Column("stage", ("建设性质", "项目阶段", "阶段"), True),
        Column("blockers", ("存在问题", "问题", "困难问题")),
    ),
}
# The people of a project: the column with the name and the column with the phone.
PEOPLE_COLUMNS = {"lead_name": "lead_phone", "league_leader_name": "league_leader_phone",
                  "unit_leader_name": "unit_leader_phone", "department_contact_name": "department_contact_phone"}  # fmt: skip
AMOUNTS = {"total_investment", "annual_plan", "ytd_investment", "investment"}


def column_letter(index: int) -> str:
    """The spreadsheet letter of a 0-based column index: 0 -> A, 25 -> Z, 26 -> AA."""
    letters = ""
    number = index + 1
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def field_choice(kind: ImportKind, key: str, lang: str = "zh") -> str:
    """A field as offered to pick: its name and key ("年度计划投资 (annual_plan)"), the key alone in English."""
    label = field_label(kind, key, lang)
    return label if label == key else f"{label} ({key})"


def field_label(kind: ImportKind, key: str, lang: str = "zh") -> str:
    """How a field is named to the person importing: its first Chinese heading, or its key in English."""
    if key == "seq":
        return t("importer.field_seq", lang)
    if lang == "en":
        return key
    return next((c.names[0] for c in COLUMNS[kind] if c.key == key), key)


@dataclass(frozen=True)
class MappedColumn:
    """One headed column: where it is, its heading as written and the field it fills (None: left out)."""

    index: int
    heading: str
    key: str | None
    scale: Decimal = Decimal(1)
    chosen: bool = False  # picked by the person importing, not recognised

    @property
    def letter(self) -> str:
        return column_letter(self.index)

    @property
    def unit(self) -> str:
        """The unit of the column's bare numbers ("万元" under a 万元 heading); "" for a column of no amounts."""
        if self.key not in AMOUNTS:
            return ""
        return next((name for name, scale in SCALES.items() if scale == self.scale), "元")

    def to_json(self) -> dict[str, Any]:
        return {"column": self.letter, "heading": self.heading, "field": self.key, "unit": self.unit or None,
                "chosen": self.chosen}  # fmt: skip


@dataclass(frozen=True)
class Header:
    line: int  # the last heading row: data starts below it
    columns: dict[int, str]  # cell index -> key
    headings: dict[str, str]  # key -> the heading as written
    scales: dict[str, Decimal]
    first_line: int = 0  # the first heading row (a merged group heading above `line`)
    mapping: tuple[MappedColumn, ...] = ()

    @property
    def unknown(self) -> list[MappedColumn]:
        return [m for m in self.mapping if m.key is None and not m.chosen]


def heading_row(kind: ImportKind, *, lang: str = "zh") -> list[str]:
    """The headings of an import template: the office's Chinese names, or the English keys."""
    columns = [c for c in COLUMNS[kind] if c.key != "seq"]
    if lang == "en":
        return [column.key for column in columns]
    # Offices keep amounts in 万元; the unit in the heading makes a bare 3000 mean 3000万.
    return [column.names[0] + ("(万元)" if column.key in AMOUNTS else "") for column in columns]


def _aliases(kind: ImportKind) -> dict[str, str]:
    return {label_key(name): c.key for c in COLUMNS[kind] for name in (c.key, *c.names)}


def heading_key(text: str, aliases: dict[str, str]) -> tuple[str | None, Decimal | None]:
    """The field a heading names and the unit its amounts are in (None: the heading says none)."""
    plain = unicodedata.normalize("NFKC", text).strip()
    scale: Decimal | None = None
    for candidate in dict.fromkeys((label_key(plain), label_key(_PERIOD.sub("", plain)))):
        match = _UNIT_SUFFIX.search(candidate)
        if match:
            scale = SCALES.get(match.group(1))
            candidate = candidate[: match.start()]
        if candidate in aliases:
            return aliases[candidate], scale
        for unit, unit_scale in SCALES.items():
            if candidate.endswith(unit) and candidate[: -len(unit)] in aliases:
                return aliases[candidate[: -len(unit)]], unit_scale
    return None, scale


@dataclass
class _Cell:
    index: int
    heading: str  # as shown: "投资情况（万元）/总投资" under a group heading
    own: str  # the bottom text (or the only one)
    parent: str  # the group heading above, if any


def _cells(rows: Sequence[Row]) -> list[_Cell]:
    top = rows[0].cells
    if len(rows) == 1:
        return [_Cell(i, text, text, "") for i, v in enumerate(top) if (text := cell_text(v))]
    bottom = rows[1].cells
    cells: list[_Cell] = []
    group = ""
    for index in range(max(len(top), len(bottom))):
        upper = cell_text(top[index]) if index < len(top) else ""
        lower = cell_text(bottom[index]) if index < len(bottom) else ""
        if upper:
            group = upper
        if lower == upper:
            lower = ""  # a heading merged down both rows shows in each
        if lower:
            # A merged group heading leaves the cells right of it empty: they share its text.
            parent = group if group else ""
            shown = f"{parent}/{lower}" if parent else lower
            cells.append(_Cell(index, shown, lower, parent))
        elif upper:
            cells.append(_Cell(index, upper, upper, ""))
            group = ""  # a heading over both rows ends any group
    return cells


def _resolve(
    kind: ImportKind,
    rows: Sequence[Row],
    aliases: dict[str, str],
    overrides: Mapping[str, str],
    lang: str,
) -> Header:
    mapping: list[MappedColumn] = []
    last_name: str | None = None
    for cell in _cells(rows):
        key, scale = heading_key(cell.own, aliases)
        parent_key, parent_scale = heading_key(cell.parent, aliases) if cell.parent else (None, None)
        own = label_key(cell.own)
        if key is None and parent_key in PEOPLE_COLUMNS and own in {"姓名", "名字"}:
            key = parent_key
        if own in PHONE_HEADINGS and kind == ImportKind.PROJECTS:
            name_key = parent_key if parent_key in PEOPLE_COLUMNS else last_name
            key = PEOPLE_COLUMNS.get(name_key or "lead_name")
        chosen = _override(overrides, cell, kind, lang)
        if chosen is not None:
            key = chosen or None
        if key in PEOPLE_COLUMNS:
            last_name = key
        mapping.append(MappedColumn(index=cell.index, heading=cell.heading, key=key,
                                    scale=scale or parent_scale or Decimal(1), chosen=chosen is not None))  # fmt: skip
    columns: dict[int, str] = {}
    headings: dict[str, str] = {}
    scales: dict[str, Decimal] = {}
    for column in mapping:
        if column.key is None:
            continue
        if column.key in headings:
            if column.chosen or any(m.chosen and m.key == column.key for m in mapping):
                first = next(m for m in mapping if m.key == column.key)
                raise SheetError(t("importer.field_taken", lang, field=field_label(kind, column.key, lang),
                                   first=first.heading, second=column.heading))  # fmt: skip
            raise SheetError(
                t("importer.duplicate_heading", lang, heading=column.heading, line=rows[-1].line)
            )
        columns[column.index], headings[column.key], scales[column.key] = (
            column.key,
            column.heading,
            column.scale,
        )
    return Header(line=rows[-1].line, first_line=rows[0].line, columns=columns, headings=headings,
                  scales=scales, mapping=tuple(mapping))  # fmt: skip


def _override(overrides: Mapping[str, str], cell: _Cell, kind: ImportKind, lang: str) -> str | None:
    """The field picked for this column (by column letter or by heading), "" to leave it out, None: not picked."""
    letter = column_letter(cell.index)
    picked = overrides.get(letter)
    if picked is None:
        picked = next((v for k, v in overrides.items() if label_key(k) in {label_key(cell.heading),
                                                                             label_key(cell.own)}), None)  # fmt: skip
    if picked is None:
        return None
    if picked != IGNORE and picked not in {c.key for c in COLUMNS[kind]}:
        raise SheetError(t("importer.bad_field", lang, heading=cell.heading, field=picked))
    return picked


def _detect(kind: ImportKind) -> set[str]:
    """The fields a row must hold to be taken for the heading row."""
    return {c.key for c in COLUMNS[kind] if c.required}


def _complete(kind: ImportKind, header: Header) -> bool:
    if not _detect(kind) <= header.headings.keys():
        return False
    # A projects heading needs more than a name: a title row with 项目名称 in it is not one.
    return kind != ImportKind.PROJECTS or len(header.headings) >= MIN_PROJECT_HEADINGS


def find_header(
    kind: ImportKind, rows: Sequence[Row], lang: str = "zh", overrides: Mapping[str, str] | None = None
) -> Header:
    """The first row (of the first few) holding every required heading, with the row below it when
    that row holds the parts of a merged group heading; SheetError naming the closest row otherwise."""
    aliases = _aliases(kind)
    picks = overrides or {}
    scan = list(rows[:HEADER_SCAN_ROWS])
    closest: Header | None = None
    for position, row in enumerate(scan):
        single = _resolve(kind, [row], aliases, picks, lang)
        below = scan[position + 1] if position + 1 < len(scan) else None
        if below is not None and below.line == row.line + 1:
            pair = _try_resolve(kind, [row, below], aliases, picks, lang)
            # Two rows are one heading when together they name more than the upper alone, and either
            # more than the lower alone (a title row above the headings adds nothing) or a heading
            # is merged down both rows (then the lower row alone shows every heading too).
            lower = _try_resolve(kind, [below], aliases, picks, lang)
            named = len(pair.headings) if pair is not None and _complete(kind, pair) else 0
            if (
                pair is not None
                and named > len(single.headings)
                and (named > (len(lower.headings) if lower else 0) or _merged_down(row, below))
            ):
                return pair
        if _complete(kind, single):
            return single
        if closest is None or _closeness(kind, single) > _closeness(kind, closest):
            closest = single
    raise _no_header(kind, closest, scan, lang)


def _merged_down(upper: Row, lower: Row) -> bool:
    """A heading merged down both rows: the lower row shows the upper's text in the same column."""
    return any(
        text and text == cell_text(lower.cells[i])
        for i, v in enumerate(upper.cells[: len(lower.cells)])
        if (text := cell_text(v))
    )


def _try_resolve(
    kind: ImportKind, rows: Sequence[Row], aliases: dict[str, str], overrides: Mapping[str, str], lang: str
) -> Header | None:
    try:
        return _resolve(kind, rows, aliases, overrides, lang)
    except SheetError:
        return None


def _closeness(kind: ImportKind, header: Header) -> tuple[int, int]:
    return len(_detect(kind) & header.headings.keys()), len(header.headings)


def _no_header(kind: ImportKind, closest: Header | None, scan: Sequence[Row], lang: str) -> SheetError:
    required = [c.key for c in COLUMNS[kind] if c.required]
    names = "、".join(field_label(kind, key, lang) for key in required)
    if closest is None or not closest.headings:
        return SheetError(t("importer.no_header", lang, rows=HEADER_SCAN_ROWS, columns=names))
    row = next(r for r in scan if r.line == closest.line)
    text = " | ".join(cell_text(v) for v in row.cells if cell_text(v))
    missing = [field_label(kind, key, lang) for key in required if key not in closest.headings]
    if not missing:  # a projects row with the name but too few other headings
        missing = [t("importer.more_headings", lang, count=MIN_PROJECT_HEADINGS)]
    return SheetError(t("importer.no_header_closest", lang, rows=HEADER_SCAN_ROWS, columns=names, line=row.line,
                        text=text[:120], missing="、".join(missing)))  # fmt: skip
