"""Bot under load: 100 leads in concurrent report conversations (1,000 updates, interleaved) through
the real Dispatcher with the conversations on Redis (the production storage); every confirmed report
is stored exactly once as the current one and the earlier version is kept. Speed is measured by
`guatu bench bot`, not here; its own run is checked small and fast below."""

from __future__ import annotations

import pytest

from bench.bot import (
    NOW,
    STEP_NAMES,
    BotBenchOptions,
    Feeder,
    bench_storage,
    check_reports,
    percentile,
    run_bench,
    run_conversations,
    seed_leads,
)
from bot.app import build_dispatcher
from bot.fake_session import RecordingSession, recording_bot
from models.db import SessionMaker
from notifier.core.settings import Settings


async def test_hundred_leads_report_at_once_and_each_report_is_stored_once(
    sessionmaker: SessionMaker, settings: Settings, redis_url: str, redis: object
) -> None:
    pairs = await seed_leads(sessionmaker, 100)
    storage = bench_storage(redis_url)
    try:
        session = RecordingSession()
        dp = build_dispatcher(
            settings=settings, sessionmaker=sessionmaker, storage=storage, clock=lambda: NOW
        )
        feeder = Feeder(dp, recording_bot(session), latency=0)
        assert await run_conversations(feeder, pairs, 2) == 1000
    finally:
        await storage.close()
    assert await check_reports(sessionmaker, pairs, 2) == {"current_reports": 100, "report_versions": 200}
    saved = [r for r in session.requests if "已保存" in str(getattr(r, "text", ""))]
    assert len(saved) == 200  # every confirmation answered once
    assert {step: len(added) for step, added in feeder.added.items()} == dict.fromkeys(STEP_NAMES, 200)


async def test_the_bench_spreads_the_leads_over_the_window_and_times_every_update(
    redis_url: str, redis: object
) -> None:
    opts = BotBenchOptions(
        leads=20, rounds=1, window_seconds=1.0, telegram_latency_ms=400, redis_url=redis_url
    )
    result = await run_bench(opts, lambda _step, _percent: None)
    assert (result["updates"], result["current_reports"], result["report_versions"]) == (100, 20, 20)
    assert result["seconds"] >= 1.0  # the last lead began late in the window
    assert result["bot_requests"] == 20 * 8  # per report: two answers to each of 3 taps, one to 2 texts
    added = result["added_ms"]
    # The round trips are taken out: every update waits 400 ms or more for Telegram's answers, far
    # more than the bot's own time even on a loaded machine.
    assert 0 <= added["p50"] < 400 and added["p50"] <= added["p95"] <= added["p99"] <= added["max"]
    assert list(result["added_ms_by_step"]) == list(STEP_NAMES)
    assert result["cpu_us_per_update"] > 0 and isinstance(result["goal_met"], bool)


@pytest.mark.parametrize(
    ("values", "p", "expected"),
    [([5.0], 50, 5.0), ([1.0, 2.0, 3.0, 4.0], 50, 2.0), ([1.0, 2.0, 3.0, 4.0], 99, 4.0),
     (list(range(1, 101)), 95, 95), (list(range(100, 0, -1)), 1, 1)],
)  # fmt: skip
def test_percentile_is_the_nearest_rank(values: list[float], p: float, expected: float) -> None:
    assert percentile(values, p) == expected


def test_percentile_of_nothing_is_refused() -> None:
    with pytest.raises(ValueError):
        percentile([], 50)
