"""Sessions end on the server (issue item 6): a cookie copied before signing out, before a password
reset or before `guatu admin revoke` opens nothing afterwards."""

from __future__ import annotations

import asyncio
import os
import sys

import httpx
from sqlmodel import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import AdminSession
from tests.security.conftest import ADMIN, ROOT, Live, csrf_of, login, make_admin


async def _guatu(*args: str, stdin: str = "") -> str:
    """The real command line, in its own process, on the run's database."""
    env = {**os.environ, "DATABASE_URL": os.environ["TEST_DATABASE_URL"]}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "from notifier.cli import main; main()", *args, cwd=ROOT, env=env,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output, _ = await process.communicate(stdin.encode())
    assert process.returncode == 0, output.decode()
    return output.decode()


async def _signed_in(live: Live) -> tuple[httpx.AsyncClient, httpx.AsyncClient]:
    """A signed-in browser, and a second client holding a copy of its cookie."""
    browser = live.client()
    assert (await login(browser)).status_code == 303
    thief = live.client(cookies={"guatu_session": browser.cookies["guatu_session"]})
    assert (await thief.get("/admin")).status_code == 200
    return browser, thief


async def _refused(client: httpx.AsyncClient) -> bool:
    answer = await client.get("/admin")
    return answer.status_code == 303 and answer.headers["location"].startswith("/admin/login")


async def test_a_copied_cookie_is_dead_after_sign_out(live: Live, session: AsyncSession) -> None:
    await make_admin(session)
    browser, thief = await _signed_in(live)
    csrf = csrf_of((await browser.get("/admin")).text)
    assert (await browser.post("/admin/logout", data={"csrf": csrf})).status_code == 303
    assert await _refused(thief)
    await browser.aclose()
    await thief.aclose()


async def test_a_password_reset_ends_every_session(live: Live, session: AsyncSession) -> None:
    await make_admin(session)
    browser, thief = await _signed_in(live)
    output = await _guatu(
        "admin", "create", ADMIN, "13900000001", "--password-stdin", stdin="a new long password\n"
    )
    assert "1 session(s) ended" in output
    assert await _refused(thief) and await _refused(browser)
    assert (await login(browser, password="a new long password")).status_code == 303
    await browser.aclose()
    await thief.aclose()


async def test_admin_revoke_ends_every_session(live: Live, session: AsyncSession) -> None:
    await make_admin(session)
    first, thief = await _signed_in(live)
    second, _ = await _signed_in(live)
    assert (await session.exec(select(func.count()).select_from(AdminSession))).one() == 2
    output = await _guatu("admin", "revoke", ADMIN)
    assert "2 session(s) ended" in output
    assert await _refused(thief) and await _refused(first) and await _refused(second)
    for client in (first, second, thief):
        await client.aclose()


async def test_only_a_hash_of_the_token_is_stored(live: Live, session: AsyncSession) -> None:
    await make_admin(session)
    browser, thief = await _signed_in(live)
    [stored] = (await session.exec(select(AdminSession))).all()
    assert browser.cookies["guatu_session"] not in stored.token_hash and len(stored.token_hash) == 64
    await browser.aclose()
    await thief.aclose()
