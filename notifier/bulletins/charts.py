"""The unit ranking chart (PNG) that leaders get with the Telegram copy of a bulletin."""

from __future__ import annotations

import io
from functools import lru_cache

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
from matplotlib import font_manager

from notifier.core.texts import t
from notifier.numbers.money import format_rate
from notifier.numbers.rates import Numbers, ranked

CJK_FAMILIES = ("WenQuanYi Micro Hei", "WenQuanYi Zen Hei", "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC",
                "SimHei", "Microsoft YaHei", "PingFang SC", "AR PL UMing CN", "Droid Sans Fallback")  # fmt: skip


@lru_cache(maxsize=1)
def cjk_font() -> str | None:
    """A font family on this machine that has Chinese glyphs, or None."""
    installed = {f.name for f in font_manager.fontManager.ttflist}
    return next((name for name in CJK_FAMILIES if name in installed), None)


def ranking_chart(numbers: Numbers, *, lang: str = "zh") -> bytes:
    """Horizontal bars of each unit's investment-plan completion, with the time schedule as a line.

    Without a Chinese font, units are labelled by code and the title is in English, so the
    chart never shows empty boxes.
    """
    font = cjk_font() if lang == "zh" else None
    chinese = font is not None
    units = [
        u for u in reversed(ranked(numbers.units, "investment_rate")) if u.rates.investment_rate is not None
    ]
    labels = [u.short_name if chinese else u.code for u in units]
    values = [float(u.rates.investment_rate or 0) * 100 for u in units]
    schedule = float(numbers.time_schedule) * 100
    colors = ["#c0392b" if v < schedule - 20 else "#e67e22" if v < schedule else "#27ae60" for v in values]
    with plt.rc_context({"font.family": [font] if font else ["DejaVu Sans"], "axes.unicode_minus": False}):
        fig, ax = plt.subplots(figsize=(7, 0.45 * max(len(units), 3) + 1.2), dpi=120)
        ax.barh(labels, values, color=colors)
        ax.axvline(schedule, color="#34495e", linestyle="--", linewidth=1)
        for y, (value, unit) in enumerate(zip(values, units, strict=True)):
            ax.text(value + 1, y, format_rate(unit.rates.investment_rate), va="center", fontsize=8)
        ax.set_xlim(0, max([110.0, *[v + 12 for v in values]]))
        ax.set_title(t("bulletin.chart.title", "zh" if chinese else "en"), fontsize=10)
        ax.set_xlabel("%")
        fig.tight_layout()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
        plt.close(fig)
    return buffer.getvalue()
