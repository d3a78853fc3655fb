"""A WeCom member's report conversation in Redis: it outlives the process that wrote it, is kept
per member and per app, and is gone once cleared."""

from __future__ import annotations

from typing import Any

from wecom.conversations import TTL_SECONDS, RedisMemory


async def test_the_conversation_outlives_a_restart(redis: Any) -> None:
    memory = RedisMemory(redis, corp_id="ww1", agent_id=1000002, userid="wx-a")
    assert (await memory.get_state(), await memory.get_data()) == (None, {})
    await memory.set_state("ReportForm:investment")
    await memory.set_data({"project_id": 7, "week": "2026-W48"})
    assert await memory.update_data(stage="new") == {"project_id": 7, "week": "2026-W48", "stage": "new"}
    # Another process (a restarted web app) reads the same conversation.
    again = RedisMemory(redis, corp_id="ww1", agent_id=1000002, userid="wx-a")
    assert await again.get_state() == "ReportForm:investment"
    assert await again.get_data() == {"project_id": 7, "week": "2026-W48", "stage": "new"}
    assert 0 < await redis.ttl(again.key) <= TTL_SECONDS
    # Someone else, or the same userid in another app, has a conversation of their own.
    for other in (RedisMemory(redis, corp_id="ww1", agent_id=1000002, userid="wx-b"),
                  RedisMemory(redis, corp_id="ww1", agent_id=1000003, userid="wx-a")):  # fmt: skip
        assert (await other.get_state(), await other.get_data()) == (None, {})
    await again.clear()
    assert (await memory.get_state(), await memory.get_data()) == (None, {})
    assert await redis.exists(memory.key) == 0


async def test_one_callback_of_a_member_at_a_time(redis: Any) -> None:
    import asyncio

    memory = RedisMemory(redis, corp_id="ww1", agent_id=1000002, userid="wx-a")
    order: list[str] = []

    async def step(name: str) -> None:
        async with memory.locked():
            order.append(f"{name} in")
            await asyncio.sleep(0.05)
            order.append(f"{name} out")

    await asyncio.gather(step("a"), step("b"))
    assert order in (["a in", "a out", "b in", "b out"], ["b in", "b out", "a in", "a out"])
