"""GUATU_LANGUAGE, and the old name LANGUAGE read only when it is exactly zh or en (elsewhere it is
GNU gettext's locale list, such as en_US:en)."""

from __future__ import annotations

from pathlib import Path

import pytest

from notifier.core.errors import SettingsError
from notifier.core.settings import load_settings


@pytest.mark.parametrize(
    ("environ", "dotenv", "expected"),
    [
        ({}, "", "zh"),
        ({"LANGUAGE": "en_US:en"}, "", "zh"),
        ({"LANGUAGE": "en"}, "", "en"),
        ({"LANGUAGE": "fr"}, "", "zh"),
        ({"GUATU_LANGUAGE": "en"}, "", "en"),
        ({"GUATU_LANGUAGE": "en", "LANGUAGE": "zh"}, "", "en"),
        ({"GUATU_LANGUAGE": "zh", "LANGUAGE": "en"}, "", "zh"),
        ({}, "LANGUAGE=en\n", "en"),
        ({"LANGUAGE": "en_US:en"}, "LANGUAGE=en\n", "en"),
        ({"LANGUAGE": "zh"}, "GUATU_LANGUAGE=en\n", "en"),  # the new name outranks the old one
        ({"GUATU_LANGUAGE": "en"}, "LANGUAGE=zh\n", "en"),
        ({"LANGUAGE": "en"}, "LANGUAGE=zh\n", "en"),  # the environment outranks .env, as for every setting
    ],
)
def test_language_setting(
    environ: dict[str, str], dotenv: str, expected: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("GUATU_LANGUAGE", "LANGUAGE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    env_file = tmp_path / ".env"
    env_file.write_text(dotenv, encoding="utf-8")
    assert load_settings(_env_file=env_file).language == expected


def test_a_bad_guatu_language_is_refused_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GUATU_LANGUAGE", "en_US:en")
    with pytest.raises(SettingsError, match="GUATU_LANGUAGE"):
        load_settings(_env_file=None)


def test_language_given_in_code_still_works() -> None:
    assert load_settings(language="en", _env_file=None).language == "en"
