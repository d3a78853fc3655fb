"""Spreadsheet cells to typed values: text, dates, counts, amounts, stages, kinds and roles.

Cells arrive as openpyxl gives them (str, int, float, datetime, None) or as CSV strings. Every
function either returns a value or raises CellError whose message names the cell's value.
Chinese input may be traditional: labels are normalised to simplified with zhconv before matching.
"""

from __future__ import annotations

import math
import re
import unicodedata
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import zhconv

from models import LeaderLevel, Role, Stage, UnitKind
from notifier.core.errors import GuatuError
from notifier.core.phones import PhoneError, parse_mobile
from notifier.core.texts import t
from notifier.numbers.amounts import parse_amount
from notifier.numbers.weeks import parse_week, week_key

# The largest amount a key project could plausibly carry (10 万亿 yuan); beyond it is a typo.
MAX_AMOUNT = Decimal("1e13")
_PLAIN_NUMBER = re.compile(r"^[+-]?\d[\d,]*(\.\d+)?$")
_DATE = re.compile(
    r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?$"
)
_COMPACT_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
# A month without a day, as offices write planned starts: 2025年4月, 2025.4, 2025-04, 2025/4.
_MONTH = re.compile(r"^(\d{4})\s*(?:年\s*(\d{1,2})\s*月份?|[-/.]\s*(\d{1,2}))$")
_WEEK = re.compile(r"^(\d{4})\s*(?:-?\s*[wW]|年第?)\s*(\d{1,2})\s*周?$")
_NAME_SEPARATORS = re.compile(r"[、,，;；/\n]+")
_COUNT = re.compile(r"^(\d{1,6})(?:\.0+)?\s*(?:个|项|件)?$")
EXCEL_EPOCH = date(1899, 12, 30)

STAGES: dict[str, Stage] = {
    "preparatory": Stage.PREPARATORY, "前期": Stage.PREPARATORY, "前期工作": Stage.PREPARATORY,
    "前期项目": Stage.PREPARATORY, "储备": Stage.PREPARATORY,
    "new": Stage.NEW, "新开工": Stage.NEW, "新开": Stage.NEW, "新建": Stage.NEW, "新开工项目": Stage.NEW,
    "continuing": Stage.CONTINUING, "续建": Stage.CONTINUING, "续建项目": Stage.CONTINUING,
    "复工": Stage.CONTINUING, "在建": Stage.CONTINUING,
    "completed": Stage.COMPLETED, "竣工投产": Stage.COMPLETED, "竣工": Stage.COMPLETED,
    "投产": Stage.COMPLETED, "已竣工": Stage.COMPLETED, "建成投产": Stage.COMPLETED,
}  # fmt: skip
KINDS: dict[str, UnitKind] = {
    "banner": UnitKind.BANNER, "旗": UnitKind.BANNER, "旗县": UnitKind.BANNER,
    "district": UnitKind.DISTRICT, "区": UnitKind.DISTRICT, "旗区": UnitKind.DISTRICT,
    "park": UnitKind.PARK, "园区": UnitKind.PARK, "开发区": UnitKind.PARK,
    "department": UnitKind.DEPARTMENT, "部门": UnitKind.DEPARTMENT, "盟直部门": UnitKind.DEPARTMENT,
}  # fmt: skip
ROLES: dict[str, Role] = {
    "lead": Role.LEAD, "项目负责人": Role.LEAD, "负责人": Role.LEAD,
    "leader": Role.LEADER, "领导": Role.LEADER, "包联领导": Role.LEADER,
    "盟领导": Role.LEADER, "盟级领导": Role.LEADER, "包联盟领导": Role.LEADER,
    "旗区领导": Role.LEADER, "包联旗区领导": Role.LEADER, "部门领导": Role.LEADER,
    "staff": Role.STAFF, "工作人员": Role.STAFF, "部门联系人": Role.STAFF, "联系人": Role.STAFF,
    "包联部门联系人": Role.STAFF,
    "admin": Role.ADMIN, "管理员": Role.ADMIN,
    "approver": Role.APPROVER, "审核人": Role.APPROVER,
}  # fmt: skip
LEVELS: dict[str, LeaderLevel] = {
    "league": LeaderLevel.LEAGUE, "盟级": LeaderLevel.LEAGUE, "盟": LeaderLevel.LEAGUE,
    "unit": LeaderLevel.UNIT, "旗区": LeaderLevel.UNIT, "旗区级": LeaderLevel.UNIT, "园区": LeaderLevel.UNIT,
    "department": LeaderLevel.DEPARTMENT, "部门": LeaderLevel.DEPARTMENT,
}  # fmt: skip
# Role names that also say the leader's level (三级包联: league, banner/district, department).
ROLE_LEVELS: dict[str, LeaderLevel] = {
    "盟领导": LeaderLevel.LEAGUE, "盟级领导": LeaderLevel.LEAGUE, "包联盟领导": LeaderLevel.LEAGUE,
    "旗区领导": LeaderLevel.UNIT, "包联旗区领导": LeaderLevel.UNIT, "部门领导": LeaderLevel.DEPARTMENT,
}  # fmt: skip
LANGUAGES = {"zh": "zh", "中文": "zh", "汉语": "zh", "zh-cn": "zh", "en": "en", "english": "en", "英文": "en"}


