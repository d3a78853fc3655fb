"""Counters kept in Redis so every process (bot replicas, workers) adds to one figure for /metrics."""

from __future__ import annotations

from typing import Any

BOT_UPDATES_KEY = "guatu:metrics:bot_updates"


async def count_bot_update(redis: Any) -> None:
    """Count one Telegram update handled (the bot calls this per update)."""
    await redis.incr(BOT_UPDATES_KEY)


async def bot_updates(redis: Any) -> int:
    return int(await redis.get(BOT_UPDATES_KEY) or 0)
