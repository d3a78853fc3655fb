"""Hostile input for amounts and SMS segments (hypothesis): never an unhandled exception, and the
invariants hold — a parsed amount re-rendered and re-parsed is the same; segment counts never
under-count against an independent reference encoder; no escape or surrogate pair is split."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from notifier.numbers.amounts import AmountError, format_amount, parse_amount
from notifier.sending.segments import segment_info, split_segments

FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")

# --- amounts ------------------------------------------------------------------------------------

typed = st.one_of(
    st.text(max_size=30),
    st.text(alphabet="0123456789.,，万萬亿億元一二三四五六七八九十百千两兩零〇 -+eE", max_size=16),
    st.from_regex(r"\A[0-9]{1,6}(\.[0-9]{1,3})?(万|亿|万元|亿元|元)?\Z"),
)


@settings(max_examples=600, deadline=None)
@given(typed)
def test_parse_amount_refuses_clearly_or_returns_a_sane_amount(text: str) -> None:
    try:
        value = parse_amount(text)
    except AmountError as exc:  # the one error it may raise, with a message a lead can act on
        assert str(exc) and "例如" in str(exc)
        return
    assert isinstance(value, Decimal)
    assert Decimal(0) <= value <= Decimal(10**12)
    assert value == value.quantize(Decimal("0.01"))


@settings(max_examples=400, deadline=None)
@given(st.integers(min_value=0, max_value=999_999))
def test_amounts_under_one_yi_survive_render_and_reparse(hundreds: int) -> None:
    yuan = Decimal(hundreds) * 100  # what "x.xx万元" can say exactly
    shown = format_amount(yuan)
    assert parse_amount(shown) == yuan
    assert parse_amount(shown.translate(FULL_WIDTH)) == yuan  # full-width digits read the same


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=100, max_value=999_999))
def test_amounts_from_one_yi_survive_render_and_reparse(millions: int) -> None:
    yuan = Decimal(millions) * 1_000_000  # what "x.xx亿元" can say exactly
    assert parse_amount(format_amount(yuan)) == yuan


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=1, max_value=9_999), st.integers(min_value=0, max_value=9_999))
def test_yi_and_wan_written_together(yi: int, wan: int) -> None:
    expected = Decimal(yi) * 100_000_000 + Decimal(wan) * 10_000
    assert parse_amount(f"{yi}亿{wan}万" if wan else f"{yi}亿") == expected
    assert parse_amount(f"{yi}億{wan}萬元" if wan else f"{yi}億元") == expected


# --- segments -----------------------------------------------------------------------------------

# GSM 03.38, written out here independently of notifier/sending/segments.py.
REF_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿"
    "abcdefghijklmnopqrstuvwxyzäöñüà"
)
REF_EXTENSION = set("^{}\\[~]|€\f")


def reference_segments(text: str) -> int:
    """Segments as a carrier counts them: GSM-7 septets (escape = 2) or UTF-16 code units."""
    if not text:
        return 0
    if all(c in REF_BASIC or c in REF_EXTENSION for c in text):
        costs, single, multi = [2 if c in REF_EXTENSION else 1 for c in text], 160, 153
    else:
        costs, single, multi = [len(c.encode("utf-16-le")) // 2 for c in text], 70, 67
    if sum(costs) <= single:
        return 1
    segments, used = 1, 0
    for cost in costs:
        if used + cost > multi:
            segments, used = segments + 1, 0
        used += cost
    return segments


sms_text = st.one_of(
    st.text(alphabet=sorted(REF_BASIC | REF_EXTENSION), max_size=500),
    st.text(alphabet=sorted(REF_BASIC | REF_EXTENSION) + ["中", "文", "😀", "𠀀", "é"], max_size=400),
    st.text(max_size=300),
)


@settings(max_examples=600, deadline=None)
@given(sms_text)
def test_segments_never_under_count_and_pairs_are_never_split(text: str) -> None:
    info = segment_info(text)
    assert info.segments >= reference_segments(text)
    assert info.segments == reference_segments(text)
    parts = split_segments(text)
    assert "".join(parts) == text
    assert len(parts) == info.segments
    for part in parts:
        # Each part fits its segment counted the carrier's way: an escape pair or a surrogate pair
        # that straddled a boundary would push a part over.
        units = (sum(2 if c in REF_EXTENSION else 1 for c in part) if info.encoding == "GSM-7"
                 else len(part.encode("utf-16-le")) // 2)  # fmt: skip
        assert units <= (info.per_segment if len(parts) > 1 else {"GSM-7": 160, "UCS-2": 70}[info.encoding])
