"""Conversations on real Redis (ConversationStorage, the bot's production storage): a conversation
survives a new Dispatcher, each update reads Redis once and writes at most once, what a handler
changed is kept when it fails afterwards, and a refused change leaves the conversation as it was;
the commands of concurrent updates go together (CommandBatch), in order, each failing alone."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiogram.fsm.storage.base import StorageKey
from aiogram.fsm.storage.redis import RedisStorage
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.states import ReportForm
from bot.storage import ConversationStorage
from models import ProgressReport
from models.db import SessionMaker
from notifier.core.settings import Settings
from tests.bot.harness import WEEK, Harness, harness
from tests.notifier.bot_world import World, make_world

LEAD = 111


@pytest.fixture
async def storage(redis: Any, redis_url: str) -> AsyncIterator[ConversationStorage]:
    conversations = ConversationStorage.from_url(redis_url)
    yield conversations
    await conversations.close()


async def _bound_lead(session: AsyncSession) -> World:
    world = await make_world(session)
    world.lead.telegram_id = LEAD
    session.add(world.lead)
    await session.commit()
    return world


async def _commands(redis: Any) -> dict[str, int]:
    stats = await redis.info("commandstats")
    return {name.removeprefix("cmdstat_"): int(value["calls"]) for name, value in stats.items()}


async def test_conversation_survives_a_new_dispatcher(
    session: AsyncSession, settings: Settings, sessionmaker: SessionMaker, storage: ConversationStorage
) -> None:
    world = await _bound_lead(session)
    first = harness(settings, sessionmaker, storage=storage)
    await first.tap(LEAD, f"rep:{world.projects[1].id}:{WEEK}")
    await first.tap(LEAD, "stg:continuing")
    # A restarted bot process: a new Dispatcher on the same Redis continues the conversation.
    second = harness(settings, sessionmaker, storage=storage)
    assert second.texts(await second.text(LEAD, "850万")) == ["有哪些困难或问题需要协调?没有请回复“无”。"]
    await second.text(LEAD, "无")
    assert second.texts(await second.tap(LEAD, "cfm:1")) == [
        "已保存2026-W48周进展,谢谢!截止前可以重新填报覆盖。"
    ]
    report = (await session.exec(select(ProgressReport))).one()
    assert report.investment == 8500000
    assert await storage.redis.keys("guatu:conversation:*") == []  # a finished conversation leaves nothing


async def _report_commands(h: Harness, project_id: int | None, redis: Any) -> dict[str, int]:
    """The Redis commands one whole report conversation (five updates) takes."""
    before = await _commands(redis)
    await h.tap(LEAD, f"rep:{project_id}:{WEEK}")
    await h.tap(LEAD, "stg:continuing")
    await h.text(LEAD, "850万")
    await h.text(LEAD, "无")
    await h.tap(LEAD, "cfm:1")
    after = await _commands(redis)
    used = {name: after[name] - before.get(name, 0) for name in after if after[name] != before.get(name, 0)}
    return {
        name: n for name, n in used.items() if name in {"get", "set", "del"}
    }  # not a new connection's own


async def test_each_update_reads_once_and_writes_at_most_once(
    session: AsyncSession, settings: Settings, sessionmaker: SessionMaker, storage: ConversationStorage,
    redis_url: str,
) -> None:  # fmt: skip
    world = await _bound_lead(session)
    pid = world.projects[1].id
    # aiogram's RedisStorage, side by side: two keys, one command per call.
    aiogram_storage = RedisStorage.from_url(redis_url)
    try:
        aiogram_used = await _report_commands(harness(settings, sessionmaker, storage=aiogram_storage), pid,
                                              storage.redis)  # fmt: skip
    finally:
        await aiogram_storage.close()
    assert aiogram_used == {"get": 9, "set": 8, "del": 2}  # 19
    # The resubmission through ConversationStorage: one read per update, one write when changed.
    used = await _report_commands(harness(settings, sessionmaker, storage=storage), pid, storage.redis)
    assert used == {"get": 5, "set": 4, "del": 1}
    assert len((await session.exec(select(ProgressReport))).all()) == 2


async def test_changes_made_before_a_failure_are_kept(storage: ConversationStorage) -> None:
    key = StorageKey(bot_id=42, chat_id=LEAD, user_id=LEAD)
    await storage.get_state(key)  # what aiogram does at the start of an update
    await storage.set_state(key, ReportForm.investment)
    await storage.update_data(key, {"stage": "new"})
    assert await storage.redis.get(storage._key(key)) is None  # held until the update is done
    await storage.flush()  # UpdateMiddleware's `finally`, also when the handler raised
    assert await storage.get_state(key) == "ReportForm:investment"
    assert await storage.get_data(key) == {"stage": "new"}
    await storage.flush()


async def test_outside_an_update_calls_go_straight_to_redis(storage: ConversationStorage) -> None:
    key = StorageKey(bot_id=42, chat_id=222, user_id=222)
    await storage.set_data(key, {"week": WEEK})
    await storage.set_state(key, ReportForm.stage)
    other = ConversationStorage(storage.redis)  # another process reading the same Redis
    assert await other.get_state(key) == "ReportForm:stage"
    assert await other.get_data(key) == {"week": WEEK}
    await other.flush()


async def test_answers_that_are_not_json_are_refused_and_nothing_changes(
    storage: ConversationStorage,
) -> None:
    key = StorageKey(bot_id=42, chat_id=333, user_id=333)
    await storage.get_state(key)
    await storage.set_data(key, {"picked": [1]})
    with pytest.raises(TypeError):
        await storage.set_data(key, {"picked": {1, 2}})  # a set is not JSON
    assert await storage.get_data(key) == {"picked": [1]}
    data = await storage.get_data(key)
    data["picked"].append(2)  # a handler's own copy: the conversation is not changed behind its back
    assert await storage.get_data(key) == {"picked": [1]}
    await storage.flush()
    assert await storage.get_data(key) == {"picked": [1]}


async def _counting_pipelines(storage: ConversationStorage) -> list[int]:
    """Wrap the client's pipeline(): the returned list grows by one per pipeline sent."""
    sent: list[int] = []
    make = storage.redis.pipeline

    def pipeline(*args: Any, **kwargs: Any) -> Any:
        sent.append(1)
        return make(*args, **kwargs)

    storage.redis.pipeline = pipeline  # type: ignore[method-assign]
    return sent


