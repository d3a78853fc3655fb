"""`guatu bench compose`: how long composing the weekly bulletin takes at ten thousand projects.

The dataset: 12 units, 1,000 leads, `projects` projects (default 10,000) with a year of weekly
prompts and reports — one report per project and ISO week 2026-W01..W52 (520,000 rows at the
default size), about 3% of them after the deadline (so they count as missed) — loaded through
the real Alembic schema. The measured call is `notifier.bulletins.compose.compose_bulletin` (the three
rates by SQL aggregation, rankings, red and black lists, who did not report, week over week,
the SMS text of every unit's copy and the HTML copy) for the weekly bulletin as of Monday
2026-12-28, repeated; `compute_numbers` alone is timed too.

SQLite (a temporary file) always runs; PostgreSQL runs side by side when `--database-url` names
an empty database (or `--reset` allows wiping it). The last stdout line is one JSON object.
"""

from __future__ import annotations

import random
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel

from models import BulletinKind, Person, ProgressReport, Project, Role, Unit, WeekPrompt
from models.db import create_engine, create_sessionmaker
from models.migrate import upgrade
from notifier.bulletins.compose import compose_bulletin
from notifier.core.settings import load_settings
from notifier.numbers.rates import compute_numbers

AS_OF = date(2026, 12, 28)
YEAR = 2026
TARGET_SECONDS = 1.0
CHUNK = 20_000

Progress = Callable[[str, int], None]


@dataclass(frozen=True)
class ComposeOptions:
    projects: int = 10_000
    weeks: int = 52
    repeats: int = 5
    database_url: str | None = None
    reset: bool = False
    seed: int = 2026


class NotEmptyError(RuntimeError):
    pass


def _week_monday(week: int) -> date:
    return date.fromisocalendar(YEAR, week, 1)


