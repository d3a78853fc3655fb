"""Entry point of the `guatu` command line.

Every failure a user can cause (a bad option, date or id, a bad setting, a database that is not
set up) ends in one line on stderr and exit code 1 or 2, never a traceback.
"""

from __future__ import annotations

import re
import sys

import typer
from typer._click.exceptions import ClickException, NoArgsIsHelpError, UsageError
from typer.core import TyperGroup
from typer.exceptions import Abort

from notifier.cli.main import ROOT_HELP, app, cli_language, err_console, help_half, localise_help
from notifier.core.errors import GuatuError


def _language_and_url() -> tuple[str, str]:
    """The CLI's language and database for an error message (Chinese when the settings are bad)."""
    try:
        from notifier.cli.schema import safe_url
        from notifier.core.settings import load_settings

        settings = load_settings()
        return settings.language, safe_url(settings.database_url)
    except GuatuError:
        return "zh", ""


def _language() -> str:
    return _language_and_url()[0]


# Click's usage messages, matched to say them in the CLI's language (the value's own detail stays).
_USAGE_PATTERNS = [
    ("no_command", re.compile(r"^No such command '(?P<name>.+?)'\.(?: Did you mean (?P<hint>.+)\?)?$")),
    ("no_option", re.compile(r"^No such option: (?P<name>\S+?)\.?(?: Did you mean (?P<hint>.+)\?)?$")),
    ("missing_argument", re.compile(r"^Missing argument '(?P<name>.+)'\.?$")),
    ("missing_option", re.compile(r"^Missing option '(?P<name>.+)'\.?$")),
    ("needs_value", re.compile(r"^Option '(?P<name>.+)' requires an argument\.?$")),
    ("extra", re.compile(r"^Got unexpected extra argument(?:s|\(s\))? \((?P<name>.+)\)\.?$")),
    ("invalid", re.compile(r"^Invalid value for '(?P<name>.+?)': (?:Value error, )?(?P<detail>.+?)\.?$")),
]


def _usage_message(message: str, lang: str) -> str:
    from notifier.core.texts import t

    for key, pattern in _USAGE_PATTERNS:
        match = pattern.match(message.strip())
        if match:
            values = {k: v for k, v in match.groupdict().items() if v}
            text = t(f"core.cli.usage.{key}", lang, name=values["name"], detail=values.get("detail", ""))
            return text + (t("core.cli.usage.hint", lang, hint=values["hint"]) if "hint" in values else "")
    return message.strip().rstrip(".")


def _usage_line(exc: UsageError) -> str:
    from notifier.core.texts import t

    lang = _language()
    command = exc.ctx.command_path if exc.ctx is not None else "guatu"
    return t("core.cli.usage", lang, command=command, message=_usage_message(exc.format_message(), lang))


def _database_line(exc: Exception) -> str | None:
    """One line for a database error a user can fix (no schema, no server), else None."""
    from notifier.cli.schema import describe_database_error

    lang, url = _language_and_url()
    return describe_database_error(exc, lang, url=url)


def _fail(message: str, code: int) -> None:
    err_console.print(message, style="red", highlight=False, markup=False, soft_wrap=True)
    sys.exit(code)


def main() -> None:
    """Run the CLI."""
    lang = cli_language()
    localise_help(lang)
    command = typer.main.get_command(app)
    assert isinstance(command, TyperGroup)
    command.help = help_half(ROOT_HELP, lang)
    try:
        code = command.main(prog_name="guatu", standalone_mode=False)
    except NoArgsIsHelpError as exc:
        exc.show()
        sys.exit(0)
    except UsageError as exc:
        _fail(_usage_line(exc), exc.exit_code)
    except ClickException as exc:
        _fail(exc.format_message(), exc.exit_code)
    except Abort:
        _fail("Aborted / 已取消", 1)
    except GuatuError as exc:
        _fail(str(exc), 2)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:
        line = _database_line(exc)
        if line is None:
            raise
        _fail(line, 1)
    sys.exit(code if isinstance(code, int) else 0)


__all__ = ["app", "main"]
