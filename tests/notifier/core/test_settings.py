"""Settings: defaults work with no credentials; a bad value names the setting in one line."""

import subprocess
import sys

import pytest

from notifier.core.errors import SettingsError
from notifier.core.settings import load_settings


def test_defaults_need_no_credentials() -> None:
    settings = load_settings(_env_file=None)
    assert settings.database_url.startswith("sqlite+aiosqlite:///")
    assert not settings.telegram_configured
    assert not settings.twilio_configured
    assert settings.quiet_window is not None


@pytest.mark.parametrize(
    ("overrides", "name"),
    [
        ({"database_url": "not a url at all"}, "DATABASE_URL"),
        ({"database_url": "mysql://x@y/z"}, "DATABASE_URL"),
        ({"sms_rate_per_sec": "fast"}, "SMS_RATE_PER_SEC"),
        ({"sms_rate_per_sec": "-3"}, "SMS_RATE_PER_SEC"),
        ({"timezone": "Mars/Olympus"}, "TIMEZONE"),
        ({"quiet_hours": "late"}, "QUIET_HOURS"),
        ({"sms_backend": "pigeon"}, "SMS_BACKEND"),
    ],
)
def test_bad_setting_names_it(overrides: dict[str, str], name: str) -> None:
    with pytest.raises(SettingsError) as info:
        load_settings(_env_file=None, **overrides)
    assert name in str(info.value)
    assert "\n" not in str(info.value)


def test_postgres_url_gets_async_driver() -> None:
    settings = load_settings(_env_file=None, database_url="postgresql://u@127.0.0.1:5432/test")
    assert settings.database_url.startswith("postgresql+asyncpg://")


def test_cli_reports_bad_setting_without_traceback(tmp_path) -> None:  # type: ignore[no-untyped-def]
    env = {"DATABASE_URL": "::nonsense::", "PATH": "/usr/bin:/bin"}
    proc = subprocess.run(
        [sys.executable, "-c", "from notifier.cli import main; main()", "db", "upgrade"],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2
    assert "DATABASE_URL" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
