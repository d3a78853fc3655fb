"""The `guatu` Typer application; command modules attach themselves to `app`.

`guatu --help` must answer at once, so this module imports no database, queue or provider library,
and a command's module is imported only when that command runs (`LazyGroup`): `COMMANDS` names
each top-level command, the module that defines it and the line shown in the overview.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import re
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, TypeVar

import typer
import typer.main
from rich.console import Console
from rich.table import Table
from typer.core import TyperCommand, TyperGroup

from notifier.core.errors import GuatuError

if TYPE_CHECKING:
    from typer import _click as click

    from models.db import SessionMaker
    from notifier.core.settings import Settings

T = TypeVar("T")

# name -> (module that registers it, one line for `guatu --help`), in the order of the overview.
COMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("notifier.cli.demo", "完整演示一周流程 / run the whole weekly cycle on embedded defaults."),
    "db": ("notifier.cli.db", "数据库 / database"),
    "import": ("notifier.cli.importer", "从 Excel/CSV 导入单位、人员、项目、周进展 / import spreadsheets"),
    "round": ("notifier.cli.round", "本周报送提醒:立即发出、发给自己试收 / this week's prompt round"),
    "bulletin": ("notifier.cli.bulletin", "通报:预览、发送、审核、归档 / bulletins"),
    "broadcast": ("notifier.cli.sms", "群发短信:先预览,确认后建立任务交给队列发送 / mass-send an SMS (preview first)."),
    "campaign": ("notifier.cli.sms", "群发任务 / campaigns"),
    "sms": ("notifier.cli.sms", "短信工具 / SMS tools"),
    "overdue": ("notifier.cli.alerts", "列出当前全部预警(未报送、节点逾期、新列入黑榜)及原因 / list every current alert."),
    "alerts": ("notifier.cli.alerts", "预警 / alerts"),
    "calendar": ("notifier.cli.alerts", "列出调度日历中每项任务的下次运行时间(办公时区)/ next run of every calendar job."),
    "invite": ("notifier.cli.bot", "生成一次性 Telegram 绑定链接(7天有效)/ print a single-use Telegram deep link for a person."),
    "channels": ("notifier.cli.channels", "查看或设置某人的消息渠道顺序 / show or set a person's chat channel order."),
    "wecom": ("notifier.cli.channels", "企业微信 / WeCom (企业微信) channel"),
    "bot": ("notifier.cli.bot", "运行 Telegram 机器人(长轮询)/ run the Telegram bot with long polling."),
    "worker": ("notifier.cli.worker_cmd", "运行队列任务进程 / run the arq worker (sending, bulletins, the calendar)."),
    "web": ("notifier.cli.web", "运行网页(大屏、后台、报送表单)/ serve the web app with uvicorn."),
    "serve": ("notifier.cli.web", "单机运行:网页 + 一个队列进程(+ 机器人)/ web, one worker and the bot together on one machine."),
    "admin": ("notifier.cli.web", "管理员账号 / admin accounts"),
    "bench": ("notifier.cli.bench", "性能测试 / benchmarks"),
    "dev": ("notifier.cli.dev", "开发工具 / development tools"),
}  # fmt: skip


ROOT_HELP = "挂图作战 Guatu:重点项目周进展收集、三率排名与短信群发 / Guatu: weekly project progress, rankings and mass SMS bulletins."
# The language help screens are shown in (set by `localise_help`); None shows both halves.
HELP_LANGUAGE: str | None = None


def cli_language() -> str:
    """The CLI's language read without building the settings (that alone costs more than the whole
    `--help`): GUATU_LANGUAGE, else LANGUAGE when it is exactly zh or en, from the environment, then
    ./.env — the settings' own rule; Chinese otherwise."""
    import os

    sources = [{k.upper(): v for k, v in os.environ.items()}]
    if os.path.exists(".env"):
        from dotenv import dotenv_values

        sources.append({k.upper(): v for k, v in dotenv_values(".env").items() if v is not None})
    for source in sources:
        if "GUATU_LANGUAGE" in source:
            value = source["GUATU_LANGUAGE"].strip()
            return value if value in ("zh", "en") else "zh"
    for source in sources:
        if source.get("LANGUAGE", "").strip() in ("zh", "en"):
            return source["LANGUAGE"].strip()
    return "zh"


def localise_help(lang: str) -> None:
    """Help screens in one language: the panel titles, and the half of each overview line
    ("中文 / English") in that language."""
    from typer import rich_utils

    global HELP_LANGUAGE
    HELP_LANGUAGE = lang
    if lang == "zh":
        rich_utils.ARGUMENTS_PANEL_TITLE = "参数"
        rich_utils.OPTIONS_PANEL_TITLE = "选项"
        rich_utils.COMMANDS_PANEL_TITLE = "命令"
        rich_utils.REQUIRED_LONG_STRING = "[必填]"
        rich_utils.DEFAULT_STRING = "[默认:{}]"


