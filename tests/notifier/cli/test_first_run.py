"""The first run of `guatu`, through the real command line in subprocesses: the GNU LANGUAGE variable,
a database never migrated, bad dates, options and ids (one line, no traceback), one language at a
time, tables that fold at 80 columns, and a `--help` that imports no heavy library."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from rich.cells import cell_len
from sqlmodel import SQLModel

from models import Milestone, Person, Project, Role, Stage, Unit, UnitKind
from models.db import create_engine, create_sessionmaker
from models.migrate import upgrade

ROOT = Path(__file__).resolve().parents[3]
GUATU = [sys.executable, "-c", "from notifier.cli import main; main()"]
CJK = re.compile(r"[\u4e00-\u9fff]")
LONG_NAME = "阿拉善高新技术产业开发区乌斯太至巴彦浩特一级公路改扩建工程及配套供水管网终点段"


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment of a user's shell, without this machine's Guatu settings."""
    names = ("DATABASE_URL", "GUATU_", "LANGUAGE", "TELEGRAM_", "TWILIO_", "SMS_", "WECOM_", "REDIS_URL")
    env = {k: v for k, v in os.environ.items() if not k.startswith(names)}
    env.update({"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'guatu.db'}", "COLUMNS": "200", **extra})
    return env


def _guatu(
    tmp_path: Path, *args: str, script: list[str] | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*(script or GUATU), *args], cwd=tmp_path, env=_env(tmp_path, **env), capture_output=True,
                          text=True, timeout=120)  # fmt: skip


def _migrated(path: Path, revision: str = "head") -> str:
    url = f"sqlite+aiosqlite:///{path}"

    async def go() -> None:
        engine = create_engine(url)
        await upgrade(engine, revision)
        await engine.dispose()

    asyncio.run(go())
    return url


def _seeded(path: Path) -> str:
    """A database with one project whose name is far wider than 80 columns and an overdue milestone."""
    url = f"sqlite+aiosqlite:///{path}"

    async def go() -> None:
        engine = create_engine(url)
        async with engine.begin() as conn:
            await conn.run_sync(SQLModel.metadata.create_all)
        async with create_sessionmaker(engine)() as session:
            unit = Unit(code="ALYQ", name="阿拉善右旗", kind=UnitKind.BANNER)
            lead = Person(name="负责人", phone="+8613904830021", role=Role.LEAD)
            session.add_all([unit, lead])
            await session.flush()
            project = Project(code="P7", name=LONG_NAME, unit_id=unit.id or 0, year=2026, stage=Stage.CONTINUING,
                              annual_plan=Decimal("100"), ytd_base=Decimal("100"), actual_start=date(2025, 4, 1),
                              lead_id=lead.id)  # fmt: skip
            session.add(project)
            await session.flush()
            session.add(Milestone(project_id=project.id or 0, title="路基完工", due_date=date(2026, 11, 20)))
            await session.commit()
        await engine.dispose()

    asyncio.run(go())
    return url


def test_help_imports_no_heavy_library(tmp_path: Path) -> None:
    from notifier.cli.main import COMMANDS

    code = (
        "import sys\nfrom notifier.cli import main\nsys.argv = ['guatu', '--help']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "heavy = ('sqlalchemy', 'aiogram', 'twilio', 'openpyxl', 'matplotlib', 'fastapi', 'arq', 'alembic')\n"
        "print('LOADED', sorted(m for m in heavy if m in sys.modules))"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=_env(tmp_path), capture_output=True,
                          text=True, timeout=60)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "LOADED []"
    listed = {
        line.split()[1]
        for line in proc.stdout.splitlines()
        if line.startswith("│ ") and len(line.split()) > 1
    }
    assert set(COMMANDS) <= listed


def test_every_command_is_in_the_lazy_table() -> None:
    """`guatu --help` lists COMMANDS without importing them: the table must name every command and
    the module that registers it."""
    import typer.main
    from typer.core import TyperGroup

    from notifier.cli.main import COMMANDS, app, load_all_commands

    load_all_commands()
    built = typer.main.get_command(app)
    assert isinstance(built, TyperGroup)
    assert set(built.commands) == set(COMMANDS)
    for name, command in built.commands.items():
        while isinstance(command, TyperGroup):
            command = next(iter(command.commands.values()))
        assert command.callback is not None and command.callback.__module__ == COMMANDS[name][0], name


