"""`guatu bench bot`: the time the bot adds to each reply under a realistic burst.

1,000 bound leads (one project each) all report within the same ten minutes: each lead begins at a
random moment of the window (uniform, seeded) and goes through the report conversation — taps the
prompt's button, picks the stage, types the amount, answers the blockers, confirms — each step sent
as soon as the bot has answered the previous one (with `--rounds 2` the lead then reports again, a
resubmission before the deadline). The updates go through the real aiogram Dispatcher (bot/app.py:
middlewares, routers, FSM on the production storage in Redis, report service, database) with a Bot
whose session answers like Telegram after `--telegram-latency-ms` per request.

For every update the bench records the wall time from receiving it (the raw JSON, as the webhook and
long polling hand it over) until its last Bot API call has returned, less the round trips of the Bot
API calls it made: the time the bot itself added (`added_ms`: p50, p95, p99, max; and per step of the
conversation, `added_ms_by_step`). The goal is
p50 ≤ 20 ms and p99 ≤ 100 ms on PostgreSQL with 100 ms per Bot API call. The process's CPU time
per update (`cpu_us_per_update`) is printed with it. After the run every project must have exactly
one current report and every earlier version kept. The last stdout line is one JSON object.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import random
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.fsm.storage.base import BaseStorage, DefaultKeyBuilder
from aiogram.fsm.storage.redis import RedisStorage
from aiogram.methods import TelegramMethod
from sqlalchemy import func
from sqlmodel import col, select

from bench.compose import prepare_schema
from bot.app import build_dispatcher
from bot.fake_session import RecordingSession, recording_bot
from models import Person, ProgressReport, Project, Role, Stage, Unit, UnitKind
from models.db import SessionMaker, create_engine, create_sessionmaker
from notifier.core.settings import load_settings

NOW = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)  # Thursday 11:00 in Alxa, week 2026-W48
WEEK = "2026-W48"
TELEGRAM_BASE = 8_000_000
GOAL_P50_MS, GOAL_P99_MS = 20.0, 100.0
Progress = Callable[[str, int], None]


@dataclass(frozen=True)
class BotBenchOptions:
    leads: int = 1000
    rounds: int = 1  # reports per lead (a second one replaces the first)
    window_seconds: float = 600.0  # the leads begin at random moments within it (0: all at once)
    telegram_latency_ms: float = 100.0  # each Bot API request's round trip
    database_url: str | None = None
    redis_url: str | None = None
    reset: bool = False
    seed: int = 17


STEP_NAMES = ("begin", "stage", "amount", "blockers", "confirm")


def steps(project_id: int, round_no: int) -> list[tuple[str, str]]:
    """One report conversation as (kind, payload) updates: 5 per report."""
    amount = ["850万", "1.2亿", "３００万元", "二千万"][round_no % 4]
    return [("tap", f"rep:{project_id}:{WEEK}"), ("tap", "stg:continuing"), ("text", amount),
            ("text", "无" if round_no % 2 == 0 else "用地审批待协调"), ("tap", "cfm:1")]  # fmt: skip


# The Bot API calls made by the update being handled (each lead's conversation runs in a task of its
# own, and aiogram handles an update within the task that feeds it).
_calls: ContextVar[list[int] | None] = ContextVar("bench_bot_calls", default=None)


class TimedSession(RecordingSession):
    """RecordingSession that counts each update's Bot API calls (see `_calls`)."""

    async def make_request(self, bot: Bot, method: TelegramMethod[Any], timeout: int | None = None) -> Any:
        counter = _calls.get()
        if counter is not None:
            counter[0] += 1
        return await super().make_request(bot, method, timeout)


