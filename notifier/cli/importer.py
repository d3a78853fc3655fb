"""`guatu import units|people|projects|progress FILE`: the office's spreadsheets into the database."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from notifier.cli.main import app, console, get_settings, open_sessionmaker, print_json, run
from notifier.core.errors import GuatuError
from notifier.core.settings import Settings
from notifier.core.texts import t
from notifier.importing.importer import ImportKind, ImportResult, heading_row, import_file

import_app = typer.Typer(
    help="从 Excel/CSV 导入单位、人员、项目、周进展 / import spreadsheets", no_args_is_help=True
)
app.add_typer(import_app, name="import")

DRY_RUN = typer.Option(False, "--dry-run", help="只校验,不写入 / validate only")
AS_JSON = typer.Option(False, "--json", help="输出 JSON")
YEAR = typer.Option(None, "--year", help="项目所属年度(默认今年)/ the projects' list year")


def print_result(result: ImportResult, settings: Settings) -> None:
    """Counts on success; every bad row (line, column, reason) in a table otherwise."""
    lang = settings.language
    if result.ok:
        key = "importer.dry_run" if result.dry_run else "importer.done"
        console.print(t(key, lang, rows=result.rows, created=result.created, updated=result.updated))
        return
    console.print(t("importer.rejected", lang, count=len(result.errors)), style="red")
    table = Table(show_lines=False)
    table.add_column(t("importer.col.line", lang), justify="right")
    table.add_column(t("importer.col.column", lang))
    table.add_column(t("importer.col.reason", lang), overflow="fold")
    for error in result.errors:
        table.add_row(str(error.line), error.column or "", error.reason)
    console.print(table)


async def _import(
    kind: ImportKind, path: Path, *, dry_run: bool, year: int | None, settings: Settings
) -> ImportResult:
    async with open_sessionmaker(settings) as sessionmaker, sessionmaker() as session:
        # Transient and only on a terminal: the bar shows on long lists and leaves no trace in output.
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=console, transient=True, disable=not console.is_terminal) as progress:  # fmt: skip
            task = progress.add_task(t("importer.progress", settings.language), total=None)
            return await import_file(session, settings=settings, kind=kind, path=path, dry_run=dry_run, year=year,
                                     on_rows=lambda total: progress.update(task, total=total),
                                     on_row=lambda: progress.advance(task))  # fmt: skip


def _command(kind: ImportKind, path: Path, dry_run: bool, as_json: bool, year: int | None) -> None:
    settings = get_settings()
    try:
        result = run(_import(kind, path, dry_run=dry_run, year=year, settings=settings))
    except GuatuError as exc:
        if not as_json:
            raise
        print_json({"kind": str(kind), "file": path.name, "ok": False, "error": str(exc)})
        raise typer.Exit(2) from None
    if as_json:
        print_json(result.to_json())
    else:
        print_result(result, settings)
    if not result.ok:
        raise typer.Exit(1)


@import_app.command("units")
def import_units(path: Path, dry_run: bool = DRY_RUN, as_json: bool = AS_JSON) -> None:
    """单位:code, name, kind (旗/区/园区/部门) / units."""
    _command(ImportKind.UNITS, path, dry_run, as_json, None)


@import_app.command("people")
def import_people(path: Path, dry_run: bool = DRY_RUN, as_json: bool = AS_JSON) -> None:
    """人员:name, phone, role, unit_code, telegram_id, language / people (re-import by phone updates)."""
    _command(ImportKind.PEOPLE, path, dry_run, as_json, None)


@import_app.command("projects")
def import_projects(
    path: Path, dry_run: bool = DRY_RUN, as_json: bool = AS_JSON, year: int | None = YEAR
) -> None:
    """项目清单:项目编号、项目名称、所属旗区、建设性质、总投资 ... / projects (re-import by code updates)."""
    _command(ImportKind.PROJECTS, path, dry_run, as_json, year)


@import_app.command("progress")
def import_progress(path: Path, dry_run: bool = DRY_RUN, as_json: bool = AS_JSON) -> None:
    """周进展:project_code, week, investment, procedures_completed, stage, blockers / weekly progress."""
    _command(ImportKind.PROGRESS, path, dry_run, as_json, None)


@import_app.command("template")
def import_template(
    kind: ImportKind = typer.Argument(..., help="units | people | projects | progress"),
    lang: str = typer.Option("zh", "--lang", help="zh: 中文表头 / en: English headings"),
) -> None:
    """打印导入模板的表头(CSV,可用 Excel 打开)/ print the heading row of an import file as CSV."""
    print(",".join(heading_row(kind, lang=lang)))
