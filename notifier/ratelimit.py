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

# KEYS[1] timeline; ARGV[1] interval in microseconds. Returns {slot, now} in Redis microseconds.
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local interval = tonumber(ARGV[1])
redis.call('SET', KEYS[1], tat + interval, 'PX', math.ceil((tat + interval - now) / 1000) + 60000)
return {tat, now}
"""

# KEYS[1] log (sorted set of send times); ARGV window (µs), limit, a unique member.
# Returns 0 when the send may go (and logs it), else the microseconds to wait before asking again.
_ADMIT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local window = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], math.ceil(window / 1000) + 1000)
  return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return math.max(tonumber(oldest[2]) + window - now, 1)
"""


# Both steps in one round trip, for the common case of a slot that is already due: KEYS[1]
# timeline, KEYS[2] log; ARGV interval (µs), window (µs), limit, a unique member. Returns
# {slot, now, wait}: wait is -1 when the slot is still to come (the caller sleeps, then asks
# `_ADMIT`), 0 when the send was admitted and logged, else the microseconds to wait for room.
_RESERVE_ADMIT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local interval = tonumber(ARGV[1])
redis.call('SET', KEYS[1], tat + interval, 'PX', math.ceil((tat + interval - now) / 1000) + 60000)
if tat > now then return {tat, now, -1} end
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - window)
if redis.call('ZCARD', KEYS[2]) < tonumber(ARGV[3]) then
  redis.call('ZADD', KEYS[2], now, ARGV[4])
  redis.call('PEXPIRE', KEYS[2], math.ceil(window / 1000) + 1000)
  return {tat, now, 0}
end
local oldest = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
return {tat, now, math.max(tonumber(oldest[2]) + window - now, 1)}
"""


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
        waited = 0.0
        if int(wait_us) < 0:  # the slot is still to come
            waited = max(int(slot) - int(now), 0) / 1_000_000
            await asyncio.sleep(waited)
        else:
            await asyncio.sleep(int(wait_us) / 1_000_000)
            waited = int(wait_us) / 1_000_000
        while (wait := await self.admit()) > 0:
            await asyncio.sleep(wait)
            waited += wait
        return waited