class Feeder:
    """Feeds Telegram updates to a Dispatcher as Telegram delivers them: JSON objects, parsed with the
    Bot in their context (`feed_raw_update`, as the webhook and long polling do), and notes the time
    each one adds beyond its Bot API round trips."""

    def __init__(self, dp: Dispatcher, bot: Bot, latency: float) -> None:
        self.dp, self.bot, self.latency = dp, bot, latency
        self.ids = itertools.count(1)
        self.date = int(NOW.timestamp())
        self.added: dict[str, list[float]] = {}  # seconds, one per update, by step of the conversation

    def _message(self, user_id: int, body: str) -> dict[str, Any]:
        return {"message_id": next(self.ids), "date": self.date, "chat": {"id": user_id, "type": "private"},
                "from": {"id": user_id, "is_bot": False, "first_name": "U"}, "text": body}  # fmt: skip

    def _update(self, user_id: int, kind: str, payload: str) -> dict[str, Any]:
        if kind == "tap":
            query = {"id": str(next(self.ids)), "from": {"id": user_id, "is_bot": False, "first_name": "U"},
                     "chat_instance": "c", "data": payload, "message": self._message(user_id, "prompt")}  # fmt: skip
            return {"update_id": next(self.ids), "callback_query": query}
        return {"update_id": next(self.ids), "message": self._message(user_id, payload)}

    async def feed(self, user_id: int, kind: str, payload: str, *, step: str = "update") -> None:
        update = self._update(user_id, kind, payload)
        counter = [0]
        token = _calls.set(counter)
        started = time.perf_counter()
        try:
            await self.dp.feed_raw_update(self.bot, update)
        finally:
            added = time.perf_counter() - started - counter[0] * self.latency
            self.added.setdefault(step, []).append(added)
            _calls.reset(token)


def arrivals(leads: int, window_seconds: float, seed: int) -> list[float]:
    """When each lead begins, in seconds from the start: uniform over the window, seeded."""
    rng = random.Random(seed)
    return [rng.uniform(0, window_seconds) for _ in range(leads)]


