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


AES_KEY = "a" * 43
WECOM = {"wecom_corp_id": "ww0123456789abcdef", "wecom_agent_id": "1000002", "wecom_secret": "app-secret",
         "wecom_token": "callback-token", "wecom_aes_key": AES_KEY}  # fmt: skip


def test_wecom_is_off_without_its_settings_and_on_with_all_five() -> None:
    assert not load_settings(_env_file=None).wecom_configured
    assert load_settings(_env_file=None, **WECOM).wecom_configured


@pytest.mark.parametrize("left_out", sorted(WECOM))
def test_partial_wecom_settings_name_what_is_missing(left_out: str) -> None:
    given = {name: value for name, value in WECOM.items() if name != left_out}
    with pytest.raises(SettingsError) as info:
        load_settings(_env_file=None, **given)
    assert left_out.upper() in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("overrides", "name"),
    [({**WECOM, "wecom_aes_key": "short"}, "WECOM_AES_KEY"), ({**WECOM, "wecom_aes_key": "!" * 43}, "WECOM_AES_KEY"),
     ({**WECOM, "wecom_agent_id": "app"}, "WECOM_AGENT_ID"), ({"channel_order": "wecom,fax"}, "CHANNEL_ORDER"),
     ({"channel_order": "sms,sms"}, "CHANNEL_ORDER"), ({"channel_order": " , "}, "CHANNEL_ORDER")],
)  # fmt: skip
def test_bad_wecom_or_channel_setting_names_it(overrides: dict[str, str], name: str) -> None:
    with pytest.raises(SettingsError) as info:
        load_settings(_env_file=None, **overrides)
    assert name in str(info.value)


def test_channel_order_is_normalised() -> None:
    assert load_settings(_env_file=None, channel_order=" WeCom ; sms").channel_order == "wecom,sms"