def test_gnu_language_variable_is_not_ours(tmp_path: Path) -> None:
    script = [str(Path(sys.executable).with_name("guatu"))]  # the installed console script
    gnu = _guatu(tmp_path, "calendar", script=script, LANGUAGE="en_US:en")
    assert gnu.returncode == 0, gnu.stderr
    assert "调度日历" in gnu.stdout and "Traceback" not in gnu.stderr
    old = _guatu(tmp_path, "calendar", script=script, LANGUAGE="en")
    assert old.returncode == 0 and "Calendar" in old.stdout
    new = _guatu(tmp_path, "calendar", script=script, LANGUAGE="zh", GUATU_LANGUAGE="en")
    assert new.returncode == 0 and "Calendar" in new.stdout
    bad = _guatu(tmp_path, "calendar", script=script, GUATU_LANGUAGE="fr")
    assert (
        bad.returncode == 2 and "GUATU_LANGUAGE" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
    )


BAD_INPUTS = [
    ["overdue", "--as-of", "2026-13-01"],
    ["overdue", "--no-such-option"],
    ["calendar", "--after", "next thursday"],
    ["bulletin", "preview", "--as-of", "yesterday"],
    ["bulletin", "preview", "--kind", "yearly"],
    ["bulletin", "show", "abc"],
    ["bulletin", "show", "999"],
    ["campaign", "status", "999"],
    ["round", "now", "--as-of", "2026-02-30"],
    ["round", "now", "--as-of", "2026-01-07", "--yes"],
    ["round", "test", "12345", "--yes"],
    ["sms", "segments"],
    ["broadcast", "--audience", "unit:NOPE", "--text", "hi", "--dry-run"],
    ["channels", "123"],
    ["no-such-command"],
    ["demo", "--as-of", "2026-99-01"],
]


@pytest.mark.parametrize("args", BAD_INPUTS, ids=[" ".join(a) for a in BAD_INPUTS])
def test_bad_input_is_one_line(tmp_path: Path, args: list[str]) -> None:
    url = _migrated(tmp_path / "guatu.db")
    proc = _guatu(tmp_path, *args, DATABASE_URL=url)
    assert proc.returncode in (1, 2), proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert proc.stdout.strip() == ""
    assert not re.search(
        r"No such|Missing|Invalid value|Got unexpected|requires an", proc.stderr
    )  # in Chinese


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["overdu"], "guatu: no such command overdu; did you mean 'overdue'. Run guatu --help for usage."),
        (["bulletin", "show", "1", "2"], "guatu bulletin show: unexpected extra arguments 2. Run guatu bulletin show --help for usage."),
        (["sms", "segments"], "guatu sms segments: missing argument text. Run guatu sms segments --help for usage."),
    ],
)  # fmt: skip
def test_usage_errors_in_english_mode(tmp_path: Path, args: list[str], line: str) -> None:
    proc = _guatu(tmp_path, *args, GUATU_LANGUAGE="en")
    assert (proc.returncode, proc.stderr.strip()) == (2, line)


def test_new_sqlite_database_is_migrated_on_first_use(tmp_path: Path) -> None:
    first = _guatu(
        tmp_path, "overdue", "--as-of", "2026-11-24", DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/new.db"
    )
    assert first.returncode == 0, first.stderr
    assert first.stderr.strip().splitlines() == [
        f"新数据库 sqlite+aiosqlite:///{tmp_path}/new.db:已自动建立表结构。"
    ]
    assert "没有预警" in first.stdout
    again = _guatu(
        tmp_path, "overdue", "--as-of", "2026-11-24", DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/new.db"
    )
    assert again.returncode == 0 and again.stderr == ""


def test_database_behind_the_code_says_how_to_fix_it(tmp_path: Path) -> None:
    url = _migrated(tmp_path / "old.db", "0003")
    proc = _guatu(tmp_path, "overdue", GUATU_LANGUAGE="en", DATABASE_URL=url)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    [line] = proc.stderr.strip().splitlines()
    assert "schema version 0003" in line and "run guatu db upgrade" in line
    upgraded = _guatu(tmp_path, "db", "upgrade", DATABASE_URL=url)
    assert upgraded.returncode == 0, upgraded.stderr
    assert _guatu(tmp_path, "overdue", DATABASE_URL=url).returncode == 0


