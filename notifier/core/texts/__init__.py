"""User-facing text, Chinese first. Each area keeps its ZH and EN tables side by side in one module."""

from __future__ import annotations

from enum import Enum
from typing import Any

from notifier.core.texts import (
    alerts,
    approval,
    bot,
    bulletin,
    cli,
    codes,
    console,
    conversation,
    core,
    importer,
    labels,
    sms,
    web,
    webhook,
    wecom,
)

_AREAS = [
    core,
    cli,
    bulletin,
    webhook,
    alerts,
    importer,
    web,
    bot,
    sms,
    approval,
    labels,
    codes,
    wecom,
    conversation,
    console,
]
ZH: dict[str, str] = {}
EN: dict[str, str] = {}


def register(module: Any) -> None:
    """Merge an area's tables (modules call this at import; keys must be unique across areas)."""
    for key in module.ZH:
        if key in ZH and ZH[key] != module.ZH[key]:
            raise KeyError(f"duplicate text key {key}")
    ZH.update(module.ZH)
    EN.update(module.EN)


for _area in _AREAS:
    register(_area)


def t(key: str, lang: str = "zh", /, **values: Any) -> str:
    """Text for `key` in `lang` (falls back to Chinese), formatted with `values`."""
    table = EN if lang == "en" else ZH
    template = table.get(key) or ZH[key]
    return template.format(**values) if values else template


def label(kind: str, value: Any, lang: str = "zh", /) -> str:
    """How people read a stored value of the enum `kind` (`label("CampaignState", "done")` → 已完成);
    the value itself when there is no name for it."""
    raw = str(value.value if isinstance(value, Enum) else value)
    key = f"label.{kind}.{raw}"
    return (EN if lang == "en" else ZH).get(key) or ZH.get(key) or raw
