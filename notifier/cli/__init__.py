"""Entry point of the `guatu` command line."""

from __future__ import annotations

import sys

from notifier.cli import alerts, bench, bot, bulletin, channels, db, demo, dev, importer, sms, web, worker_cmd  # noqa: F401  (each module registers its commands)
from notifier.cli.main import app, err_console
from notifier.core.errors import GuatuError


def main() -> None:
    """Run the CLI; a GuatuError (bad setting, bad input) is one line on stderr, not a traceback."""
    try:
        app()
    except GuatuError as exc:
        err_console.print(str(exc), style="red", highlight=False, markup=False, soft_wrap=True)
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)


__all__ = ["app", "main"]