def _rows(opts: ComposeOptions) -> dict[str, Any]:
    """Every row of the dataset as plain dicts (ids assigned here, so both databases get the same)."""
    rng = random.Random(opts.seed)
    units = [
        {"id": i, "code": f"U{i:02d}", "name": f"第{i}旗区", "kind": "banner", "sort_order": i}
        for i in range(1, 13)
    ]
    people = [{"id": u["id"], "name": f"旗区领导{u['id']}", "phone": f"+861390000{u['id']:04d}", "role": Role.LEADER.value,
               "unit_id": u["id"], "language": "zh", "opted_out": False, "telegram_blocked": False,
               "created_at": datetime(2026, 1, 1, tzinfo=UTC)} for u in units]  # fmt: skip
    leads = max(1, opts.projects // 10)
    for n in range(leads):
        people.append({"id": 100 + n, "name": f"负责人{n}", "phone": f"+86139{10_000_000 + n:08d}", "role": Role.LEAD.value,
                       "unit_id": units[n % len(units)]["id"], "language": "zh", "opted_out": False,
                       "telegram_blocked": False, "created_at": datetime(2026, 1, 1, tzinfo=UTC)})  # fmt: skip
    now = datetime(2026, 1, 1, tzinfo=UTC)
    stages = ["new"] * 3 + ["continuing"] * 5 + ["preparatory", "completed"]
    projects = []
    for n in range(opts.projects):
        total = Decimal(rng.randrange(10_000_000, 5_000_000_000, 10_000))
        required = rng.randrange(3, 11)
        stage = rng.choice(stages)
        planned = date(YEAR, rng.randrange(1, 13), rng.randrange(1, 28))
        started = planned + timedelta(days=rng.randrange(-20, 60)) if stage != "preparatory" else None
        projects.append({
            "id": n + 1, "code": f"P{n + 1:05d}", "name": f"重点项目{n + 1}", "unit_id": units[n % len(units)]["id"],
            "year": YEAR, "stage": stage, "total_investment": total, "annual_plan": (total * Decimal("0.3")).quantize(Decimal(1)),
            "ytd_base": Decimal(0), "planned_start": planned, "actual_start": started if started and started <= AS_OF else None,
            "resumed_on": None, "procedures_required": required, "procedures_base": rng.randrange(0, required),
            "lead_id": 100 + n % leads, "league_leader_id": None, "unit_leader_id": units[n % len(units)]["id"],
            "department_contact_id": None, "active": True, "created_at": now, "updated_at": now,
        })  # fmt: skip
    return {"units": units, "people": people, "projects": projects, "rng": rng}


def _weekly(
    opts: ComposeOptions, projects: list[dict[str, Any]], rng: random.Random
) -> Iterator[tuple[dict, dict]]:
    """(prompt, report) per project and week: deadline Saturday 12:00 Beijing (04:00 UTC)."""
    ident = 0
    for week in range(1, opts.weeks + 1):
        monday = _week_monday(week)
        label = f"{YEAR}-W{week:02d}"
        prompted = datetime.combine(monday + timedelta(days=3), datetime.min.time(), UTC) + timedelta(hours=1)
        deadline = datetime.combine(monday + timedelta(days=5), datetime.min.time(), UTC) + timedelta(hours=4)
        for project in projects:
            ident += 1
            late = rng.random() < 0.03
            submitted = (
                deadline + timedelta(hours=3) if late else deadline - timedelta(hours=rng.randrange(1, 48))
            )
            done = rng.random() < 0.02
            yield (
                {"id": ident, "project_id": project["id"], "week": label, "prompted_at": prompted, "deadline": deadline,
                 "reminded_at": None},
                {"id": ident, "project_id": project["id"], "week": label, "year": YEAR, "week_end": monday + timedelta(days=6),
                 "reporter_id": project["lead_id"], "channel": "telegram",
                 "investment": (project["annual_plan"] * Decimal(rng.randrange(50, 140)) / 5200).quantize(Decimal(1)), "procedures_completed": 1 if done else 0,
                 "procedure_names": None, "stage": project["stage"], "blockers": None, "submitted_at": submitted,
                 "is_current": True, "version": 1},
            )  # fmt: skip


async def prepare_schema(engine: AsyncEngine, *, reset: bool) -> None:
    """A fresh schema through the Alembic migration. A PostgreSQL database that already holds
    projects is wiped only with `reset` (a benchmark must not eat an office's data)."""
    if engine.dialect.name == "postgresql":
        async with engine.begin() as conn:
            has_project: bool = (
                await conn.execute(text("SELECT to_regclass('project') IS NOT NULL"))
            ).scalar_one()
            projects = (
                (await conn.execute(select(func.count()).select_from(Project))).scalar_one()
                if has_project
                else 0
            )
        if projects and not reset:
            raise NotEmptyError("该数据库已有项目数据:请用空库,或加 --reset 清空 / the database holds projects: "
                                "use an empty one or pass --reset to wipe it")  # fmt: skip
    async with engine.begin() as conn:
        await conn.run_sync(SQLModel.metadata.drop_all)
        await conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    await upgrade(engine)


async def _insert(engine: AsyncEngine, table: Any, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    async with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            raw = await conn.get_raw_connection()
            columns = list(rows[0])
            await raw.driver_connection.copy_records_to_table(  # type: ignore[union-attr]
                table.name, records=[tuple(r[c] for c in columns) for r in rows], columns=columns
            )
        else:
            await conn.execute(insert(table), rows)


async def load_dataset(engine: AsyncEngine, opts: ComposeOptions, progress: Progress) -> int:
    """Create the schema and load the dataset; returns the number of report rows."""
    await prepare_schema(engine, reset=opts.reset)
    data = _rows(opts)
    for model, key in ((Unit, "units"), (Person, "people"), (Project, "projects")):
        await _insert(engine, model.__table__, data[key])  # type: ignore[attr-defined,union-attr]
    total = opts.projects * opts.weeks
    prompts: list[dict[str, Any]] = []
    reports: list[dict[str, Any]] = []
    done = 0
    for prompt, report in _weekly(opts, data["projects"], data["rng"]):
        prompts.append(prompt)
        reports.append(report)
        if len(reports) >= CHUNK:
            await _insert(engine, WeekPrompt.__table__, prompts)  # type: ignore[attr-defined,union-attr]
            await _insert(engine, ProgressReport.__table__, reports)  # type: ignore[attr-defined,union-attr]
            done += len(reports)
            progress("load", done * 100 // total)
            prompts, reports = [], []
    await _insert(engine, WeekPrompt.__table__, prompts)  # type: ignore[attr-defined,union-attr]
    await _insert(engine, ProgressReport.__table__, reports)  # type: ignore[attr-defined,union-attr]
    done += len(reports)
    if engine.dialect.name == "postgresql":
        async with engine.begin() as conn:
            for table in ("unit", "person", "project", "weekprompt", "progressreport"):
                await conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                        f"(SELECT max(id) FROM {table}))"))  # fmt: skip
            await conn.execute(text("ANALYZE"))
    else:
        async with engine.begin() as conn:
            await conn.execute(text("ANALYZE"))
    progress("load", 100)
    return done


async def measure(url: str, opts: ComposeOptions, progress: Progress) -> dict[str, Any]:
    engine = create_engine(url)
    try:
        started = time.perf_counter()
        rows = await load_dataset(engine, opts, progress)
        load_seconds = time.perf_counter() - started
        settings = load_settings(database_url=url, _env_file=None)
        maker = create_sessionmaker(engine)
        compose_times: list[float] = []
        numbers_times: list[float] = []
        sms = ""
        for attempt in range(opts.repeats + 1):  # the first run warms caches and is not counted
            async with maker() as session:
                t0 = time.perf_counter()
                numbers = await compute_numbers(session, settings=settings, as_of=AS_OF)
                t1 = time.perf_counter()
                composed = await compose_bulletin(
                    session, settings=settings, kind=BulletinKind.WEEKLY, as_of=AS_OF
                )
                t2 = time.perf_counter()
            if attempt:
                numbers_times.append(t1 - t0)
                compose_times.append(t2 - t1)
            sms = composed.sms
            progress("measure", (attempt + 1) * 100 // (opts.repeats + 1))
        median = statistics.median(compose_times)
        return {
            "dialect": engine.dialect.name,
            "projects": opts.projects,
            "report_rows": rows,
            "load_seconds": round(load_seconds, 1),
            "compose_median_s": round(median, 3),
            "compose_best_s": round(min(compose_times), 3),
            "numbers_median_s": round(statistics.median(numbers_times), 3),
            "vs_target": round(median / TARGET_SECONDS, 2),
            "meets_target": median < TARGET_SECONDS,
            "not_reported": len(numbers.not_reported),
            "black_list": len(numbers.black_list),
            "sms_characters": len(sms),
        }
    finally:
        await engine.dispose()


async def run_bench(opts: ComposeOptions, progress: Progress) -> dict[str, Any]:
    results: dict[str, Any] = {"as_of": AS_OF.isoformat(), "target_s": TARGET_SECONDS}
    with tempfile.TemporaryDirectory(prefix="guatu-bench-") as folder:
        sqlite_url = f"sqlite+aiosqlite:///{Path(folder) / 'compose.db'}"
        results["sqlite"] = await measure(sqlite_url, opts, lambda step, pct: progress(f"sqlite {step}", pct))
    if opts.database_url:
        results["postgresql"] = await measure(
            opts.database_url, opts, lambda step, pct: progress(f"postgresql {step}", pct)
        )
        results["pg_vs_sqlite"] = round(
            results["postgresql"]["compose_median_s"] / results["sqlite"]["compose_median_s"], 2
        )
    return results
