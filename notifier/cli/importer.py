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
from notifier.importing.headings import field_choice
from notifier.importing.importer import ImportKind, ImportResult, heading_row, import_file
from notifier.importing.rows import RowError

import_app = typer.Typer(
    help="从 Excel/CSV 导入单位、人员、项目、周进展 / import spreadsheets", no_args_is_help=True
)
app.add_typer(import_app, name="import")

DRY_RUN = typer.Option(False, "--dry-run", help="只校验,不写入 / validate only")
AS_JSON = typer.Option(False, "--json", help="输出 JSON")
YEAR = typer.Option(None, "--year", help="项目所属年度(默认今年)/ the projects' list year")


MAP = typer.Option(
    None, "--map", help="列=字段,如 E=annual_plan 或 备注=annual_plan;字段留空表示不导入 / COLUMN=FIELD"
)


def parse_overrides(values: list[str] | None, lang: str) -> dict[str, str]:
    """`--map E=annual_plan --map 备注=` as {column letter or heading: field}; "" leaves a column out."""
    overrides: dict[str, str] = {}
    for value in values or []:
        column, sep, key = value.partition("=")
        if not sep or not column.strip():
            raise typer.BadParameter(t("importer.bad_map", lang, value=value), param_hint="--map")
        overrides[column.strip()] = key.strip()
    return overrides


def print_mapping(result: ImportResult, lang: str) -> None:
    """The heading of every column and the field it fills, or that it is left out."""
    if not result.mapping:
        return
    first = result.header_first or result.header_line
    lines = str(first) if first == result.header_line else f"{first}–{result.header_line}"
    console.print(t("importer.mapping", lang, line=lines))
    table = Table(show_lines=False)
    table.add_column(t("importer.col.column", lang))
    table.add_column(t("importer.col.heading", lang), overflow="fold")
    table.add_column(t("importer.col.field", lang), overflow="fold")
    table.add_column(t("importer.col.unit", lang))
    for column in result.mapping:
        if column.key is None:
            shown = t("importer.not_imported", lang)
        else:
            shown = field_choice(result.kind, column.key, lang)
        if column.chosen:
            shown += t("importer.chosen", lang)
        style = "yellow" if column.key is None and not column.chosen else None
        table.add_row(column.letter, column.heading, shown, column.unit, style=style)
    console.print(table)


def _print_lines(title: str, lines: list[RowError], lang: str, style: str | None = None) -> None:
    if not lines:
        return
    console.print(title, style=style)
    table = Table(show_lines=False)
    table.add_column(t("importer.col.line", lang), justify="right")
    table.add_column(t("importer.col.column", lang), overflow="fold")
    table.add_column(t("importer.col.reason", lang), overflow="fold")
    for line in lines:
        table.add_row(str(line.line), line.column or "", line.reason)
    console.print(table)


def print_result(result: ImportResult, settings: Settings) -> None:
    """The mapping, warnings and notes; then counts on success, or every bad row (line, column, reason)."""
    lang = settings.language
    print_mapping(result, lang)
    _print_lines(t("importer.warnings", lang, count=len(result.warnings)), result.warnings, lang, "yellow")
    _print_lines(t("importer.notes", lang, count=len(result.notes)), result.notes, lang)
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
    kind: ImportKind,
    path: Path,
    *,
    dry_run: bool,
    year: int | None,
    settings: Settings,
    overrides: dict[str, str],
) -> ImportResult:
    async with open_sessionmaker(settings) as sessionmaker, sessionmaker() as session:
        # Transient and only on a terminal: the bar shows on long lists and leaves no trace in output.
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=console, transient=True, disable=not console.is_terminal) as progress:  # fmt: skip
            task = progress.add_task(t("importer.progress", settings.language), total=None)
            return await import_file(session, settings=settings, kind=kind, path=path, dry_run=dry_run, year=year,
                                     overrides=overrides, on_rows=lambda total: progress.update(task, total=total),
                                     on_row=lambda: progress.advance(task))  # fmt: skip


def _command(
    kind: ImportKind,
    path: Path,
    dry_run: bool,
    as_json: bool,
    year: int | None,
    mapping: list[str] | None = None,
) -> None:
    settings = get_settings()
    overrides = parse_overrides(mapping, settings.language)
    try:
        result = run(_import(kind, path, dry_run=dry_run, year=year, settings=settings, overrides=overrides))
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
def import_units(
    path: Path, dry_run: bool = DRY_RUN, as_json: bool = AS_JSON, mapping: list[str] | None = MAP
) -> None:
    """单位:code, name, kind (旗/区/园区/部门) / units."""
    _command(ImportKind.UNITS, path, dry_run, as_json, None, mapping)


@import_app.command("people")
def import_people(
    path: Path, dry_run: bool = DRY_RUN, as_json: bool = AS_JSON, mapping: list[str] | None = MAP
) -> None:
    """人员:name, phone, role (项目负责人/盟领导/旗区领导/部门联系人...), unit / people (re-import by phone updates)."""
    _command(ImportKind.PEOPLE, path, dry_run, as_json, None, mapping)


@import_app.command("projects")
def import_projects(
    path: Path,
    dry_run: bool = DRY_RUN,
    as_json: bool = AS_JSON,
    year: int | None = YEAR,
    mapping: list[str] | None = MAP,
) -> None:
    """项目清单:项目名称、所属旗区、建设性质、年度计划投资、项目负责人 ... / projects (re-import by code updates)."""
    _command(ImportKind.PROJECTS, path, dry_run, as_json, year, mapping)


@import_app.command("progress")
def import_progress(
    path: Path, dry_run: bool = DRY_RUN, as_json: bool = AS_JSON, mapping: list[str] | None = MAP
) -> None:
    """周进展:project_code, week, investment, procedures_completed, stage, blockers / weekly progress."""
    _command(ImportKind.PROGRESS, path, dry_run, as_json, None, mapping)


@import_app.command("template")
def import_template(
    kind: ImportKind = typer.Argument(..., help="units | people | projects | progress"),
    lang: str = typer.Option("zh", "--lang", help="zh: 中文表头 / en: English headings"),
) -> None:
    """打印导入模板的表头(CSV,可用 Excel 打开)/ print the heading row of an import file as CSV."""
    print(",".join(heading_row(kind, lang=lang)))