def percentile(values: Sequence[float], p: float) -> float:
    """The nearest-rank p-th percentile (0 < p ≤ 100) of `values`."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def latency_figures(added: Sequence[float]) -> dict[str, float]:
    """Percentiles of the added time, in milliseconds."""
    figures = {f"p{p}": round(percentile(added, p) * 1000, 2) for p in (50, 95, 99)}
    return figures | {"max": round(max(added) * 1000, 2)}


async def seed_leads(sessionmaker: SessionMaker, leads: int) -> list[tuple[int, int]]:
    """A unit, `leads` bound leads with one continuing project each: [(telegram id, project id)]."""
    async with sessionmaker() as session:
        unit = Unit(code="ALZQ", name="阿拉善左旗", kind=UnitKind.BANNER)
        session.add(unit)
        await session.flush()
        people = [Person(name=f"负责人{i}", phone=f"+86139{20_000_000 + i:08d}", role=Role.LEAD, unit_id=unit.id,
                         telegram_id=TELEGRAM_BASE + i) for i in range(leads)]  # fmt: skip
        session.add_all(people)
        await session.flush()
        projects = [Project(code=f"B{i:05d}", name=f"项目{i}", unit_id=unit.id or 0, year=2026, stage=Stage.CONTINUING,
                            total_investment=Decimal("5000000000"), annual_plan=Decimal("1000000000"),
                            lead_id=p.id) for i, p in enumerate(people)]  # fmt: skip
        session.add_all(projects)
        await session.commit()
        return [(p.telegram_id or 0, pr.id or 0) for p, pr in zip(people, projects, strict=True)]


async def run_conversations(
    feeder: Feeder, pairs: list[tuple[int, int]], rounds: int, starts: Sequence[float] | None = None
) -> int:
    """Every lead's conversations, each lead beginning at its start (seconds from now; all at once
    without `starts`) and sending each step once the previous one is answered; returns updates fed."""
    began = time.perf_counter()

    async def lead(telegram_id: int, project_id: int, start: float) -> int:
        await asyncio.sleep(max(0.0, began + start - time.perf_counter()))
        fed = 0
        for round_no in range(rounds):
            for step, (kind, payload) in zip(STEP_NAMES, steps(project_id, round_no), strict=True):
                await feeder.feed(telegram_id, kind, payload, step=step)
                fed += 1
        return fed

    offsets = starts if starts is not None else [0.0] * len(pairs)
    return sum(await asyncio.gather(*(lead(t, p, s) for (t, p), s in zip(pairs, offsets, strict=True))))


async def check_reports(
    sessionmaker: SessionMaker, pairs: list[tuple[int, int]], rounds: int
) -> dict[str, int]:
    """Exactly one current report per project, and every earlier version kept."""
    async with sessionmaker() as session:
        current = dict((await session.exec(select(ProgressReport.project_id, func.count()).where(  # type: ignore[call-overload]
            col(ProgressReport.is_current)).group_by(col(ProgressReport.project_id)))).all())  # fmt: skip
        versions = int((await session.exec(select(func.count()).select_from(ProgressReport))).one())
    wrong = [p for _, p in pairs if current.get(p) != 1]
    if wrong or versions != len(pairs) * rounds:
        raise AssertionError(f"reports: {len(wrong)} projects without exactly one current report, "
                             f"{versions} versions for {len(pairs) * rounds} confirmations")  # fmt: skip
    return {"current_reports": len(current), "report_versions": versions}


def bench_storage(redis_url: str) -> BaseStorage:
    """The bot's production storage on `redis_url`, under keys of this run only (a prefix of its own,
    gone after an hour): the bench never touches other conversations in the same Redis."""
    prefix = f"guatu-bench-{uuid.uuid4().hex[:8]}"
    return RedisStorage.from_url(
        redis_url, key_builder=DefaultKeyBuilder(prefix=prefix), state_ttl=3600, data_ttl=3600
    )


async def measure(
    url: str, storage: BaseStorage, opts: BotBenchOptions, progress: Progress
) -> dict[str, Any]:
    engine = create_engine(url)  # as `guatu bot` has it
    try:
        await prepare_schema(engine, reset=opts.reset)
        maker = create_sessionmaker(engine)
        pairs = await seed_leads(maker, opts.leads)
        settings = load_settings(database_url=url, _env_file=None, quiet_hours="")
        latency = opts.telegram_latency_ms / 1000
        session = TimedSession(latency=latency)
        dp = build_dispatcher(settings=settings, sessionmaker=maker, storage=storage, clock=lambda: NOW)
        feeder = Feeder(dp, recording_bot(session), latency)
        progress("conversations", 10)
        started, cpu = time.perf_counter(), time.process_time()
        updates = await run_conversations(feeder, pairs, opts.rounds, arrivals(opts.leads, opts.window_seconds,
                                                                                opts.seed))  # fmt: skip
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        progress("conversations", 90)
        checked = await check_reports(maker, pairs, opts.rounds)
        progress("conversations", 100)
    finally:
        await engine.dispose()
    added = latency_figures([a for step in feeder.added.values() for a in step])
    by_step = {step: latency_figures(feeder.added[step]) for step in STEP_NAMES if step in feeder.added}
    return {"updates": updates, "seconds": round(seconds, 2), "updates_per_sec": round(updates / seconds, 1),
            "added_ms": added, "added_ms_by_step": by_step, "cpu_us_per_update": round(cpu / updates * 1e6),
            "goal_met": added["p50"] <= GOAL_P50_MS and added["p99"] <= GOAL_P99_MS,
            "bot_requests": len(session.requests), **checked}  # fmt: skip


async def run_bench(opts: BotBenchOptions, progress: Progress) -> dict[str, Any]:
    if not opts.redis_url:
        raise ValueError("the bench needs a Redis URL (the bot's conversations live in Redis)")
    result: dict[str, Any] = {"leads": opts.leads, "rounds": opts.rounds, "window_seconds": opts.window_seconds,
                              "telegram_latency_ms": opts.telegram_latency_ms,
                              "goal_ms": {"p50": GOAL_P50_MS, "p99": GOAL_P99_MS}}  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="guatu-bench-bot-") as folder:
        url = opts.database_url or f"sqlite+aiosqlite:///{Path(folder) / 'bot.db'}"
        result["database"] = url.split("://", 1)[0]
        storage = bench_storage(opts.redis_url)
        try:
            result |= await measure(url, storage, opts, progress)
        finally:
            await storage.close()
    return result