def help_half(text: str, lang: str | None) -> str:
    """The `lang` half of a bilingual "中文 / English" line; the whole line when it has no halves."""
    halves = re.split(r"\s*/\s+", text, maxsplit=1)  # "Excel/CSV" is not two halves
    if lang is None or len(halves) < 2:
        return text
    chinese, english = halves
    return chinese.strip() if lang == "zh" else english[:1].upper() + english[1:]


def _localise_command(command: click.Command, lang: str) -> None:
    """One language in a command's help, its options' help and its subcommands'."""
    if command.help:
        command.help = help_half(command.help, lang)
    if command.short_help:
        command.short_help = help_half(command.short_help, lang)
    for param in command.params:
        if getattr(param, "help", None):
            param.help = help_half(param.help, lang)  # type: ignore[attr-defined]
    for sub in getattr(command, "commands", {}).values():
        _localise_command(sub, lang)


def load_all_commands() -> None:
    """Import every command module (tests, and a name the overview does not list)."""
    for module, _ in COMMANDS.values():
        importlib.import_module(module)


class LazyGroup(TyperGroup):
    """The root group: lists `COMMANDS` from the table above and imports a command's module only
    when the command is run or its own help is asked for."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        loaded = self.commands.get(cmd_name)
        if loaded is not None:
            return loaded
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        # Listed in the overview without importing anything: a stand-in that carries the help line.
        return TyperCommand(name=cmd_name, help=help_half(entry[1], HELP_LANGUAGE))

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        if args:
            self._load(args[0])
        return super().resolve_command(ctx, args)

    def _load(self, name: str) -> None:
        entry = COMMANDS.get(name)
        if entry is None:
            if name.startswith("-"):
                return
            load_all_commands()  # a command registered by a module the table does not name yet
        else:
            importlib.import_module(entry[0])
        built = typer.main.get_command(app)
        assert isinstance(built, TyperGroup)
        for loaded, command in built.commands.items():
            if loaded not in self.commands:
                if HELP_LANGUAGE is not None:
                    _localise_command(command, HELP_LANGUAGE)
                self.commands[loaded] = command


app = typer.Typer(
    name="guatu",
    help=ROOT_HELP,
    cls=LazyGroup,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
console = Console()
err_console = Console(stderr=True)


@app.callback()
def root() -> None:
    """The root group (the help is `ROOT_HELP`)."""


def get_settings(**overrides: Any) -> Settings:
    """Settings for a command (SettingsError is turned into one line by `main`)."""
    from notifier.core.settings import load_settings

    return load_settings(**overrides)


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a command's coroutine."""
    return asyncio.run(coro)


@asynccontextmanager
async def open_sessionmaker(settings: Settings, **engine_options: Any) -> AsyncIterator[SessionMaker]:
    """An engine for one command, on a database whose schema is current (`ensure_schema`); disposed
    when the command ends."""
    from models.db import create_engine, create_sessionmaker
    from notifier.cli.schema import ensure_schema

    engine = create_engine(settings.database_url, **engine_options)
    try:
        await ensure_schema(engine, settings, console=err_console)
        yield create_sessionmaker(engine)
    finally:
        await engine.dispose()


def require_schema(settings: Settings) -> None:
    """For long-running commands (web, worker, bot), once before they start: a new SQLite database is
    migrated; a database without a current schema is named in one line on stderr, and the command
    starts anyway (`guatu db upgrade` may run beside it, as in a deployment)."""
    from notifier.cli.schema import SchemaError

    async def _check() -> None:
        async with open_sessionmaker(settings):
            pass

    try:
        run(_check())
    except SchemaError as exc:
        err_console.print(str(exc), style="yellow", highlight=False, markup=False, soft_wrap=True)


def table(title: str | None, headings: list[str] | tuple[str, ...], *, right: tuple[int, ...] = ()) -> Table:
    """A Rich table whose cells fold onto more lines when the terminal is narrow, instead of being
    cut off with an ellipsis; `right` are the indexes of right-aligned (number) columns."""
    result = Table(title=title)
    for index, heading in enumerate(headings):
        result.add_column(heading, overflow="fold", justify="right" if index in right else "left")
    return result


def parse_day(value: str | None, settings: Settings) -> date:
    """--as-of YYYY-MM-DD, or today in the office time zone."""
    from notifier.core.texts import t

    if not value:
        return datetime.now(settings.tz).date()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise GuatuError(t("core.cli.bad_date", settings.language, value=value)) from None


def print_json(data: object) -> None:
    """One JSON object on the last line of stdout."""
    print(json.dumps(data, ensure_ascii=False, default=str))
