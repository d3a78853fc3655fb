"""Stored states and kinds are shown to people by name, in Chinese by default and in English."""

from __future__ import annotations

from enum import StrEnum

import pytest

from models import BulletinKind, BulletinState, CampaignKind, CampaignState, DeliveryState, Role, Stage
from notifier.core.texts import EN, ZH, label

SHOWN: list[type[StrEnum]] = [
    CampaignKind,
    CampaignState,
    DeliveryState,
    BulletinKind,
    BulletinState,
    Stage,
    Role,
]


@pytest.mark.parametrize("enum", SHOWN, ids=lambda e: e.__name__)
def test_every_value_has_a_chinese_and_an_english_name(enum: type[StrEnum]) -> None:
    for member in enum:
        assert f"label.{enum.__name__}.{member.value}" in ZH
        assert f"label.{enum.__name__}.{member.value}" in EN
        assert label(enum.__name__, member) == label(enum.__name__, member.value)  # member or stored string


def test_names_read_as_people_expect() -> None:
    assert label("CampaignState", "done") == "已完成"
    assert label("CampaignState", "done", "en") == "done"
    assert label("BulletinState", BulletinState.EXPIRED) == "逾期未发送"
    assert label("DeliveryState", "skipped") == "跳过"


def test_an_unknown_value_is_shown_as_stored() -> None:
    assert label("CampaignState", "archived") == "archived"
    assert label("NoSuchEnum", "x", "en") == "x"
