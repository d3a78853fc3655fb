"""The per-update middleware: a database session, the current Person (cached) and their language, and
writing a conversation back to Redis when the update is done."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, User
from sqlalchemy import bindparam
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import make_transient_to_detached
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.storage import ConversationStorage
from models import Person
from models.db import AUTOCOMMIT, DriverStatement, driver_connection, may_autocommit

# Updates handled at once. It spans the whole update, Bot API round trips included (0.1–0.5 s each
# against Telegram): at 100 it still allows some 500 updates a second with 100 ms per round trip
# (`guatu bench bot --telegram-latency-ms 100`), and it keeps a flood of updates from piling up in
# memory and queueing by the hundred on the database pool.
MAX_UPDATES_IN_FLIGHT = 100

# Built once: every update looks its sender up (on PostgreSQL from the driver pool: DriverStatement).
PERSON_BY_TELEGRAM_ID = DriverStatement(
    select(*Person.__table__.columns).where(col(Person.telegram_id) == bindparam("telegram_id"))  # type: ignore[attr-defined]
)

# How long a looked-up sender is kept (see PersonCache).
PERSON_CACHE_SECONDS = 60.0


class PersonCache:
    """Bound people by Telegram id, each kept for `ttl` seconds after it was looked up.

    A lead's report is five updates in a minute or two, and a burst of leads answering the weekly
    prompt would otherwise cost one database round trip per update just to learn who is writing.
    Only bound accounts are kept (an unbound one is looked up every time, so a new binding shows at
    once); what the bot itself changes (binding, /language) drops the entry; changes made in the web
    console or the CLI reach the bot within `ttl`. Nothing is granted on a kept entry alone: admin,
    leader and approver rights and the confirmation of a report are checked against the database
    (`confirm_person`). The Person objects are detached snapshots, shared by updates: read only.
    """

    def __init__(self, ttl: float = PERSON_CACHE_SECONDS, size: int = 50_000) -> None:
        self.ttl, self.size = ttl, size
        self._entries: dict[int, tuple[float, Person]] = {}

    def get(self, telegram_id: int) -> Person | None:
        entry = self._entries.get(telegram_id)
        if entry is None:
            return None
        if entry[0] < time.monotonic():
            del self._entries[telegram_id]
            return None
        return entry[1]

    def put(self, telegram_id: int, person: Person) -> None:
        now = time.monotonic()
        if len(self._entries) >= self.size:
            self._entries = {k: v for k, v in self._entries.items() if v[0] >= now}
            if len(self._entries) >= self.size:
                self._entries.clear()
        self._entries[telegram_id] = (now + self.ttl, person)

    def drop(self, telegram_id: int) -> None:
        self._entries.pop(telegram_id, None)


async def confirm_person(session: AsyncSession, person: Person) -> Person | None:
    """`person` as the database holds it now, or None when their Telegram account is no longer theirs.

    For anything that grants a right or stores something in their name: the `person` an update
    carries may come from PersonCache and be up to a minute old."""
    fresh = await session.get(Person, person.id, populate_existing=True)
    return fresh if fresh is not None and fresh.telegram_id == person.telegram_id else None


async def reads(session: AsyncSession) -> AsyncConnection:
    """The connection for a step's reads, taken from the pool for them. On PostgreSQL it runs in
    autocommit (each statement reads what is committed when it starts, as in the default READ
    COMMITTED): a step that only reads then costs its statements' round trips, without a BEGIN and a
    COMMIT around them. A session already in a transaction keeps it (so does one with changes not
    yet written: SQLAlchemy begins a transaction as soon as an object is added or changed). Call
    `release_connection` when the reads are done; anything that writes goes through a transaction
    of its own."""
    if may_autocommit(session):
        return await session.connection(execution_options=AUTOCOMMIT)
    return await session.connection()


async def release_connection(session: AsyncSession) -> None:
    """End the session's transaction (the reads done so far; it writes nothing of its own) so that its
    connection goes back to the pool before the bot talks to Telegram. Loaded objects stay readable,
    and the next statement takes a connection again."""
    if session.in_transaction():
        await session.commit()


async def _look_up(session: AsyncSession, telegram_id: int) -> Person | None:
    """The person bound to `telegram_id`, built from its row and detached as if loaded and expunged (a
    snapshot: no handler's rollback expires it)."""
    async with driver_connection(session) as driver:
        connection = driver if driver is not None else await reads(session)
        row = await PERSON_BY_TELEGRAM_ID.first(connection, {"telegram_id": telegram_id})
    await release_connection(session)
    if row is None:
        return None
    person = Person(**row._asdict())
    make_transient_to_detached(person)
    return person


async def _close(session: AsyncSession) -> None:
    """Close an update's session. Only a session in a transaction holds anything (its connection),
    and it gets a close that outlives a cancelled update (what `async with session` does for every
    one, at the cost of a task per update). Any other (most updates, a tapped stage or a typed answer,
    never touched the database) holds at most loaded objects, let go with the session itself."""
    if session.in_transaction():
        await session.__aexit__(None, None, None)


class UpdateMiddleware(BaseMiddleware):
    """Around every update, in one layer (each middleware layer costs every update a wrapper and a
    coroutine of its own):

    - counts it in Redis for /metrics (through the dispatcher's `arq` connection, when present);
    - lets at most `limit` updates run at once;
    - opens its database session (`session`, from the `sessionmaker` in the dispatcher's workflow
      data). A session takes a pooled connection only from its first statement until it commits or
      rolls back, and the bot's engine has no overflow (`BOT_ENGINE_OPTIONS`), so the pool's 10
      connections are shared by the updates in flight; on PostgreSQL the sender's lookup, the start
      of a report and its storing run on the driver pool's 10 instead (`driver_connection`), each
      for its statements only. Handlers end their database work before they talk to Telegram
      (`release_connection`): a connection held across a Bot API round trip would make the other
      updates wait for it;
    - injects `person` (None when the Telegram account is not bound), `lang` and `people` (the cache);
    - when it is done, also when it failed, writes back to Redis what the handler changed in the
      conversation (ConversationStorage; nothing to do on other storages).
    """

    def __init__(self, people: PersonCache | None = None, limit: int = MAX_UPDATES_IN_FLIGHT) -> None:
        self.people = people or PersonCache()
        self._slots = asyncio.Semaphore(limit)

    async def __call__(
        self, handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]], event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:  # fmt: skip
        try:
            redis = data.get("arq")
            if redis is not None:
                from notifier.core.metrics import count_bot_update

                await count_bot_update(redis)
            async with self._slots:
                session: AsyncSession = data["sessionmaker"]()
                data["session"] = session
                try:
                    await self._sender(session, data)
                    return await handler(event, data)
                finally:
                    await _close(session)
        finally:
            storage = data.get("fsm_storage")
            if isinstance(storage, ConversationStorage):
                await storage.flush()

    async def _sender(self, session: AsyncSession, data: dict[str, Any]) -> None:
        user: User | None = data.get("event_from_user")
        person = None
        if user is not None:
            person = self.people.get(user.id)
            if person is None:
                person = await _look_up(session, user.id)
                if person is not None:
                    self.people.put(user.id, person)
        data["person"] = person
        data["people"] = self.people
        data["lang"] = (
            person.language
            if person is not None
            else ("en" if (user and user.language_code or "").startswith("en") else "zh")
        )
