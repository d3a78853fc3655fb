"""Where conversations live between updates: Redis, one key per conversation, one read and at most
one write per update."""

from __future__ import annotations

import json
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from aiogram.exceptions import DataNotDictLikeError
from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, DefaultKeyBuilder, KeyBuilder, StateType, StorageKey
from redis.asyncio import BlockingConnectionPool, Redis

# Redis connections the bot opens at most; an update beyond them waits for one (an unbounded pool
# opened one connection per update in flight, hundreds in a burst, and was slower for it).
MAX_CONNECTIONS = 50


@dataclass
class _Copy:
    """A conversation as read at the start of the update, with what the handler changed since."""

    state: str | None
    data: str  # JSON text of the answers: every read hands out a fresh dict
    changed: bool = False


# The conversations the current update has read (its task's context), by Redis key.
_open: ContextVar[dict[str, _Copy] | None] = ContextVar("guatu_conversations", default=None)


class ConversationStorage(BaseStorage):
    """aiogram's FSM storage on Redis, holding a conversation's state and answers under one key.

    aiogram's RedisStorage keeps the state and the answers under two keys and goes to Redis on
    every call, so one step of a report (read the state, read the answers, write them, move the
    state on) took four round trips. aiogram reads the state at the start of every update; here
    that one read fetches the whole conversation, the handler works on that copy, and what it
    changed goes back in one command when the update is done (`flush`, called by
    `ConversationFlushMiddleware` around every update). Calls made outside an update go to Redis
    at once. The answers must be JSON, as with RedisStorage; `ttl` (seconds) lets an abandoned
    conversation expire.
    """

    def __init__(
        self, redis: Redis, *, key_builder: KeyBuilder | None = None, ttl: int | None = None
    ) -> None:
        self.redis = redis
        self.key_builder = key_builder or DefaultKeyBuilder(prefix="guatu:conversation")
        self.ttl = ttl

    @classmethod
    def from_url(
        cls, url: str, *, max_connections: int = MAX_CONNECTIONS, **kwargs: Any
    ) -> ConversationStorage:
        pool = BlockingConnectionPool.from_url(url, max_connections=max_connections)
        return cls(Redis(connection_pool=pool), **kwargs)

    async def close(self) -> None:
        await self.redis.aclose(close_connection_pool=True)

    def _key(self, key: StorageKey) -> str:
        return self.key_builder.build(key)

    async def _read(self, redis_key: str) -> _Copy:
        raw = await self.redis.get(redis_key)
        if raw is None:
            return _Copy(state=None, data="{}")
        stored = json.loads(raw)
        return _Copy(state=stored.get("state"), data=json.dumps(stored.get("data") or {}, ensure_ascii=False))

    async def _write(self, redis_key: str, copy: _Copy, pipe: Any = None) -> None:
        target = pipe if pipe is not None else self.redis
        if copy.state is None and copy.data == "{}":
            await target.delete(redis_key)
        else:
            await target.set(
                redis_key, f'{{"state": {json.dumps(copy.state)}, "data": {copy.data}}}', ex=self.ttl
            )

    def _held(self, redis_key: str) -> _Copy | None:
        held = _open.get()
        return held.get(redis_key) if held is not None else None

    async def get_state(self, key: StorageKey) -> str | None:
        redis_key = self._key(key)
        copy = await self._read(redis_key)
        held = _open.get()
        if held is None:
            held = {}
            _open.set(held)
        held[redis_key] = copy
        return copy.state

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        redis_key = self._key(key)
        copy = self._held(redis_key) or await self._read(redis_key)
        data: dict[str, Any] = json.loads(copy.data)
        return data

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        value = state.state if isinstance(state, State) else state
        await self._change(key, lambda copy: setattr(copy, "state", value))

    async def set_data(self, key: StorageKey, data: Any) -> None:
        if not isinstance(data, dict):
            raise DataNotDictLikeError(f"Data must be a dict or dict-like object, got {type(data).__name__}")
        text = json.dumps(data, ensure_ascii=False)  # not JSON: refused here, before anything changes
        await self._change(key, lambda copy: setattr(copy, "data", text))

    async def _change(self, key: StorageKey, change: Any) -> None:
        redis_key = self._key(key)
        copy = self._held(redis_key)
        if copy is not None:
            change(copy)
            copy.changed = True
            return
        copy = await self._read(redis_key)  # outside an update: straight to Redis
        change(copy)
        await self._write(redis_key, copy)

    async def flush(self) -> None:
        """Write back what the current update changed (one command per changed conversation) and let
        go of its copies."""
        held = _open.get()
        if held is None:
            return
        _open.set(None)
        changed = [(redis_key, copy) for redis_key, copy in held.items() if copy.changed]
        if len(changed) == 1:
            await self._write(*changed[0])
        elif changed:
            async with self.redis.pipeline(transaction=False) as pipe:
                for redis_key, copy in changed:
                    await self._write(redis_key, copy, pipe)
                await pipe.execute()
