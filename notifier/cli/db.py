"""`guatu db ...`: schema migrations."""

from __future__ import annotations

import typer

from models.db import create_engine
from models.migrate import upgrade
from notifier.cli.main import app, console, get_settings, run
from notifier.core.texts import t

db_app = typer.Typer(help="数据库 / database", no_args_is_help=True)
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head", help="目标版本 / target revision")) -> None:
    """升级数据库结构 / migrate the database to the latest schema."""
    settings = get_settings()

    async def _go() -> None:
        engine = create_engine(settings.database_url)
        try:
            await upgrade(engine, revision)
        finally:
            await engine.dispose()

    run(_go())
    safe_url = settings.database_url.split("@")[-1]
    console.print(t("core.db_upgraded", settings.language, url=safe_url))
