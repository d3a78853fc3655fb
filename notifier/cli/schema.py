"""Before a command reads the database: is its schema there and current?

A brand-new embedded SQLite database (the default) is migrated on the spot; anything else that is not
at the migrations' head is refused in one line that says to run `guatu db upgrade`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from notifier.core.errors import GuatuError
from notifier.core.texts import t

if TYPE_CHECKING:
    from rich.console import Console
    from sqlalchemy.engine import Connection
    from sqlalchemy.ext.asyncio import AsyncEngine

    from notifier.core.settings import Settings


class SchemaError(GuatuError):
    """The database has no schema or an old one; says how to fix it."""


def safe_url(url: str) -> str:
    """The database URL without its password, for messages."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def migration_heads() -> set[str]:
    """The head revision(s) of the migrations shipped with this version."""
    from alembic.script import ScriptDirectory

    from models.migrate import alembic_config

    return set(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads())


def _inspect(connection: Connection) -> tuple[set[str], set[str]]:
    """The database's table names and its alembic revision(s)."""
    from sqlalchemy import inspect, text

    tables = set(inspect(connection).get_table_names())
    versions: set[str] = set()
    if "alembic_version" in tables:
        versions = {row[0] for row in connection.execute(text("SELECT version_num FROM alembic_version"))}
    return tables - {"alembic_version"}, versions


async def ensure_schema(engine: AsyncEngine, settings: Settings, *, console: Console | None = None) -> None:
    """Migrate a new, empty SQLite database; refuse an empty or outdated one otherwise (SchemaError).

    A database whose tables were made without Alembic (no version row) is taken as it is."""
    lang = settings.language
    url = safe_url(settings.database_url)
    try:
        async with engine.connect() as connection:
            tables, versions = await connection.run_sync(_inspect)
    except Exception as exc:
        line = describe_database_error(exc, lang, url=url, connecting=True)
        if line is None:
            raise
        raise GuatuError(line) from None
    if not tables and not versions:
        if engine.dialect.name != "sqlite":
            raise SchemaError(t("core.cli.db_empty", lang, url=url))
        from models.migrate import upgrade

        await upgrade(engine)
        if console is not None:
            console.print(t("core.cli.db_created", lang, url=url), highlight=False, markup=False)
        return
    heads = migration_heads()
    if versions and versions != heads:
        raise SchemaError(
            t(
                "core.cli.db_behind",
                lang,
                url=url,
                current=",".join(sorted(versions)),
                head=",".join(sorted(heads)),
            )
        )


def describe_database_error(
    exc: BaseException, lang: str, *, url: str, connecting: bool = False
) -> str | None:
    """One line for a database failure a user can fix (no such table, server unreachable), or None
    when `exc` is not one; `connecting`: `exc` was raised while connecting, so any OSError is the
    database's."""
    import socket

    import sqlalchemy.exc

    if isinstance(exc, sqlalchemy.exc.DBAPIError):
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else str(exc)
        lowered = reason.lower()
        if "no such table" in lowered or ("relation" in lowered and "does not exist" in lowered):
            return t("core.cli.db_no_table", lang, url=url, reason=reason)
        if connecting or "unable to open database" in lowered:
            return t("core.cli.db_unreachable", lang, url=url, reason=reason)
        return None
    if isinstance(exc, ConnectionError | socket.gaierror) or (connecting and isinstance(exc, OSError)):
        return t("core.cli.db_unreachable", lang, url=url, reason=str(exc) or type(exc).__name__)
    name = type(exc).__name__
    if type(exc).__module__.startswith("asyncpg") and name in {"InvalidCatalogNameError", "InvalidPasswordError",
                                                               "InvalidAuthorizationSpecificationError"}:  # fmt: skip
        return t("core.cli.db_unreachable", lang, url=url, reason=str(exc))
    return None
