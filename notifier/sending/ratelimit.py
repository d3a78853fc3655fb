"""One send rate shared by every worker process on every host, through Redis.

Two steps in Lua on Redis's own clock (TIME), so hosts need not agree on the time (one round trip
for both when the slot is already due):

1. Spacing (a generic cell rate algorithm): each send reserves the next free slot on a shared
   timeline, one slot every (1 s + a jitter allowance) / rate, and sleeps until it. Sends are
   spread evenly instead of bursting at the top of each second.
2. A sliding one-second log, checked when the slot arrives: the send goes only if fewer than
   `rate` sends went in the last second, else it waits for the oldest to leave the window. A
   process that woke late (a busy host, a pause) therefore cannot fire its overdue slots in a
   bunch, and no one-second window holds more than `rate` sends.
"""

from __future__ import annotations

import asyncio
import math
import uuid
from typing import Any

KEY_PREFIX = "guatu:rate:"
# Requests reach the provider with some network and scheduling jitter after they are let go, so
# slots are spaced so that `rate + 1` consecutive ones span one second plus this allowance (at
# 100/s about 95/s are achieved) and the log check rarely has to hold anyone back.
JITTER_ALLOWANCE_US = 50_000

# The two steps as Lua functions on Redis's clock, shared by the three scripts below.
# reserve: take the next slot on the timeline `key`, one every `interval` µs; returns the slot.
# admit: log a send in the one-second log `key` (a sorted set of send times) when it holds fewer
# than `limit`; returns 0 when logged, else the microseconds to wait before asking again.
_STEPS = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local function reserve(key, interval)
  local tat = tonumber(redis.call('GET', key) or '0')
  if tat < now then tat = now end
  redis.call('SET', key, tat + interval, 'PX', math.ceil((tat + interval - now) / 1000) + 60000)
  return tat
end
local function admit(key, window, limit, member)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  if redis.call('ZCARD', key) < limit then
    redis.call('ZADD', key, now, member)
    redis.call('PEXPIRE', key, math.ceil(window / 1000) + 1000)
    return 0
  end
  local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  return math.max(tonumber(oldest[2]) + window - now, 1)
end
"""
# KEYS[1] timeline; ARGV[1] interval (µs). Returns {slot, now} in Redis microseconds.
_RESERVE = _STEPS + "return {reserve(KEYS[1], tonumber(ARGV[1])), now}"
# KEYS[1] log; ARGV window (µs), limit, a unique member. Returns admit's answer.
_ADMIT = _STEPS + "return admit(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3])"
# Both in one round trip, for the common case of a slot already due: KEYS timeline, log; ARGV
# interval, window, limit, member. Returns {slot, now, wait}: wait is -1 when the slot is still to
# come (the caller sleeps, then asks `_ADMIT`), else admit's answer.
_RESERVE_ADMIT = (
    _STEPS
    + """
local slot = reserve(KEYS[1], tonumber(ARGV[1]))
if slot > now then return {slot, now, -1} end
return {slot, now, admit(KEYS[2], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4])}
"""
)


class RateLimiter:
    """`await limiter.acquire()` right before each provider request."""

    def __init__(self, redis: Any, *, rate_per_sec: float, name: str = "sms") -> None:
        self._redis = redis
        self.key = KEY_PREFIX + name
        self.log_key = KEY_PREFIX + name + ":log"
        self.interval_us = max(1, int((1_000_000 + JITTER_ALLOWANCE_US) / rate_per_sec))
        # Below 1/s the window widens instead: one send per 1/rate seconds.
        self.limit = max(1, math.floor(rate_per_sec))
        self.window_us = 1_000_000 if rate_per_sec >= 1 else int(1_000_000 / rate_per_sec)
        self._reserve: Any = None
        self._admit: Any = None
        self._reserve_admit: Any = None

    async def reserve(self) -> tuple[int, int]:
        """Take the next slot without waiting: (slot, now), both in Redis microseconds."""
        if self._reserve is None:
            self._reserve = self._redis.register_script(_RESERVE)
        slot, now = await self._reserve(keys=[self.key], args=[self.interval_us])
        return int(slot), int(now)

    async def admit(self) -> float:
        """Log a send if the last second has room: 0.0, else the seconds to wait before asking again."""
        if self._admit is None:
            self._admit = self._redis.register_script(_ADMIT)
        wait_us = await self._admit(keys=[self.log_key], args=[self.window_us, self.limit, uuid.uuid4().hex])
        return int(wait_us) / 1_000_000

    async def acquire(self) -> float:
        """Wait for this caller's slot, then for room in the last second; returns the seconds waited.

        A slot already due is reserved and admitted in one round trip."""
        if self._reserve_admit is None:
            self._reserve_admit = self._redis.register_script(_RESERVE_ADMIT)
        slot, now, wait_us = await self._reserve_admit(
            keys=[self.key, self.log_key],
            args=[self.interval_us, self.window_us, self.limit, uuid.uuid4().hex],
        )
        if int(wait_us) == 0:
            return 0.0
        # -1: the slot is still to come, so wait for it; else wait for room in the log.
        waited = (max(int(slot) - int(now), 0) if int(wait_us) < 0 else int(wait_us)) / 1_000_000
        await asyncio.sleep(waited)
        while (wait := await self.admit()) > 0:
            await asyncio.sleep(wait)
            waited += wait
        return waited
