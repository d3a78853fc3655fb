"""The app's access token, cached in Redis for every process and refreshed by one at a time.

The cached token expires REFRESH_MARGIN seconds before WeCom's expiry, so a refresh happens
before WeCom would refuse it. A refresh takes a Redis lock (SET NX with a time limit); processes
that find the lock taken wait for the new token instead of asking WeCom themselves. After WeCom
refuses a token (42001 expired, 40014 invalid), `refresh(stale)` replaces it only if the cache
still holds that same token, so a crowd of callers who all saw it fail still causes one gettoken.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from notifier.channels.wecom import WecomError

log = logging.getLogger("guatu.wecom.tokens")

REFRESH_MARGIN = 300
_RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"

Fetch = Callable[[], Awaitable[tuple[str, int]]]


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value.decode() if isinstance(value, bytes) else str(value)


class TokenCache:
    """`await tokens.get()` for the current token; `await tokens.refresh(stale)` after WeCom refused it."""

    def __init__(
        self, redis: Any, *, key: str, lock_key: str, fetch: Fetch, lock_seconds: float = 15.0,
        wait_seconds: float = 20.0, margin: int = REFRESH_MARGIN,
    ) -> None:  # fmt: skip
        self.redis = redis
        self.key = key
        self.lock_key = lock_key
        self.fetch = fetch
        self.lock_ms = int(lock_seconds * 1000)
        self.wait_seconds = wait_seconds
        self.margin = margin
        self._release: Any = None

    async def get(self) -> str:
        token = _text(await self.redis.get(self.key))
        return token if token else await self._renew(stale=None)

    async def refresh(self, stale: str) -> str:
        """A token other than `stale` (fetched by this process or another)."""
        return await self._renew(stale=stale)

    async def _renew(self, *, stale: str | None) -> str:
        deadline = time.monotonic() + self.wait_seconds
        owner = uuid.uuid4().hex
        delay = 0.02
        while True:
            current = _text(await self.redis.get(self.key))
            if current and current != stale:
                return current
            if await self.redis.set(self.lock_key, owner, nx=True, px=self.lock_ms):
                try:
                    return await self._fetch_and_store(stale)
                finally:
                    await self._unlock(owner)
            if time.monotonic() > deadline:
                raise WecomError("等待企业微信 access_token 超时 / timed out waiting for the WeCom access token",
                                 transient=True)  # fmt: skip
            await asyncio.sleep(delay)  # another process is fetching it
            delay = min(delay * 2, 0.5)

    async def _fetch_and_store(self, stale: str | None) -> str:
        # Another process may have stored a fresh token between our read and taking the lock.
        current = _text(await self.redis.get(self.key))
        if current and current != stale:
            return current
        token, expires_in = await self.fetch()
        ttl = max(int(expires_in) - self.margin, 1)
        await self.redis.set(self.key, token, ex=ttl)
        log.info("WeCom access token fetched (cached for %s s)", ttl)
        return token

    async def _unlock(self, owner: str) -> None:
        if self._release is None:
            self._release = self.redis.register_script(_RELEASE)
        await self._release(keys=[self.lock_key], args=[owner])
