"""`guatu bench bot`: how many Telegram updates per second the bot handles, without a network.

1,000 bound leads (one project each) report at once: every lead taps the prompt's button, picks
the stage, types the amount, answers the blockers and confirms — then does it all again (a
resubmission before the deadline), so 10 updates per lead and 10,000 in all, interleaved across
leads. They go through the real aiogram Dispatcher (bot/app.py: middlewares, routers, FSM,
report service, database) with a Bot on the recording session that answers like Telegram. The
conversations live in ConversationStorage on a real Redis (production, bot/storage.py) and, side
by side, in aiogram's MemoryStorage. After each run every project must have exactly one current report and its earlier
version kept. Side by side, the same updates go through a bare Dispatcher whose only handler
answers each update with one message and touches no database: the framework's own floor on this
machine (`floor_updates_per_sec`), against which `vs_floor` compares Guatu's bot. Each run also
gives the process's CPU time per update (`cpu_us_per_update`): the bot is bound by one core, and CPU
time varies less than the rate with what else the machine is doing. With `--by-step` each step
(begin, stage, amount, blockers, confirm) goes to every lead at once and its CPU time per update is
printed per round (`cpu_us_per_update_by_step`; the first begin includes looking the sender up).
The last stdout line is one JSON object.
"""

from __future__ import annotations

import asyncio
import itertools
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.fsm.storage.base import BaseStorage, DefaultKeyBuilder
from aiogram.fsm.storage.memory import MemoryStorage
from aiogram.types import Message
from sqlalchemy import func
from sqlmodel import col, select

from bench.compose import prepare_schema
from bot.app import BOT_ENGINE_OPTIONS, build_dispatcher
from bot.fake_session import RecordingSession, recording_bot
from bot.storage import ConversationStorage
from models import Person, ProgressReport, Project, Role, Stage, Unit, UnitKind
from models.db import SessionMaker, create_engine, create_sessionmaker
from notifier.core.settings import load_settings

NOW = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)  # Thursday 11:00 in Alxa, week 2026-W48
WEEK = "2026-W48"
TARGET = 1000.0  # updates per second
TELEGRAM_BASE = 8_000_000
Progress = Callable[[str, int], None]


@dataclass(frozen=True)
class BotBenchOptions:
    leads: int = 1000
    rounds: int = 2  # reports per lead (the second replaces the first)
    database_url: str | None = None
    redis_url: str | None = None
    reset: bool = False
    telegram_latency_ms: float = 0.0  # each Bot API request's round trip (0: no network at all)
    by_step: bool = False  # each step fed to every lead at once, timed on its own


STEP_NAMES = ("begin", "stage", "amount", "blockers", "confirm")


def steps(project_id: int, round_no: int) -> list[tuple[str, str]]:
    """One report conversation as (kind, payload) updates: 5 per report."""
    amount = ["850万", "1.2亿", "３００万元", "二千万"][round_no % 4]
    return [("tap", f"rep:{project_id}:{WEEK}"), ("tap", "stg:continuing"), ("text", amount),
            ("text", "无" if round_no % 2 == 0 else "用地审批待协调"), ("tap", "cfm:1")]  # fmt: skip


class Feeder:
    """Feeds Telegram updates to a Dispatcher as Telegram delivers them: JSON objects, parsed once with
    the Bot in their context (`feed_raw_update`, as the webhook and long polling do)."""

    def __init__(self, dp: Dispatcher, bot: Bot) -> None:
        self.dp, self.bot = dp, bot
        self.ids = itertools.count(1)
        self.date = int(NOW.timestamp())

    def _message(self, user_id: int, body: str) -> dict[str, Any]:
        return {"message_id": next(self.ids), "date": self.date, "chat": {"id": user_id, "type": "private"},
                "from": {"id": user_id, "is_bot": False, "first_name": "U"}, "text": body}  # fmt: skip

    async def feed(self, user_id: int, kind: str, payload: str) -> None:
        if kind == "tap":
            query = {"id": str(next(self.ids)), "from": {"id": user_id, "is_bot": False, "first_name": "U"},
                     "chat_instance": "c", "data": payload, "message": self._message(user_id, "prompt")}  # fmt: skip
            update = {"update_id": next(self.ids), "callback_query": query}
        else:
            update = {"update_id": next(self.ids), "message": self._message(user_id, payload)}
        await self.dp.feed_raw_update(self.bot, update)


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


async def run_conversations(dp: Dispatcher, bot: Bot, pairs: list[tuple[int, int]], rounds: int) -> int:
    """Every lead's conversations at once (each lead's own updates in order); returns updates fed."""
    feeder = Feeder(dp, bot)

    async def lead(telegram_id: int, project_id: int) -> int:
        fed = 0
        for round_no in range(rounds):
            for kind, payload in steps(project_id, round_no):
                await feeder.feed(telegram_id, kind, payload)
                fed += 1
        return fed

    return sum(await asyncio.gather(*(lead(t, p) for t, p in pairs)))


async def run_by_step(
    dp: Dispatcher, bot: Bot, pairs: list[tuple[int, int]], rounds: int, cpu_by_step: dict[str, list[int]]
) -> int:
    """The same conversations one step at a time: every lead's step goes at once, and the next step only
    when all are answered. Each step's process CPU time per update goes to `cpu_by_step` (one figure per
    round); returns updates fed."""
    feeder = Feeder(dp, bot)
    for round_no in range(rounds):
        for index, name in enumerate(STEP_NAMES):
            cpu = time.process_time()
            await asyncio.gather(*(feeder.feed(t, *steps(p, round_no)[index]) for t, p in pairs))
            cpu_by_step.setdefault(name, []).append(round((time.process_time() - cpu) / len(pairs) * 1e6))
    return len(pairs) * rounds * len(STEP_NAMES)


