"""The broadcast page's audience picker: choices made on the form become an audience spec
(`notifier.sending.audiences`), and a spec reads back in words on every console page."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from notifier.core.texts import t
from notifier.sending.audiences import AudienceError, parse_audience

GROUPS = ("all-leaders", "all-leads", "black-list-leads")
# Roles offered on the form, as offices name them (notifier.sending.audiences.ROLE_NAMES reads them).
ROLES = ("盟领导", "旗区领导", "部门领导", "部门联系人", "项目负责人", "审核人")
_PHONE_SPLIT = re.compile(r"[\s,，、;；]+")
MAX_PHONES = 200


@dataclass
class Picks:
    """What the admin ticked and typed on the broadcast form."""

    groups: list[str] = field(default_factory=list)
    units: list[str] = field(default_factory=list)  # unit codes
    roles: list[str] = field(default_factory=list)
    phones: str = ""

    def phone_list(self) -> list[str]:
        return [p for p in _PHONE_SPLIT.split(self.phones.strip()) if p]


def picks_errors(picks: Picks, *, unit_codes: set[str], lang: str) -> list[str]:
    """What is wrong with the picks (a value the form never offered, too many numbers); empty when fine."""
    errors = []
    unknown = [g for g in picks.groups if g not in GROUPS] + [r for r in picks.roles if r not in ROLES]
    unknown += [u for u in picks.units if u not in unit_codes]
    if unknown:
        errors.append(t("console.audience.unknown", lang, values="、".join(v[:20] for v in unknown[:5])))
    if len(picks.phone_list()) > MAX_PHONES:
        errors.append(t("console.audience.too_many_phones", lang, limit=MAX_PHONES))
    return errors


def audience_spec(picks: Picks) -> str:
    """The spec for the picks ("" when nothing was chosen); the numbers go last, as `phones:` takes
    everything after it."""
    parts = [g for g in GROUPS if g in picks.groups]
    parts += [f"unit:{code}" for code in picks.units]
    parts += [f"role:{role}" for role in picks.roles]
    phones = picks.phone_list()
    if phones:
        parts.append("phones:" + ",".join(phones))
    return ",".join(parts)


def picks_of(spec: str) -> Picks:
    """The picks a spec came from (to show the form again as it was); an unreadable spec gives none."""
    picks = Picks()
    try:
        selectors = parse_audience(spec)
    except AudienceError:
        return picks
    for s in selectors:
        if s.kind in GROUPS:
            picks.groups.append(s.kind)
        elif s.kind == "unit":
            picks.units.append(s.value)
        elif s.kind == "role":
            picks.roles.append(s.value)
        elif s.kind == "phones":
            picks.phones = "\n".join([*picks.phone_list(), *s.phones])
    return picks


def describe_audience(spec: str, *, unit_names: dict[str, str], lang: str) -> str:
    """A spec in words: "全体领导、阿拉善左旗、盟领导、3 个号码"; an unreadable spec as it is."""
    try:
        selectors = parse_audience(spec)
    except AudienceError:
        return spec
    words = []
    for s in selectors:
        if s.kind in GROUPS:
            words.append(t(f"console.audience.{s.kind}", lang))
        elif s.kind == "unit":
            words.append(unit_names.get(s.value, s.value))
        elif s.kind == "role":
            words.append(t("label.Role." + s.value, lang) if s.value in {"lead", "leader", "staff", "admin",
                                                                             "approver"} else s.value)  # fmt: skip
        elif s.kind == "phones":
            count = len([p for p in s.phones if p.strip()])
            words.append(", ".join(s.phones) if count <= 2 else t("console.audience.n_phones", lang, n=count))
    return ("、" if lang == "zh" else ", ").join(words)