class CellError(GuatuError, ValueError):
    """A cell value that cannot be used; the message says which value and why."""


def cell_text(value: Any) -> str:
    """A cell as trimmed text: integral floats lose their ".0", dates print as ISO, None is ""."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer() and abs(value) < 1e18:
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value).replace("\u3000", " ").strip()


def label_key(text: str) -> str:
    """A label for matching: simplified Chinese, full-width folded, no spaces, lower case."""
    folded = unicodedata.normalize("NFKC", text)
    return re.sub(r"[\s_\-*]+", "", zhconv.convert(folded, "zh-cn")).lower()


def _lookup(table: dict[str, Any], value: Any, key: str, lang: str) -> Any:
    found = table.get(label_key(cell_text(value)))
    if found is None:
        raise CellError(t(key, lang, value=cell_text(value)))
    return found


def parse_stage(value: Any, lang: str = "zh") -> Stage:
    """前期/新开工/续建/竣工投产 (simplified or traditional) or the English stage names."""
    return _lookup(STAGES, value, "importer.bad_stage", lang)  # type: ignore[no-any-return]


def parse_kind(value: Any, lang: str = "zh") -> UnitKind:
    """旗/区/园区/部门 or banner/district/park/department."""
    return _lookup(KINDS, value, "importer.bad_kind", lang)  # type: ignore[no-any-return]


def parse_role(value: Any, lang: str = "zh") -> Role:
    """项目负责人/领导/工作人员/管理员/审核人 or the English role names."""
    return _lookup(ROLES, value, "importer.bad_role", lang)  # type: ignore[no-any-return]


def role_level(value: Any) -> LeaderLevel | None:
    """The leader level a role name carries (盟领导 -> league, 旗区领导 -> unit), None for the others."""
    return ROLE_LEVELS.get(label_key(cell_text(value)))


def parse_level(value: Any, lang: str = "zh") -> LeaderLevel:
    """盟级/旗区/部门 or league/unit/department."""
    return _lookup(LEVELS, value, "importer.bad_level", lang)  # type: ignore[no-any-return]


def parse_language(value: Any, lang: str = "zh") -> str:
    """zh or en (中文/英文 accepted)."""
    return _lookup(LANGUAGES, value, "importer.bad_language", lang)  # type: ignore[no-any-return]


def month_only(value: Any) -> bool:
    """Whether a date cell names a month without a day (2025年4月, 2025.4, 2025-04): it reads as the 1st."""
    if isinstance(value, float) and not isinstance(value, bool):
        return _is_year(value)
    if isinstance(value, date | int) or value is None:
        return False
    return _MONTH.match(unicodedata.normalize("NFKC", cell_text(value))) is not None


def _is_year(number: float) -> bool:
    return math.isfinite(number) and not number.is_integer() and 1950 <= number < 2101


def parse_date(value: Any, lang: str = "zh") -> date | None:
    """2026-03-01, 2026/3/1, 2026.3.1, 2026年3月1日, 20260301, an Excel date cell or serial; "" is None.

    A month alone (2025年4月, 2025.4, 2025-04) is the first of that month (see `month_only`).
    """
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = cell_text(value)
    if not text:
        return None
    bad = CellError(t("importer.bad_date", lang, value=text))
    if isinstance(value, float) and _is_year(value):
        return _month_number(value, text, bad, lang)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _excel_serial(value, bad)
    text = unicodedata.normalize("NFKC", text)
    month = _MONTH.match(text)
    if month is not None:
        return _first_of(int(month.group(1)), int(month.group(2) or month.group(3)), bad)
    match = _DATE.match(text) or _COMPACT_DATE.match(text)
    if match is None:
        if text.isdigit():
            return _excel_serial(int(text), bad)
        raise bad
    try:
        return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        raise bad from None


def _first_of(year: int, month: int, bad: CellError) -> date:
    try:
        return date(year, month, 1)
    except ValueError:
        raise bad from None


def _month_number(value: float, text: str, bad: CellError, lang: str) -> date:
    # Typed as a number, 2025.10 becomes 2025.1: a ".1" month is January or October, so it is asked.
    year, _, fraction = text.partition(".")
    if fraction == "1":
        raise CellError(t("importer.month_ambiguous", lang, value=text, year=year))
    if len(fraction) > 2:
        raise bad
    return _first_of(int(year), int(fraction), bad)


def _excel_serial(serial: float, bad: CellError) -> date:
    # Excel counts days from 1899-12-30; only serials for 1950..2100 can be a project date.
    if not math.isfinite(serial) or not 18264 <= serial <= 73051:
        raise bad
    return EXCEL_EPOCH + timedelta(days=int(serial))


def parse_week_cell(value: Any, lang: str = "zh") -> str:
    """An ISO week "2026-W47" from 2026-W47, 2026W47, 2026年第47周, or any date in that week."""
    if isinstance(value, date):
        return week_key(value if not isinstance(value, datetime) else value.date())
    text = unicodedata.normalize("NFKC", cell_text(value))
    bad = CellError(t("importer.bad_week", lang, value=text))
    match = _WEEK.match(text)
    if match is None:
        if _DATE.match(text):
            day = parse_date(text, lang)
            if day is not None:
                return week_key(day)
        raise bad
    key = f"{match.group(1)}-W{int(match.group(2)):02d}"
    try:
        parse_week(key)
    except ValueError:
        raise bad from None
    return key


def parse_names(value: Any, lang: str = "zh") -> list[str]:
    """A list of procedure names in one cell ("立项备案、用地预审、环评批复"); each at most 64 characters."""
    names: list[str] = []
    for part in _NAME_SEPARATORS.split(cell_text(value)):
        name = part.strip()
        if name and name not in names:
            if len(name) > 64:
                raise CellError(t("importer.too_long", lang, limit=64))
            names.append(name)
    return names


def parse_count(value: Any, lang: str = "zh") -> int:
    """A whole number of procedures, 0 or more ("5", 5, 5.0, "5项"); "" is 0."""
    text = unicodedata.normalize("NFKC", cell_text(value))
    if not text:
        return 0
    match = _COUNT.match(text)
    if match is None:
        raise CellError(t("importer.bad_count", lang, value=text))
    return int(match.group(1))


def parse_positive_id(value: Any, lang: str = "zh") -> int | None:
    """A Telegram user id (a positive integer); "" is None."""
    text = cell_text(value)
    if not text:
        return None
    if not text.isascii() or not text.isdigit() or not 0 < int(text) < 2**63:
        raise CellError(t("importer.bad_telegram", lang, value=text))
    return int(text)


def parse_phone_cell(value: Any, lang: str = "zh") -> str | None:
    """A phone cell as E.164 (region CN); "" is None. Excel often stores numbers as numbers."""
    text = cell_text(value)
    if not text:
        return None
    try:
        return parse_mobile(text, "CN")  # SMS goes to mobiles only: a landline is refused here
    except PhoneError as exc:
        raise CellError(f"{t('importer.bad_phone', lang, value=text)}({exc})") from None


def parse_amount_cell(value: Any, *, scale: Decimal = Decimal(1), lang: str = "zh") -> Decimal | None:
    """A yuan amount; "" is None. A bare number is in the column's unit (`scale`: 10000 for 万元)."""
    text = cell_text(value)
    if not text:
        return None
    plain = unicodedata.normalize("NFKC", text).replace(" ", "")
    try:
        if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
            amount = Decimal(plain) * scale
        elif _PLAIN_NUMBER.match(plain):
            amount = parse_amount(plain) * scale
        else:
            amount = parse_amount(text)
    except (ValueError, ArithmeticError, InvalidOperation) as exc:
        raise CellError(
            t("importer.bad_amount", lang, value=text, reason=str(exc) or type(exc).__name__)
        ) from None
    if not amount.is_finite() or amount < 0 or amount > MAX_AMOUNT:
        reason = t("importer.amount_range", lang)
        raise CellError(t("importer.bad_amount", lang, value=text, reason=reason))
    return amount.quantize(Decimal("0.01"))
