"""What a test run owns on shared servers: its own PostgreSQL database and its own Redis db number.

Two runs on one machine (or a run beside the office's own data) must never meet, so a run
- creates a PostgreSQL database with a unique name on TEST_DATABASE_URL's server and drops it at
  the end (`TEST_DATABASE_URL` then names the run's own database for every test and subprocess);
- on a shared Redis (TEST_REDIS_URL / REDIS_URL), claims a db number no other run holds and that
  holds nothing else: the claim is the name of one connection kept open for the run (CLIENT
  SETNAME), so it ends with the run, however the run ends. No key is written outside that db, and
  nothing is flushed but that db.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from dataclasses import dataclass

import asyncpg
import redis
from sqlalchemy.engine import make_url

CLAIM_PREFIX = "guatu-test-db"
MARKER = "guatu:test-run"  # in a claimed db: the data there is a test run's, safe to take over


def _asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _admin(url: str, statement: str) -> None:
    conn = await asyncpg.connect(_asyncpg_dsn(url))
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@dataclass
class OwnDatabase:
    """A PostgreSQL database created for this run on the server of `server_url`."""

    server_url: str
    name: str = ""

    def create(self) -> str:
        self.name = f"guatu_test_{os.getpid()}_{secrets.token_hex(4)}"
        asyncio.run(_admin(self.server_url, f'CREATE DATABASE "{self.name}"'))
        return make_url(self.server_url).set(database=self.name).render_as_string(hide_password=False)

    def drop(self) -> None:
        if self.name:
            asyncio.run(_admin(self.server_url, f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))


class RedisClaim:
    """One db number of a shared Redis, held for the run by a named connection."""

    def __init__(self, base_url: str, *, databases: range = range(1, 16)) -> None:
        self.base_url = base_url.rstrip("/")
        self.databases = databases
        self.db: int | None = None
        self._conn: redis.Redis | None = None

    def url(self, db: int) -> str:
        if self.base_url.startswith("unix://"):
            return f"{self.base_url}?db={db}"
        return f"{self.base_url}/{db}"

    def _holders(self, name: str) -> list[int]:
        assert self._conn is not None
        clients: list[dict[str, str]] = self._conn.client_list()  # type: ignore[assignment]
        return sorted(int(c["id"]) for c in clients if c.get("name") == name)

    def _free(self, db: int) -> bool:
        """Nothing in it, or only what an ended test run left there."""
        with redis.Redis.from_url(self.url(db)) as r:
            return r.dbsize() == 0 or bool(r.exists(MARKER))

    def acquire(self) -> int:
        self._conn = redis.Redis.from_url(self.base_url, single_connection_client=True)
        my_id = int(self._conn.client_id())  # type: ignore[arg-type]
        for db in self.databases:
            name = f"{CLAIM_PREFIX}{db}"
            if self._holders(name) or not self._free(db):
                continue
            self._conn.client_setname(name)
            if self._holders(name)[0] == my_id:  # two runs named it at once: the older connection wins
                self.db = db
                self.reset()
                return db
            self._conn.client_setname("")
        raise RuntimeError(
            f"no free Redis db number on {self.base_url} (all of {list(self.databases)} in use)"
        )

    def reset(self) -> None:
        """Empty the claimed db, leaving only the marker (one transaction: no moment without it)."""
        assert self.db is not None
        with redis.Redis.from_url(self.url(self.db)) as r:
            pipe = r.pipeline(transaction=True)
            pipe.flushdb()
            pipe.set(MARKER, str(os.getpid()))
            pipe.execute()

    def release(self) -> None:
        if self.db is not None:
            with redis.Redis.from_url(self.url(self.db)) as r:
                r.flushdb()
        if self._conn is not None:
            self._conn.close()
