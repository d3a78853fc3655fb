"""Money shown the way bulletins say it: 万元 under one 亿, else 亿元, two decimals (stored as yuan)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

WAN = Decimal(10_000)
YI = Decimal(100_000_000)
CENT = Decimal("0.01")


def format_amount(yuan: Decimal, lang: str = "zh") -> str:
    """30000000 -> "3000.00万元"; 120000000 -> "1.20亿元" (English: "30.00 million yuan")."""
    if lang == "en":
        return f"{(yuan / Decimal(1_000_000)).quantize(CENT, ROUND_HALF_UP)} million yuan"
    if abs(yuan) >= YI:
        return f"{(yuan / YI).quantize(CENT, ROUND_HALF_UP)}亿元"
    return f"{(yuan / WAN).quantize(CENT, ROUND_HALF_UP)}万元"


def format_rate(rate: Decimal | float | None) -> str:
    """0.8765 -> "87.7%"; None -> "—"."""
    if rate is None:
        return "—"
    return f"{(Decimal(str(rate)) * 100).quantize(Decimal('0.1'), ROUND_HALF_UP)}%"
