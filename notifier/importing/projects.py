"""Checking a row of the office's project list: the unit and stage (from the row, or from the section
row above it), a code made when the list has none, amounts in the heading's unit, month-only dates,
and the project's people given by phone or by name."""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from models import Stage
from notifier.core.texts import t
from notifier.importing.cells import (
    STAGES,
    CellError,
    cell_text,
    label_key,
    month_only,
    parse_amount_cell,
    parse_count,
    parse_date,
    parse_names,
    parse_phone_cell,
    parse_stage,
)
from notifier.importing.headings import AMOUNTS, PEOPLE_COLUMNS, Header
from notifier.importing.layout import Section
from notifier.importing.rows import Lookups, RowCheck

DATES = ("planned_start", "actual_start", "resumed_on")
# A title after a leader's name: 李强（副盟长）.
_TITLE = re.compile(r"\s*[(（][^)）]*[)）]\s*$")
# Where each of a project's people is stored (the phone column's key -> Project attribute).
PERSON_IDS = {"lead_phone": "lead_id", "league_leader_phone": "league_leader_id",
              "unit_leader_phone": "unit_leader_id", "department_contact_phone": "department_contact_id"}  # fmt: skip


@dataclass(frozen=True)
class SectionContext:
    """What a section row says about the rows under it: a unit, a stage, or neither."""

    section: Section | None = None
    unit_id: int | None = None
    stage: Stage | None = None
    unit_title: str = ""  # the section title that named the unit
    stage_title: str = ""


def section_context(
    section: Section, lookups: Lookups, parent: SectionContext | None = None
) -> SectionContext:
    """What a section says; a part of a section ((一)新开工项目 under 一、阿拉善左旗) keeps what its section said."""
    title = section.title
    stage = STAGES.get(label_key(title)) or STAGES.get(label_key(title.removesuffix("项目")))
    unit_id = lookups.unit(title)
    above = parent or SectionContext()
    return SectionContext(section=section, unit_id=unit_id if unit_id is not None else above.unit_id,
                          stage=stage or above.stage, unit_title=title if unit_id is not None else above.unit_title,
                          stage_title=title if stage else above.stage_title)  # fmt: skip


def generated_code(year: int, unit_code: str, name: str) -> str:
    """A project code for a list without one: the same unit and name give the same code every time."""
    digest = hashlib.sha1(f"{unit_code}|{label_key(name)}".encode()).hexdigest()[:8].upper()
    return f"G{year}-{digest}"


def check_project(check: RowCheck, lookups: Lookups, year: int, context: SectionContext) -> None:
    lang = check.lang
    check.text("code")
    name = check.text("name")
    unit_id = _unit(check, lookups, context)
    _stage(check, context)
    if "code" not in check.header.headings and name and unit_id is not None:
        check.values["code"] = generated_code(year, lookups.unit_code_of.get(unit_id, str(unit_id)), name)
    for key in AMOUNTS & check.cells.keys():
        scale = check.header.scales.get(key, Decimal(1))
        check.take(key, functools.partial(parse_amount_cell, scale=scale, lang=lang))
    for key in DATES:
        day = check.take(key, lambda v: parse_date(v, lang))
        if day is not None and month_only(check.cells[key]):
            text = cell_text(check.cells[key])
            check.note(key, t("importer.month_only", lang, value=text, day=day.isoformat()))
    _procedures(check)
    _people(check, lookups)
    if check.filled("year"):
        check.take("year", lambda v: _parse_year(v, lang))


def _unit(check: RowCheck, lookups: Lookups, context: SectionContext) -> int | None:
    lang = check.lang
    if check.filled("unit_code"):
        text = check.text("unit_code") or ""
        unit_id = lookups.unit(text)
        if unit_id is None:
            check.fail("unit_code", t("importer.unknown_unit", lang, value=text))
    elif context.unit_id is not None:
        unit_id = context.unit_id
    elif context.section is not None and "unit_code" not in check.cells:
        check.fail(None, t("importer.section_not_unit", lang, value=context.section.title,
                           line=context.section.line))  # fmt: skip
        return None
    else:
        check.fail("unit_code", t("importer.unit_missing", lang))
        return None
    check.values["unit_code_id"] = unit_id
    return unit_id


