"""Where conversations live between updates: Redis, one key per conversation, one read and at most
one write per update, the commands of concurrent updates sent together."""

from __future__ import annotations

import asyncio
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import orjson
from aiogram.exceptions import DataNotDictLikeError
from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, DefaultKeyBuilder, KeyBuilder, StateType, StorageKey
from redis.asyncio import BlockingConnectionPool, Redis

# Redis connections the bot opens at most; an update beyond them waits for one (an unbounded pool
# opened one connection per update in flight, hundreds in a burst, and was slower for it).
MAX_CONNECTIONS = 50


class CommandBatch:
    """Redis commands from concurrent updates, sent together: one pipeline per round trip.

    Each command costs the client far more CPU on its own (a pool checkout, a health check, a
    write and a read) than as one of many in a pipeline, and a burst of leads answering the weekly
    prompt issues hundreds at once. A command waits for the pipeline in flight, if any, and goes
    with everything queued behind it; pipelines go one at a time, so this process's commands reach
    Redis in the order they were issued (a conversation's write is never overtaken by the next
    update's read). When the bot is quiet a command goes at once, alone, as before.
    """

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._queue: list[tuple[tuple[Any, ...], asyncio.Future[Any]]] = []
        self._sender: asyncio.Task[None] | None = None

    async def call(self, *command: Any) -> Any:
        """Run one command (`"GET", key`) with the next pipeline; its reply, or its error raised here."""
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._queue.append((command, future))
        if self._sender is None:
            self._sender = asyncio.create_task(self._send())
        return await future

    async def _send(self) -> None:
        try:
            while self._queue:
                batch, self._queue = self._queue, []
                await self._send_batch(batch)
        finally:
            self._sender = None
            for _, future in self._queue:  # cancelled at shutdown: no caller waits forever
                if not future.done():
                    future.set_exception(ConnectionError("conversation storage closed"))
            self._queue = []

    async def _send_batch(self, batch: list[tuple[tuple[Any, ...], asyncio.Future[Any]]]) -> None:
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for command, _ in batch:
                    pipe.execute_command(*command)
                replies = await pipe.execute(raise_on_error=False)
        except BaseException as exc:  # Redis down: every command of the batch fails with the reason
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc if isinstance(exc, Exception) else ConnectionError(str(exc)))
            if not isinstance(exc, Exception):
                raise
            return
        for (_, future), reply in zip(batch, replies, strict=True):
            if future.done():  # its caller was cancelled
                continue
            if isinstance(reply, Exception):
                future.set_exception(reply)
            else:
                future.set_result(reply)


@dataclass
class _Copy:
    """A conversation as read at the start of the update, with what the handler changed since."""

    state: str | None
    data: bytes  # JSON of the answers: every read hands out a fresh dict
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
    `UpdateMiddleware` around every update). Calls made outside an update go to Redis
    at once. The answers must be JSON, as with RedisStorage; `ttl` (seconds) lets an abandoned
    conversation expire.
    """

    def __init__(
        self, redis: Redis, *, key_builder: KeyBuilder | None = None, ttl: int | None = None
    ) -> None:
        self.redis = redis
        self.commands = CommandBatch(redis)
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
        raw = await self.commands.call("GET", redis_key)
        if raw is None:
            return _Copy(state=None, data=b"{}")
        stored = orjson.loads(raw)
        return _Copy(state=stored.get("state"), data=orjson.dumps(stored.get("data") or {}))

    async def _write(self, redis_key: str, copy: _Copy) -> None:
        if copy.state is None and copy.data == b"{}":
            await self.commands.call("DEL", redis_key)
            return
        value = b'{"state":' + orjson.dumps(copy.state) + b',"data":' + copy.data + b"}"
        if self.ttl is None:
            await self.commands.call("SET", redis_key, value)
        else:
            await self.commands.call("SET", redis_key, value, "EX", self.ttl)

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
        data: dict[str, Any] = orjson.loads(copy.data)
        return data

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        value = state.state if isinstance(state, State) else state
        await self._change(key, lambda copy: setattr(copy, "state", value))

    async def set_data(self, key: StorageKey, data: Any) -> None:
        if not isinstance(data, dict):
            raise DataNotDictLikeError(f"Data must be a dict or dict-like object, got {type(data).__name__}")
        # Not JSON: refused here (TypeError), before anything changes. Keys become strings, as with json.
        text = orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS)
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
        changed = [self._write(redis_key, copy) for redis_key, copy in held.items() if copy.changed]
        if len(changed) == 1:
            await changed[0]
        elif changed:  # they travel in one pipeline
            await asyncio.gather(*changed)
