"""Bot under load: 100 leads in concurrent report conversations (1,000 updates, interleaved) through
the real Dispatcher with the conversations on Redis (ConversationStorage, as in production); every confirmed report is stored exactly once as the
current one and the earlier version is kept. Speed is measured by `guatu bench bot`, not here."""

from __future__ import annotations

from bench.bot import NOW, STEP_NAMES, check_reports, run_by_step, run_conversations, seed_leads
from bot.app import build_dispatcher
from bot.fake_session import RecordingSession, recording_bot
from bot.storage import ConversationStorage
from models.db import SessionMaker
from notifier.core.settings import Settings


async def test_hundred_leads_report_at_once_and_each_report_is_stored_once(
    sessionmaker: SessionMaker, settings: Settings, redis_url: str, redis: object
) -> None:
    pairs = await seed_leads(sessionmaker, 100)
    storage = ConversationStorage.from_url(redis_url)
    try:
        session = RecordingSession()
        dp = build_dispatcher(
            settings=settings, sessionmaker=sessionmaker, storage=storage, clock=lambda: NOW
        )
        assert await run_conversations(dp, recording_bot(session), pairs, 2) == 1000
    finally:
        await storage.close()
    assert await check_reports(sessionmaker, pairs, 2) == {"current_reports": 100, "report_versions": 200}
    saved = [r for r in session.requests if "已保存" in str(getattr(r, "text", ""))]
    assert len(saved) == 200  # every confirmation answered once


async def test_step_by_step_the_same_reports_are_stored_once(
    sessionmaker: SessionMaker, settings: Settings, redis_url: str, redis: object
) -> None:
    """`guatu bench bot --by-step`: each step goes to every lead at once; the outcome is the same."""
    pairs = await seed_leads(sessionmaker, 50)
    storage = ConversationStorage.from_url(redis_url)
    cpu_by_step: dict[str, list[int]] = {}
    try:
        dp = build_dispatcher(
            settings=settings, sessionmaker=sessionmaker, storage=storage, clock=lambda: NOW
        )
        assert await run_by_step(dp, recording_bot(RecordingSession()), pairs, 2, cpu_by_step) == 500
    finally:
        await storage.close()
    assert await check_reports(sessionmaker, pairs, 2) == {"current_reports": 50, "report_versions": 100}
    assert list(cpu_by_step) == list(STEP_NAMES) and all(len(v) == 2 for v in cpu_by_step.values())
