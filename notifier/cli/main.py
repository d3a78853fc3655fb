"""The `guatu` Typer application; command modules attach themselves to `app`."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from datetime import date, datetime
from typing import Any, TypeVar

import typer
from rich.console import Console

from models.db import SessionMaker, create_engine, create_sessionmaker
from notifier.core.errors import GuatuError
from notifier.core.settings import Settings, load_settings

T = TypeVar("T")

app = typer.Typer(
    name="guatu",
    help="挂图作战 Guatu:重点项目周进展收集、三率排名与短信群发。",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
console = Console()
err_console = Console(stderr=True)


def get_settings(**overrides: Any) -> Settings:
    """Settings for a command (SettingsError is turned into one line by `main`)."""
    return load_settings(**overrides)


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a command's coroutine."""
    return asyncio.run(coro)


@asynccontextmanager
async def open_sessionmaker(settings: Settings, **engine_options: Any) -> AsyncIterator[SessionMaker]:
    """An engine for one command; disposed when the command ends."""
    engine = create_engine(settings.database_url, **engine_options)
    try:
        yield create_sessionmaker(engine)
    finally:
        await engine.dispose()


def parse_day(value: str | None, settings: Settings) -> date:
    """--as-of YYYY-MM-DD, or today in the office time zone."""
    if not value:
        return datetime.now(settings.tz).date()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise GuatuError(
            f"日期格式应为 YYYY-MM-DD:{value} / expected a date like 2026-11-23: {value}"
        ) from None


def print_json(data: object) -> None:
    """One JSON object on the last line of stdout."""
    print(json.dumps(data, ensure_ascii=False, default=str))
