"""Amounts as leads type them: 3000万, 1.2億, 2亿3000万, １２００萬元, 12,000,000, 一千二百万 -> yuan.

Traditional and full-width input is normalised first (zhconv, NFKC), so only simplified forms are
matched below. Anything that is not clearly one amount raises AmountError with an example.

`parse_amount` is the strict reader (a bare number is yuan). `read_amount` reads a lead's reply in a
field or chat that is labelled 万元: a bare number is 万元 but asked back ("是3000万元吗?"), 3千万 /
1.5千万 (a digit before 千/百/十 before 万/亿) and 约500万 / 500万左右 are read and asked back, and
无 / 没有 / 暂无 mean 0.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import zhconv

from notifier.core.errors import GuatuError
from notifier.core.texts import t
from notifier.numbers import money

WAN = Decimal(10_000)
YI = Decimal(100_000_000)
CENT = Decimal("0.01")
LIMIT = Decimal(10) ** 12

CN_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
CN_UNITS = {"十": 10, "百": 100, "千": 1000}
ARABIC = re.compile(r"\d+(?:\.\d+)?")
GROUPED = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?")


class AmountError(GuatuError, ValueError):
    """An amount that cannot be read unambiguously; the message says why, with an example."""


def _fail(key: str, text: str, lang: str = "zh") -> AmountError:
    return AmountError(t(f"bot.amount.{key}", lang, text=text, example=t("bot.amount.example", lang)))


def _normalise(text: str) -> str:
    value = unicodedata.normalize("NFKC", zhconv.convert(text, "zh-cn"))
    return re.sub(r"\s+", "", value)


def _chinese_section(part: str, original: str) -> Decimal:
    """一千二百 -> 1200, 十 -> 10, 零 -> 0; below 10000 (万 and 亿 are split off before)."""
    total = 0
    digit: int | None = None
    last_unit = 10_000
    for char in part:
        if char in CN_DIGITS:
            if digit is not None and CN_DIGITS[char] != 0 and digit != 0:
                raise _fail("ambiguous", original)
            digit = CN_DIGITS[char]
        elif char in CN_UNITS:
            unit = CN_UNITS[char]
            if unit >= last_unit:
                raise _fail("ambiguous", original)
            # 十 alone (十万) means one ten.
            total += (1 if digit is None else digit) * unit
            if digit == 0:
                raise _fail("ambiguous", original)
            digit = None
            last_unit = unit
        else:
            raise _fail("garbage", original)
    if digit:
        # 三千五 would be a trailing digit after a unit: read as 3005 or 3500? Refuse.
        if last_unit > 10 and last_unit != 10_000:
            raise _fail("ambiguous", original)
        total += digit
    return Decimal(total)


def _number(part: str, original: str) -> Decimal:
    if not part:
        raise _fail("garbage", original)
    if GROUPED.fullmatch(part):
        part = part.replace(",", "")
    if ARABIC.fullmatch(part):
        try:
            return Decimal(part)
        except InvalidOperation as exc:  # pragma: no cover - the regex admits only digits
            raise _fail("garbage", original) from exc
    if all(char in CN_DIGITS or char in CN_UNITS for char in part):
        return _chinese_section(part, original)
    raise _fail("garbage", original)


def _check_form(value: str, original: str) -> None:
    """Refuse the forms that look like numbers but are not one plain non-negative amount."""
    if value.lower().lstrip("+-") in {"nan", "inf", "infinity", "∞"}:
        raise _fail("not_finite", original)
    if value.startswith(("-", "负", "−")):
        raise _fail("negative", original)
    if re.search(r"\d[eE][+-]?\d", value):
        raise _fail("scientific", original)


def _sum_units(value: str, original: str) -> Decimal:
    """[N亿][N万][N] with the 亿 part integral when followed by more; trailing bare numbers are refused."""
    total = Decimal(0)
    rest = value
    if "亿" in rest:
        head, _, rest = rest.partition("亿")
        if "亿" in rest or "万" in head:
            raise _fail("ambiguous", original)
        yi = _number(head, original)
        if rest and yi != yi.to_integral_value():
            raise _fail("ambiguous", original)  # 1.5亿3000万
        total += yi * YI
    if "万" in rest:
        head, _, tail = rest.partition("万")
        if tail:
            if not re.fullmatch(r"[\d.,亿万零〇一二两三四五六七八九十百千]+", tail):
                raise _fail("garbage", original)  # 3000万左右
            raise _fail("ambiguous", original)  # 2亿3000万500 or 3000万2亿
        total += _number(head, original) * WAN
    elif rest:
        if "亿" in value:
            raise _fail("ambiguous", original)  # 2亿3000: 3000 what?
        total += _number(rest, original)
    return total


def parse_amount(text: str) -> Decimal:
    """Yuan for a typed amount; raises AmountError (negative, empty, garbage, 1e3, NaN, > 1e12 yuan, ambiguous)."""
    original = text.strip()
    value = _normalise(text)
    _check_form(value, original)
    value = value.removesuffix("元")
    if not value:
        raise _fail("empty", original)
    total = _sum_units(value, original)
    if total > LIMIT:
        raise _fail("too_large", original)
    if total != total.quantize(CENT):
        raise _fail("fraction", original)
    return total.quantize(CENT)


def format_amount(yuan: Decimal, lang: str = "zh") -> str:
    """万元 under one 亿, else 亿元, two decimals: 30000000 -> "3000.00万元" (parse_amount reads it back)."""
    return money.format_amount(yuan, lang)


ZERO_WORDS = frozenset({"无", "没有", "暂无", "无投资", "没有投资", "0"})
APPROX_PREFIX = re.compile(r"^(?:大约|大概|约计|约合|将近|接近|约|近)")
APPROX_SUFFIX = re.compile(r"(?:左右|上下)$")
MIXED = re.compile(r"(\d+(?:\.\d+)?)([十百千])(?=[万亿])")
BARE = re.compile(r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?")


@dataclass(frozen=True)
class AmountReading:
    """An amount read from a lead's reply; `question` is set when it must be confirmed before storing.

    reason: None (clear), "bare" (a number without a unit, taken as 万元), "mixed" (3千万) or
    "approximate" (约500万).
    """

    yuan: Decimal
    reason: str | None = None
    question: str | None = None


def spoken_amount(yuan: Decimal, lang: str = "zh") -> str:
    """3000万元, 1.5亿元, 12.5万元: the amount as a lead would say it back (no trailing zeros)."""
    if lang == "en":
        return f"{_plain(yuan / Decimal(1_000_000))} million yuan"
    if yuan >= YI:
        return f"{_plain(yuan / YI)}亿元"
    return f"{_plain(yuan / WAN)}万元"


def _plain(value: Decimal) -> str:
    text = f"{value.quantize(Decimal('0.000001')):f}".rstrip("0").rstrip(".")
    return text or "0"


def read_amount(text: str, lang: str = "zh") -> AmountReading:
    """Yuan for a reply to a 万元 question; raises AmountError like parse_amount for what it cannot read."""
    original = text.strip()
    value = _normalise(text)
    if value in ZERO_WORDS:
        return AmountReading(Decimal(0))
    reason: str | None = None
    stripped = APPROX_SUFFIX.sub("", APPROX_PREFIX.sub("", value))
    if stripped != value:
        reason, value = "approximate", stripped
    if MIXED.search(value):
        value = MIXED.sub(lambda m: f"{Decimal(m.group(1)) * CN_UNITS[m.group(2)]:f}", value)
        reason = reason or "mixed"
    _check_form(value, original)
    if BARE.fullmatch(value):
        yuan = _number(value, original) * WAN
        if yuan == 0:
            return AmountReading(Decimal(0))
        reason = reason or "bare"
    else:
        yuan = parse_amount(value)
    if yuan > LIMIT:
        raise _fail("too_large", original)
    if yuan != yuan.quantize(CENT):
        raise _fail("fraction", original)
    yuan = yuan.quantize(CENT)
    if reason is None:
        return AmountReading(yuan)
    question = t(f"bot.amount.confirm_{reason}", lang, text=original, amount=spoken_amount(yuan, lang))
    return AmountReading(yuan, reason, question)
