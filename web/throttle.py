"""Counting in windows: failed sign-ins per name and per address, webhook signatures already seen.

Redis counts when it is configured and answers: one Lua script moves every counter of a request at
once, so twenty parallel sign-ins cannot all pass the check before any of them is counted. Without
Redis, or while it does not answer, the database counts (one upsert per counter, in one
transaction), so a lockout survives a missing Redis, a Redis outage and a restart.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from redis.exceptions import RedisError
from sqlalchemy import case, delete, literal, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from models import WindowCounter, utcnow
from models.base import UTCDateTime
from models.db import SessionMaker

log = logging.getLogger(__name__)
KEY_PREFIX = "guatu:window:"
LOGIN_WINDOW = 15 * 60
# Per name: a handful of guesses at one admin's password. Per address: more, since one office's
# staff may share one address behind its router.
MAX_NAME_FAILURES = 5
MAX_ADDRESS_FAILURES = 20

# KEYS are counters, ARGV[1] the window in seconds and ARGV[i + 1] the step for KEYS[i]: 0 deletes
# the counter, a positive step adds (a new counter ends with its window), a negative one takes
# back (never below zero). Returns the counts after the steps.
_MOVE = """
local out = {}
for i, key in ipairs(KEYS) do
  local step = tonumber(ARGV[i + 1])
  local n = 0
  if step ~= 0 then
    n = redis.call('INCRBY', key, step)
    if n <= 0 then
      redis.call('DEL', key)
      n = 0
    elseif redis.call('TTL', key) < 0 then
      redis.call('EXPIRE', key, ARGV[1])
    end
  else
    redis.call('DEL', key)
  end
  out[i] = n
end
return out
"""


class Counters:
    """Counters that restart when their window ends, in Redis or (without it) in the database.

    `state` is the app's state: its `redis` (None without REDIS_URL) and `sessionmaker` are looked
    up on each use, as the app's lifespan sets them.
    """

    def __init__(self, state: Any) -> None:
        self.state = state

    async def move(self, steps: dict[str, int], *, window: int) -> dict[str, int]:
        """Apply each step to its counter at once; the counts after."""
        redis = getattr(self.state, "redis", None)
        if redis is not None:
            try:
                keys = sorted(steps)
                counts = await redis.register_script(_MOVE)(
                    keys=keys, args=[window, *(steps[k] for k in keys)]
                )
                return {key: int(n) for key, n in zip(keys, counts, strict=True)}
            except RedisError as exc:
                log.warning("Redis does not answer (%s): counting in the database", type(exc).__name__)
        return await self._move_in_database(steps, window=window)

    async def _move_in_database(self, steps: dict[str, int], *, window: int) -> dict[str, int]:
        now = utcnow()
        until = literal(now + timedelta(seconds=window), UTCDateTime())
        table = WindowCounter.__table__  # type: ignore[attr-defined]
        counts: dict[str, int] = {}
        sessionmaker: SessionMaker = self.state.sessionmaker
        async with sessionmaker() as session:
            connection = await session.connection()
            insert = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
            await connection.execute(delete(table).where(table.c.expires_at <= now))
            # Keys in one order in every transaction: two requests never wait on each other's rows.
            for key in sorted(steps):
                step = steps[key]
                if step == 0:
                    await connection.execute(delete(table).where(table.c.key == key))
                    counts[key] = 0
                elif step < 0:
                    lowered = (
                        update(table)
                        .where(table.c.key == key)
                        .values(hits=case((table.c.hits + step < 0, 0), else_=table.c.hits + step))
                        .returning(table.c.hits)
                    )
                    counts[key] = (await connection.execute(lowered)).scalar() or 0
                else:
                    ended = table.c.expires_at <= now
                    upsert = (
                        insert(table)
                        .values(key=key, hits=step, expires_at=until)
                        .on_conflict_do_update(
                            index_elements=[table.c.key],
                            set_={"hits": case((ended, step), else_=table.c.hits + step),
                                  "expires_at": case((ended, until), else_=table.c.expires_at)},
                        )
                        .returning(table.c.hits)
                    )  # fmt: skip
                    counts[key] = int((await connection.execute(upsert)).scalar_one())
            await session.commit()
        return counts


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:32]


@dataclass(frozen=True)
class LoginGate:
    """At most MAX_NAME_FAILURES tries per admin name and MAX_ADDRESS_FAILURES per address in a window.

    A try is counted *before* its password is checked (the check takes a while), and a right password
    gives it back; so parallel tries beyond the limit are refused without being checked.
    """

    counters: Counters

    @staticmethod
    def keys(*, name: str, address: str) -> tuple[str, str]:
        return (f"{KEY_PREFIX}login-name:{_digest(name.strip().casefold())}",
                f"{KEY_PREFIX}login-address:{_digest(address)}")  # fmt: skip

    async def admit(self, *, name: str, address: str) -> bool:
        """Count this try; True when it may be checked, False while the name or address is locked."""
        name_key, address_key = self.keys(name=name, address=address)
        counts = await self.counters.move({name_key: 1, address_key: 1}, window=LOGIN_WINDOW)
        return counts[name_key] <= MAX_NAME_FAILURES and counts[address_key] <= MAX_ADDRESS_FAILURES

    async def passed(self, *, name: str, address: str) -> None:
        """The right password: the name starts afresh and the address gets this try back."""
        name_key, address_key = self.keys(name=name, address=address)
        await self.counters.move({name_key: 0, address_key: -1}, window=LOGIN_WINDOW)


async def first_time(counters: Counters, key: str, *, window: int) -> bool:
    """True the first time `key` is seen within `window` seconds."""
    full = f"{KEY_PREFIX}seen:{_digest(key)}"
    return (await counters.move({full: 1}, window=window))[full] == 1


async def forget(counters: Counters, key: str) -> None:
    """Make `key` unseen again (what it guarded did not happen after all)."""
    await counters.move({f"{KEY_PREFIX}seen:{_digest(key)}": 0}, window=1)
