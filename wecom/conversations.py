"""Report conversations of WeCom members, kept in Redis like aiogram's RedisStorage keeps
Telegram's: they outlive a restart and are shared by every web process. One key per member holds
the state and the data as JSON; a lock per member lets one callback at a time move it on.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from wecom import keys

# A conversation left alone this long is dropped (a week's report is closed by then anyway).
TTL_SECONDS = 14 * 24 * 3600
LOCK_SECONDS = 30


class RedisMemory:
    """notifier.reporting.conversation.Memory for one member of one app."""

    def __init__(self, redis: Any, *, corp_id: str, agent_id: int, userid: str) -> None:
        self.redis = redis
        self.key = keys.CONVERSATION.format(corp_id=corp_id, agent_id=agent_id, userid=userid)

    async def _load(self) -> dict[str, Any]:
        raw = await self.redis.get(self.key)
        if not raw:
            return {"state": None, "data": {}}
        stored = json.loads(raw)
        return stored if isinstance(stored, dict) else {"state": None, "data": {}}

    async def _store(self, stored: dict[str, Any]) -> None:
        if stored.get("state") is None and not stored.get("data"):
            await self.redis.delete(self.key)
        else:
            await self.redis.set(self.key, json.dumps(stored, ensure_ascii=False), ex=TTL_SECONDS)

    async def get_state(self) -> str | None:
        state = (await self._load()).get("state")
        return str(state) if state is not None else None

    async def set_state(self, state: str | None = None) -> None:
        stored = await self._load()
        stored["state"] = str(state) if state is not None else None
        await self._store(stored)

    async def get_data(self) -> dict[str, Any]:
        return dict((await self._load()).get("data") or {})

    async def set_data(self, data: Mapping[str, Any]) -> None:
        stored = await self._load()
        stored["data"] = dict(data)
        await self._store(stored)

    async def update_data(self, **kwargs: Any) -> dict[str, Any]:
        stored = await self._load()
        data = dict(stored.get("data") or {}) | kwargs
        stored["data"] = data
        await self._store(stored)
        return data

    async def clear(self) -> None:
        await self.redis.delete(self.key)

    @asynccontextmanager
    async def locked(self) -> AsyncIterator[None]:
        """One callback of the member at a time (WeCom may deliver two presses at once)."""
        async with self.redis.lock(self.key + ":lock", timeout=LOCK_SECONDS, blocking_timeout=LOCK_SECONDS):
            yield
