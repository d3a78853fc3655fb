"""Signing in cannot be raced, out-guessed or used to stall the server (issue items 2 and 3).

Tries are counted per name and per address before a password is checked, atomically (one Redis
script, or one upsert per counter in the database while Redis is down); an unknown name costs as
long as a wrong password; hashing runs off the event loop, two at a time.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
import redis.asyncio as aioredis
from sqlalchemy import func
from sqlmodel import select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Person, Role, WindowCounter, utcnow
from models.db import SessionMaker
from notifier.core.settings import Settings
from notifier.importing.importer import ImportKind, import_file
from tests.security.conftest import ADMIN, PASSWORD, Live, csrf_of, login, make_admin, password_hash, serve
from web.throttle import MAX_NAME_FAILURES, Counters, LoginGate


async def _form(client: httpx.AsyncClient) -> str:
    return csrf_of((await client.get("/admin/login")).text)


async def test_parallel_guesses_are_refused_before_being_checked(live: Live, session: AsyncSession) -> None:
    await make_admin(session)
    async with live.client() as client:
        csrf = await _form(client)

        async def attempt(password: str, delay: float = 0.0) -> int:
            await asyncio.sleep(delay)
            data = {"name": ADMIN, "password": password, "csrf": csrf}
            return (await client.post("/admin/login", data=data)).status_code

        # 19 wrong guesses at once, then the right password while they are being checked.
        answers = await asyncio.gather(
            *(attempt(f"guess {i}") for i in range(19)), attempt(PASSWORD, delay=0.3)
        )
        checked = [a for a in answers[:19] if a != 429]
        print(f"\n19 parallel wrong guesses + the right password: {sorted(answers)}")
        assert len(checked) <= MAX_NAME_FAILURES and set(checked) <= {401}
        assert answers[19] == 429  # the right password, too late: this name is locked
        assert "guatu_session" not in client.cookies
        assert await attempt(PASSWORD) == 429


async def test_an_unknown_name_takes_as_long_as_a_wrong_password(live: Live, session: AsyncSession) -> None:
    await make_admin(session)
    async with live.client() as client:
        csrf = await _form(client)

        async def timed(name: str) -> float:
            started = time.perf_counter()
            response = await client.post(
                "/admin/login", data={"name": name, "password": "wrong", "csrf": csrf}
            )
            assert response.status_code == 401
            return time.perf_counter() - started

        known, unknown = [], []
        for i in range(4):  # below the lockout of one name
            known.append(await timed(ADMIN))
            unknown.append(await timed(f"无此人{i}"))
    ratio = statistics.median(unknown) / statistics.median(known)
    print(f"\nwrong password {statistics.median(known) * 1000:.0f} ms, unknown name "
          f"{statistics.median(unknown) * 1000:.0f} ms (ratio {ratio:.2f})")  # fmt: skip
    assert 0.6 < ratio < 1.6


async def test_healthz_answers_within_a_second_during_twenty_logins(
    live: Live, session: AsyncSession
) -> None:
    names = [f"管理员{i:02d}" for i in range(20)]
    session.add_all(Person(name=name, phone=f"+86139000001{i:02d}", role=Role.ADMIN, password_hash=password_hash())
                    for i, name in enumerate(names))  # fmt: skip
    await session.commit()
    clients = [live.client() for _ in names]
    forms = [await _form(c) for c in clients]
    probe = live.client()
    await probe.get("/healthz")  # its connection is open before the logins start
    logins = [
        asyncio.create_task(c.post("/admin/login", data={"name": name, "password": PASSWORD, "csrf": csrf}))
        for c, name, csrf in zip(clients, names, forms, strict=True)
    ]
    waits: list[float] = []
    while not all(task.done() for task in logins):
        started = time.perf_counter()
        await probe.get("/healthz")
        waits.append(time.perf_counter() - started)
        await asyncio.sleep(0.05)
    answers = [task.result().status_code for task in logins]
    for c in [*clients, probe]:
        await c.aclose()
    print(f"\n/healthz during 20 logins: {len(waits)} probes, max {max(waits) * 1000:.0f} ms, "
          f"median {statistics.median(waits) * 1000:.0f} ms; logins {sorted(set(answers))}")  # fmt: skip
    assert answers == [303] * 20
    assert len(waits) >= 5 and max(waits) < 1.0


async def test_the_lockout_is_kept_in_the_database_while_redis_is_down(
    session: AsyncSession, tmp_path: Path, redis: object
) -> None:
    await make_admin(session)
    # Nothing listens on port 1: every Redis call fails at once.
    with serve(tmp_path / "no-redis", redis_url="redis://127.0.0.1:1/0") as down:
        async with down.client() as client:
            for _ in range(MAX_NAME_FAILURES):
                assert (await login(client, password="wrong")).status_code == 401
            assert (await login(client)).status_code == 429
            counters = (await session.exec(select(WindowCounter))).all()
            assert max(c.hits for c in counters) == MAX_NAME_FAILURES + 1
            # The window ends (as if 15 minutes passed): the name may try again, and is locked again.
            await session.exec(update(WindowCounter).values(expires_at=utcnow() - timedelta(seconds=1)))  # type: ignore[call-overload]
            await session.commit()
            assert (await login(client)).status_code == 303
            for _ in range(MAX_NAME_FAILURES):
                assert (await login(client, password="wrong")).status_code == 401
            assert (await login(client)).status_code == 429
        assert "Redis does not answer" in down.log_text()


async def test_two_admins_cannot_share_a_name(session: AsyncSession) -> None:
    await make_admin(session)
    session.add(Person(name=ADMIN, phone="+8613900000002", role=Role.ADMIN))
    with pytest.raises(Exception, match="uq_person_admin_name"):
        await session.commit()
    await session.rollback()
    # Other people may share it (names repeat), and so may a lead and an admin.
    session.add_all([Person(name=ADMIN, phone="+8613900000003", role=Role.LEAD),
                     Person(name=ADMIN, phone="+8613900000004", role=Role.LEAD)])  # fmt: skip
    await session.commit()
    count = (await session.exec(select(func.count()).where(Person.name == ADMIN))).one()  # type: ignore[call-overload]
    assert count == 3


async def test_an_import_cannot_give_two_admins_one_name(
    session: AsyncSession, settings: Settings, tmp_path: Path
) -> None:
    await make_admin(session)  # 管理员, +8613900000001
    rows = ["name,phone,role", f"{ADMIN},13900000001,admin", f"{ADMIN},13900000002,管理员", "王五,13900000003,admin",
            "王五,13900000004,admin", f"{ADMIN},13900000005,lead"]  # fmt: skip
    path = tmp_path / "people.csv"
    path.write_text("\n".join(rows) + "\n")
    result = await import_file(session, settings=settings, kind=ImportKind.PEOPLE, path=path)
    assert [(e.line, e.reason) for e in result.errors] == [
        (3, f"已有名为“{ADMIN}”的管理员:管理员凭姓名登录,姓名不能重复"),
        (5, "已有名为“王五”的管理员:管理员凭姓名登录,姓名不能重复"),
    ]
    assert (await session.exec(select(func.count()).select_from(Person))).one() == 1  # nothing written


async def test_the_csrf_token_changes_at_sign_in(live: Live, session: AsyncSession) -> None:
    await make_admin(session)
    async with live.client() as client:
        before = await _form(client)
        answer = await client.post("/admin/login", data={"name": ADMIN, "password": PASSWORD, "csrf": before})
        assert answer.status_code == 303
        after = client.cookies.get("guatu_csrf")
        assert after and after != before
        assert csrf_of((await client.get("/admin/broadcast")).text) == after
        # A token known before signing in (planted, or read over a shoulder) is worth nothing now.
        stale = await client.post("/admin/logout", data={"csrf": before})
        assert stale.status_code == 403


async def test_a_refused_form_never_echoes_the_password(live: Live, session: AsyncSession) -> None:
    await make_admin(session)
    secret = "s3cret-" + "x" * 300  # over the field's 256 characters
    async with live.client() as client:
        answer = await client.post(
            "/admin/login", data={"name": ADMIN, "password": secret, "csrf": await _form(client)}
        )
    assert 400 <= answer.status_code < 500
    assert "s3cret" not in answer.text and "password" in answer.text


@pytest.mark.parametrize("backend", ["redis", "database"])
async def test_concurrent_tries_are_each_counted_once(
    backend: str, sessionmaker: SessionMaker, redis: aioredis.Redis
) -> None:
    counters = Counters(
        SimpleNamespace(redis=redis if backend == "redis" else None, sessionmaker=sessionmaker)
    )
    gate = LoginGate(counters)
    admitted = await asyncio.gather(*(gate.admit(name=ADMIN, address="203.0.113.9") for _ in range(20)))
    assert sum(admitted) == MAX_NAME_FAILURES
    name_key, address_key = gate.keys(name=ADMIN, address="203.0.113.9")
    assert await counters.move({name_key: 1, address_key: 1}, window=60) == {name_key: 21, address_key: 21}
    # A right password: the name starts afresh, the address only gets that one try back.
    await gate.passed(name=ADMIN, address="203.0.113.9")
    assert await counters.move({name_key: 1, address_key: 1}, window=60) == {name_key: 1, address_key: 21}
