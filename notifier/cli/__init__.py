"""Entry point of the `guatu` command line.

Every failure a user can cause (a bad option, date or id, a bad setting, a database that is not
set up) ends in one line on stderr and exit code 1 or 2, never a traceback.
"""

from __future__ import annotations

import sys

import typer
from typer._click.exceptions import ClickException, NoArgsIsHelpError, UsageError
from typer.core import TyperGroup
from typer.exceptions import Abort

from notifier.cli.main import app, err_console
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


def _usage_line(exc: UsageError) -> str:
    from notifier.core.texts import t

    command = exc.ctx.command_path if exc.ctx is not None else "guatu"
    return t("core.cli.usage", _language(), command=command, message=exc.format_message().rstrip("."))


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
    command = typer.main.get_command(app)
    assert isinstance(command, TyperGroup)
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
