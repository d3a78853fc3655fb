"""Signed links: report links round-trip, stay short, and refuse anything altered or late."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from notifier.core.settings import load_settings
from notifier.reporting.links import (
    LinkError,
    read_report_token,
    read_wall_token,
    report_link,
    report_token,
    wall_token,
)
from notifier.reporting.reports import report_deadline

SETTINGS = load_settings(
    secret_key="links-test-secret", public_base_url="https://gt.example.cn", _env_file=None
)
BEFORE = datetime(2026, 11, 23, tzinfo=UTC)


def test_report_link_is_short_and_round_trips() -> None:
    link = report_link(SETTINGS, person_id=1234, project_id=87, week="2026-W48")
    assert link.startswith("https://gt.example.cn/r/") and len(link) < 80
    claim = read_report_token(SETTINGS, link.rsplit("/", 1)[1], now=BEFORE)
    assert (claim.person_id, claim.project_id, claim.week) == (1234, 87, "2026-W48")
    assert claim.expires_at == report_deadline(SETTINGS, "2026-W48")


def _swap_payload(token: str) -> str:
    payload, sig = token.rsplit(".", 1)
    return payload.replace("57", "58") + "." + sig


@pytest.mark.parametrize(
    "token",
    [
        "",
        "nonsense",
        "4d2.57.2026-W48",
        "4d2.57.2026-W48.AAAAAAAAAAAAAAAAAAAAAAAAAAA",
        _swap_payload(report_token(SETTINGS, person_id=1234, project_id=87, week="2026-W48")),
        report_token(
            load_settings(secret_key="another-secret", _env_file=None),
            person_id=1,
            project_id=2,
            week="2026-W48",
        ),  # fmt: skip
    ],
)
def test_altered_report_tokens_are_refused(token: str) -> None:
    with pytest.raises(LinkError):
        read_report_token(SETTINGS, token, now=BEFORE)


def test_report_token_expires_at_the_deadline() -> None:
    token = report_token(SETTINGS, person_id=1, project_id=2, week="2026-W48")
    deadline = report_deadline(SETTINGS, "2026-W48")
    read_report_token(SETTINGS, token, now=deadline - timedelta(seconds=1))
    with pytest.raises(LinkError, match="过期"):
        read_report_token(SETTINGS, token, now=deadline)


def test_wall_tokens() -> None:
    assert read_wall_token(SETTINGS, wall_token(SETTINGS, link_id=3, version=2)) == (3, 2)
    with pytest.raises(LinkError):
        read_wall_token(SETTINGS, wall_token(SETTINGS, link_id=3, version=2) + "x")