async def test_concurrent_commands_travel_in_one_round_trip(storage: ConversationStorage, redis: Any) -> None:
    sent = await _counting_pipelines(storage)
    await asyncio.gather(*(storage.commands.call("SET", f"guatu:test:{i}", str(i)) for i in range(50)))
    replies = await asyncio.gather(*(storage.commands.call("GET", f"guatu:test:{i}") for i in range(50)))
    assert replies == [str(i).encode() for i in range(50)]
    assert len(sent) == 2  # 100 commands, two round trips
    assert await storage.commands.call("GET", "guatu:test:7") == b"7"  # alone when nothing else waits
    assert len(sent) == 3


async def test_commands_reach_redis_in_the_order_they_were_issued(storage: ConversationStorage) -> None:
    sent = await _counting_pipelines(storage)
    first = asyncio.create_task(storage.commands.call("SET", "guatu:test:order", "1"))
    await asyncio.sleep(0)  # the first pipeline is on its way with the write
    read, overwrite, reread, first_write = await asyncio.gather(
        storage.commands.call("GET", "guatu:test:order"),
        storage.commands.call("SET", "guatu:test:order", "2"),
        storage.commands.call("GET", "guatu:test:order"),
        first,
    )
    assert (read, reread) == (b"1", b"2") and overwrite is True and first_write is True
    assert len(sent) == 2


async def test_a_failed_command_fails_alone(storage: ConversationStorage) -> None:
    await storage.commands.call("SET", "guatu:test:text", "not a number")
    results: tuple[Any, ...] = await asyncio.gather(
        storage.commands.call("SET", "guatu:test:n", "1"),
        storage.commands.call("INCR", "guatu:test:text"),
        storage.commands.call("INCR", "guatu:test:n"),
        return_exceptions=True,
    )
    good, bad, other = results
    assert good is True and other == 2
    assert isinstance(bad, ResponseError)


async def test_a_cancelled_caller_leaves_the_others_their_replies(storage: ConversationStorage) -> None:
    await storage.commands.call("SET", "guatu:test:c", "kept")
    waiting = asyncio.create_task(storage.commands.call("GET", "guatu:test:c"))
    other = asyncio.create_task(storage.commands.call("GET", "guatu:test:c"))
    await asyncio.sleep(0)
    waiting.cancel()
    assert await other == b"kept"
    assert await storage.commands.call("GET", "guatu:test:c") == b"kept"


async def test_redis_down_fails_every_waiting_update_at_once_and_the_next_is_tried() -> None:
    storage = ConversationStorage.from_url("redis://127.0.0.1:1/0")  # nothing listens there
    key = StorageKey(bot_id=42, chat_id=LEAD, user_id=LEAD)
    try:
        results = await asyncio.wait_for(
            asyncio.gather(*(storage.get_state(key) for _ in range(5)), return_exceptions=True), timeout=10
        )
        assert all(isinstance(r, RedisConnectionError) for r in results)
        with pytest.raises(RedisConnectionError):  # the next one is tried, not stuck behind the failure
            await asyncio.wait_for(storage.commands.call("GET", "x"), timeout=10)
    finally:
        await storage.close()