async def timed_conversations(
    dp: Dispatcher,
    session: RecordingSession,
    pairs: list[tuple[int, int]],
    rounds: int,
    *,
    by_step: bool = False,
) -> dict[str, Any]:
    """`run_conversations` (or `run_by_step`) on a Bot over `session`, timed: updates, seconds, the rate
    and the process's CPU time per update (and per step and round with `by_step`)."""
    cpu_by_step: dict[str, list[int]] = {}
    started, cpu = time.perf_counter(), time.process_time()
    if by_step:
        updates = await run_by_step(dp, recording_bot(session), pairs, rounds, cpu_by_step)
    else:
        updates = await run_conversations(dp, recording_bot(session), pairs, rounds)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    timed = {"updates": updates, "seconds": round(seconds, 2), "updates_per_sec": round(updates / seconds, 1),
             "cpu_us_per_update": round(cpu / updates * 1e6)}  # fmt: skip
    return timed | ({"cpu_us_per_update_by_step": cpu_by_step} if by_step else {})


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


async def measure(
    url: str, storage: BaseStorage, opts: BotBenchOptions, label: str, progress: Progress, *, reset: bool
) -> dict[str, Any]:
    engine = create_engine(url, **BOT_ENGINE_OPTIONS)  # as `guatu bot` has it
    try:
        await prepare_schema(engine, reset=reset)
        maker = create_sessionmaker(engine)
        pairs = await seed_leads(maker, opts.leads)
        settings = load_settings(database_url=url, _env_file=None, quiet_hours="")
        session = RecordingSession(latency=opts.telegram_latency_ms / 1000)
        dp = build_dispatcher(settings=settings, sessionmaker=maker, storage=storage, clock=lambda: NOW)
        progress(label, 10)
        timed = await timed_conversations(dp, session, pairs, opts.rounds, by_step=opts.by_step)
        progress(label, 90)
        checked = await check_reports(maker, pairs, opts.rounds)
        progress(label, 100)
        return timed | {"vs_target": round(timed["updates_per_sec"] / TARGET, 2),
                        "bot_requests": len(session.requests), **checked}  # fmt: skip
    finally:
        await engine.dispose()


def floor_dispatcher() -> Dispatcher:
    """aiogram with nothing of Guatu's: MemoryStorage, one handler per update kind that replies once."""
    from aiogram import Router
    from aiogram.types import CallbackQuery as Query

    dp = Dispatcher(storage=MemoryStorage())
    router = Router()

    @router.message()
    async def on_message(message: Message) -> None:
        await message.answer("ok")

    @router.callback_query()
    async def on_query(query: Query) -> None:
        assert query.message is not None
        await query.message.answer("ok")

    dp.include_router(router)
    return dp


async def measure_floor(opts: BotBenchOptions, progress: Progress) -> dict[str, Any]:
    """The same updates, from the same number of leads at once, through `floor_dispatcher`."""
    pairs = [(TELEGRAM_BASE + i, i + 1) for i in range(opts.leads)]
    session = RecordingSession(latency=opts.telegram_latency_ms / 1000)
    dp = floor_dispatcher()
    progress("framework floor", 10)
    timed = await timed_conversations(dp, session, pairs, opts.rounds, by_step=opts.by_step)
    progress("framework floor", 100)
    return timed


async def run_bench(opts: BotBenchOptions, progress: Progress) -> dict[str, Any]:
    result: dict[str, Any] = {"leads": opts.leads, "rounds": opts.rounds, "target_updates_per_sec": TARGET,
                              "telegram_latency_ms": opts.telegram_latency_ms}  # fmt: skip
    result["floor"] = await measure_floor(opts, progress)
    with tempfile.TemporaryDirectory(prefix="guatu-bench-bot-") as folder:
        url = opts.database_url or f"sqlite+aiosqlite:///{Path(folder) / 'bot.db'}"
        result["database"] = url.split("://", 1)[0]
        if opts.redis_url:
            # Keys of this run only (a prefix of its own, gone after ten minutes): the bench never
            # touches other FSM state in the same Redis.
            prefix = f"guatu-bench-{uuid.uuid4().hex[:8]}"
            redis_storage = ConversationStorage.from_url(opts.redis_url, key_builder=DefaultKeyBuilder(prefix=prefix),
                                                         ttl=600)  # fmt: skip
            try:
                result["redis_storage"] = await measure(url, redis_storage, opts, "redis storage", progress,
                                                        reset=opts.reset)  # fmt: skip
            finally:
                await redis_storage.close()
        # The second run wipes what the first one wrote.
        result["memory_storage"] = await measure(url, MemoryStorage(), opts, "memory storage", progress,
                                                 reset=opts.reset or "redis_storage" in result)  # fmt: skip
    floor = result["floor"]["updates_per_sec"]
    for key in ("redis_storage", "memory_storage"):
        if key in result:
            result[key]["vs_floor"] = round(result[key]["updates_per_sec"] / floor, 3)
    if "redis_storage" in result:
        result["redis_vs_memory"] = round(
            result["redis_storage"]["updates_per_sec"] / result["memory_storage"]["updates_per_sec"], 2
        )
    return result
