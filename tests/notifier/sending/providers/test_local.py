"""The console and file providers: what they record, and reconciliation against them."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

import pytest

from models import utcnow
from notifier.core.errors import SettingsError
from notifier.core.settings import load_settings
from notifier.sending.providers import build_provider
from notifier.sending.providers.local import ConsoleProvider, FileProvider


async def test_file_provider_appends_and_finds_what_it_sent(tmp_path: Path) -> None:
    before = utcnow() - timedelta(seconds=1)
    provider = FileProvider(tmp_path / "out" / "sms.jsonl")
    first = await provider.send(to="+8613904830001", body="【发改委】一")
    await provider.send(to="+8613904830002", body="【发改委】二")
    # A second instance (a restarted worker) reads the same file.
    again = FileProvider(tmp_path / "out" / "sms.jsonl")
    found = await again.find_sent(to="+8613904830001", since=before)
    assert [(m.sid, m.body) for m in found] == [(first.sid, "【发改委】一")]
    assert await again.find_sent(to="+8613904830001", since=utcnow() + timedelta(seconds=1)) == []
    assert [m["to"] for m in again.messages()] == ["+8613904830001", "+8613904830002"]


async def test_console_provider_masks_the_number() -> None:
    stream = io.StringIO()
    provider = ConsoleProvider(stream)
    result = await provider.send(to="+8613904830001", body="通知")
    assert "通知" in stream.getvalue() and "+8613904830001" not in stream.getvalue()
    found = await provider.find_sent(to="+8613904830001", since=utcnow() - timedelta(seconds=5))
    assert [m.sid for m in found] == [result.sid]


@pytest.mark.parametrize(("backend", "kind"), [("file", FileProvider), ("console", ConsoleProvider)])
def test_build_provider_picks_the_backend(tmp_path: Path, backend: str, kind: type) -> None:
    settings = load_settings(sms_backend=backend, sms_file_path=tmp_path / "sms.jsonl", _env_file=None)
    assert isinstance(build_provider(settings), kind)


def test_twilio_without_credentials_is_a_clear_error() -> None:
    settings = load_settings(
        sms_backend="twilio", twilio_account_sid=None, twilio_auth_token=None, _env_file=None
    )
    with pytest.raises(SettingsError, match="TWILIO_ACCOUNT_SID"):
        build_provider(settings)
