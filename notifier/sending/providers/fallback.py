"""Primary/secondary providers behind one circuit breaker shared by every worker through Redis.

The breaker counts consecutive transient failures of the primary. At the threshold it opens:
for the cool-down every send goes to the secondary. Then one trial send goes to the primary
(half-open); success closes the breaker, failure opens it for another cool-down.

A failed attempt is never re-sent here: the error goes back to the send loop, whose retry
(after its backoff) lands on whichever provider the breaker then names. Each SendResult carries
the provider that took it, and `find_sent` asks both, so the reconciliation of an interrupted
send finds the message wherever it went — exactly-once holds across a switch.
"""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import datetime
from typing import Any

from notifier.sending.providers.base import ProviderError, SendResult, SentMessage, SmsProvider, TemplateUse

KEY_PREFIX = "guatu:breaker:"

# KEYS[1] breaker hash. ARGV: now, threshold, cooldown. Returns 1 when this failure opened it.
_RECORD_FAILURE = """
local failures = redis.call('HINCRBY', KEYS[1], 'failures', 1)
if failures >= tonumber(ARGV[2]) then
  redis.call('HSET', KEYS[1], 'open_until', tonumber(ARGV[1]) + tonumber(ARGV[3]), 'failures', 0)
  redis.call('HINCRBY', KEYS[1], 'trips', 1)
  return 1
end
return 0
"""


class CircuitBreaker:
    """Shared state: consecutive failures and the instant the breaker closes again.

    `redis` is a redis.asyncio client (arq's ArqRedis is one).
    """

    def __init__(self, redis: Any, *, name: str, threshold: int, cooldown: float) -> None:
        self._redis = redis
        self.key = KEY_PREFIX + name
        self.threshold = threshold
        self.cooldown = cooldown

    async def is_open(self, now: float | None = None) -> bool:
        state = await self._redis.hgetall(self.key)
        open_until = float(state.get(b"open_until", b"0"))
        return (now or time.time()) < open_until

    async def record_failure(self, now: float | None = None) -> bool:
        opened = await self._redis.eval(
            _RECORD_FAILURE, 1, self.key, str(now or time.time()), str(self.threshold), str(self.cooldown)
        )
        return bool(opened)

    async def record_success(self) -> None:
        await self._redis.hset(self.key, "failures", "0")

    async def trips(self) -> int:
        state = await self._redis.hgetall(self.key)
        return int(state.get(b"trips", b"0"))


class FallbackProvider:
    """SmsProvider that sends through `primary` unless the breaker sends it to `secondary`."""

    def __init__(self, primary: SmsProvider, secondary: SmsProvider, *, breaker: CircuitBreaker) -> None:
        self.primary = primary
        self.secondary = secondary
        self.breaker = breaker
        self.name = f"{primary.name}+{secondary.name}"

    async def send(
        self,
        *,
        to: str,
        body: str,
        status_callback: str | None = None,
        reference: str | None = None,
        template: TemplateUse | None = None,
    ) -> SendResult:
        options = {"status_callback": status_callback, "reference": reference, "template": template}
        if await self.breaker.is_open():
            result = await self.secondary.send(to=to, body=body, **options)  # type: ignore[arg-type]
            return SendResult(
                sid=result.sid, status=result.status, provider=result.provider or self.secondary.name
            )
        try:
            result = await self.primary.send(to=to, body=body, **options)  # type: ignore[arg-type]
        except ProviderError as exc:
            if exc.transient:
                await self.breaker.record_failure()
            raise
        await self.breaker.record_success()
        return SendResult(sid=result.sid, status=result.status, provider=result.provider or self.primary.name)

    async def find_sent(self, *, to: str, since: datetime) -> list[SentMessage]:
        found = []
        for provider in (self.primary, self.secondary):
            for message in await provider.find_sent(to=to, since=since):
                found.append(message if message.provider else _with_provider(message, provider.name))
        return found

    async def aclose(self) -> None:
        await self.primary.aclose()
        await self.secondary.aclose()


def _with_provider(message: SentMessage, name: str) -> SentMessage:
    return replace(message, provider=name)