def _stage(check: RowCheck, context: SectionContext) -> None:
    lang = check.lang
    if check.filled("stage"):
        check.take("stage", lambda v: parse_stage(v, lang))
    elif context.stage is not None:
        check.values["stage"] = context.stage
    else:
        check.fail("stage", t("importer.required", lang) if "stage" in check.cells
                   else t("importer.stage_missing", lang))  # fmt: skip


def _procedures(check: RowCheck) -> None:
    lang = check.lang
    required = check.take("procedures_required", lambda v: parse_count(v, lang))
    names = check.take("procedures", lambda v: parse_names(v, lang))
    if names and check.filled("procedures_required"):
        if len(names) != required:
            check.fail(
                "procedures", t("importer.procedures_mismatch", lang, names=len(names), required=required)
            )
    elif names:
        required = check.values["procedures_required"] = len(names)
    done = check.take("procedures_completed", lambda v: parse_count(v, lang))
    if required is not None and done is not None and done > required:
        check.fail("procedures_completed", t("importer.procedures_over", lang, done=done, required=required))


def _people(check: RowCheck, lookups: Lookups) -> None:
    for name_key, phone_key in PEOPLE_COLUMNS.items():
        person_id = _person(check, lookups, name_key, phone_key)
        if person_id is not None:
            check.values[PERSON_IDS[phone_key]] = person_id


def _phone(check: RowCheck, key: str) -> tuple[str | None, str | None]:
    """The phone cell as E.164, or the reason it is not one."""
    if not check.filled(key):
        return None, None
    try:
        return parse_phone_cell(check.cells[key], check.lang), None
    except CellError as exc:
        return None, str(exc)


def _person(check: RowCheck, lookups: Lookups, name_key: str, phone_key: str) -> int | None:
    """The person a row names: by phone when the phone is an imported person's, else by a unique name."""
    lang = check.lang
    phone, bad_phone = _phone(check, phone_key)
    by_phone = lookups.phones.get(phone) if phone else None
    name = check.text(name_key) if check.filled(name_key) else ""
    if not name:
        if bad_phone:
            check.fail(phone_key, bad_phone)
        elif phone and by_phone is None:
            check.fail(phone_key, t("importer.unknown_phone", lang, value=phone))
        return by_phone
    ids = lookups.names.get(label_key(name)) or lookups.names.get(label_key(_TITLE.sub("", name)), [])
    if by_phone is not None:
        if by_phone not in ids:
            owner = lookups.person_names.get(by_phone, "")
            check.fail(name_key, t("importer.name_phone_mismatch", lang, name=name, phone=phone, owner=owner))
            return None
        return by_phone
    if not ids:
        check.fail(name_key, t("importer.unknown_person", lang, value=name))
        return None
    if len(ids) > 1:
        check.fail(name_key, t("importer.ambiguous_person", lang, value=name, count=len(ids)))
        return None
    if phone or bad_phone:
        raw = cell_text(check.cells.get(phone_key))
        check.note(phone_key, t("importer.phone_not_used", lang, value=raw, name=name))
    return ids[0]


def _parse_year(value: Any, lang: str) -> int:
    text = cell_text(value).removesuffix("年")
    if not text.isascii() or not text.isdigit() or not 2000 <= int(text) <= 2100:
        raise CellError(t("importer.bad_year", lang, value=cell_text(value)))
    return int(text)


def file_problems(header: Header, *, sections: list[SectionContext], lang: str) -> list[str]:
    """Why a projects file cannot be imported at all: a column the bulletins need is missing."""
    keys = header.headings.keys()
    problems = []
    if "annual_plan" not in keys:
        problems.append(t("importer.no_annual_plan", lang))
    if not keys & {"lead_name", "lead_phone"}:
        problems.append(t("importer.no_lead", lang))
    if "unit_code" not in keys and not any(s.unit_id is not None for s in sections):
        problems.append(t("importer.no_unit_column", lang))
    if "stage" not in keys and not any(s.stage is not None for s in sections):
        problems.append(t("importer.no_stage_column", lang))
    return problems