def test_empty_postgresql_database_says_how_to_fix_it(tmp_path: Path) -> None:
    server = os.environ.get("TEST_DATABASE_URL")
    if not server:
        pytest.skip("TEST_DATABASE_URL is not set")
    from tests.isolation import OwnDatabase

    empty = OwnDatabase(server)
    url = empty.create()
    try:
        proc = _guatu(tmp_path, "overdue", DATABASE_URL=url)
    finally:
        empty.drop()
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    [line] = proc.stderr.strip().splitlines()
    assert "还没有表结构" in line and "guatu db upgrade" in line and "postgres" in line


def test_unreachable_database_is_one_line(tmp_path: Path) -> None:
    proc = _guatu(tmp_path, "overdue", DATABASE_URL="postgresql+asyncpg://guatu:secret@127.0.0.1:1/guatu")
    assert proc.returncode in (1, 2) and "Traceback" not in proc.stderr
    [line] = proc.stderr.strip().splitlines()
    assert "无法使用数据库" in line and "secret" not in line


def test_tables_fold_instead_of_cutting_at_80_columns(tmp_path: Path) -> None:
    url = _seeded(tmp_path / "seeded.db")
    proc = _guatu(tmp_path, "overdue", "--as-of", "2026-11-24", DATABASE_URL=url, COLUMNS="80")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert all(cell_len(line) <= 80 for line in lines)
    assert "…" not in proc.stdout
    project_column = "".join(line.split("│")[2].strip() for line in lines if line.count("│") == 6)
    assert LONG_NAME in project_column  # every character of the name is there, folded over lines


def test_one_language_at_a_time(tmp_path: Path) -> None:
    url = _seeded(tmp_path / "seeded.db")
    en = _guatu(tmp_path, "calendar", GUATU_LANGUAGE="en", DATABASE_URL=url)
    assert en.returncode == 0 and not CJK.search(en.stdout), en.stdout
    zh = _guatu(tmp_path, "calendar", GUATU_LANGUAGE="zh", DATABASE_URL=url)
    assert zh.returncode == 0 and not re.search(r"\b(job|at|period|Calendar|Mon|Sat)\b", zh.stdout), zh.stdout
    alerts_en = _guatu(tmp_path, "overdue", "--as-of", "2026-11-24", GUATU_LANGUAGE="en", DATABASE_URL=url)
    headings = alerts_en.stdout.split(LONG_NAME[:4])[0]  # the title and the heading row
    assert "Current alerts" in headings and "Kind" in headings and not CJK.search(headings), alerts_en.stdout
    archive_en = _guatu(tmp_path, "bulletin", "archive", GUATU_LANGUAGE="en", DATABASE_URL=url)
    assert archive_en.returncode == 0 and not CJK.search(archive_en.stdout), archive_en.stdout
    archive_zh = _guatu(tmp_path, "bulletin", "archive", GUATU_LANGUAGE="zh", DATABASE_URL=url)
    assert "通报归档" in archive_zh.stdout and "Kind" not in archive_zh.stdout


def test_help_in_one_language(tmp_path: Path) -> None:
    zh = _guatu(tmp_path, "--help")
    assert "完整演示一周流程" in zh.stdout and "run the whole weekly cycle" not in zh.stdout.lower()
    assert "命令" in zh.stdout and "Commands" not in zh.stdout
    en = _guatu(tmp_path, "--help", GUATU_LANGUAGE="en")
    assert "Run the whole weekly cycle on embedded defaults." in en.stdout and "完整演示" not in en.stdout
    (tmp_path / ".env").write_text("GUATU_LANGUAGE=en\n", encoding="utf-8")  # read as the settings read it
    options = _guatu(tmp_path, "round", "now", "--help", LANGUAGE="zh")
    assert "Send this week's prompts now" in options.stdout and "Do not ask" in options.stdout
    assert not CJK.search(options.stdout), options.stdout
