"""The real app for the hostile suite: `guatu web` (uvicorn) in its own process on a loopback port, on
the run's PostgreSQL database and Redis db. Its memory and bytes written are read from outside
(psutil), its log from the file it writes to.

One server serves the whole run (`live`); `serve(...)` starts another with settings of its own (Redis
down, an https public URL). Each test still gets an empty database and Redis db from the usual
fixtures (`session`, `redis`), which the server's next request sees.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Person, Role
from web.security import hash_password

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery"
ADMIN = "管理员"
TWILIO_TOKEN = "security-suite-twilio-token"
SECRET_KEY = "security-suite-secret-key"
RUN = "import sys; from notifier.cli import main; sys.argv[0] = 'guatu'; main()"
_HASH: list[str] = []

pytestmark = pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"), reason="needs TEST_DATABASE_URL")


@pytest.fixture(params=["postgresql"])
def db_url(request: pytest.FixtureRequest) -> str:
    """The hostile suite runs on PostgreSQL only (NUL bytes and integer ranges are its concerns)."""
    if not os.environ.get("TEST_DATABASE_URL"):
        pytest.skip("needs TEST_DATABASE_URL")
    return os.environ["TEST_DATABASE_URL"]


def password_hash() -> str:
    """One argon2 hash of PASSWORD for every admin a test makes (each hash takes most of a second)."""
    if not _HASH:
        _HASH.append(hash_password(PASSWORD))
    return _HASH[0]


async def make_admin(session: AsyncSession, name: str = ADMIN, phone: str = "+8613900000001") -> Person:
    person = Person(name=name, phone=phone, role=Role.ADMIN, password_hash=password_hash())
    session.add(person)
    await session.commit()
    return person


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Live:
    """A running `guatu web`."""

    url: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path
    tmp: Path

    def rss(self) -> int:
        return int(psutil.Process(self.process.pid).memory_info().rss)

    def written(self) -> int:
        """Bytes the server process has passed to write() so far (files and sockets alike)."""
        return int(psutil.Process(self.process.pid).io_counters().write_chars)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def upload_files(self) -> list[Path]:
        """Files in the server's upload directories (its TMPDIR is the test's)."""
        return [p for d in self.tmp.glob("guatu-uploads-*") for p in d.iterdir()]

    def client(self, **options: object) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, timeout=60, **options)  # type: ignore[arg-type]


@contextmanager
def serve(tmp: Path, *, redis_url: str | None, **settings: str) -> Iterator[Live]:
    """`guatu web` on a free port with DATABASE_URL = the run's database and `settings` (env names)."""
    port = _free_port()
    tmp.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TELEGRAM_", "TWILIO_", "ALIYUN_", "SMS_", "IMPORT_", "PUBLIC_", "REDIS_URL"))}  # fmt: skip
    env.update({"DATABASE_URL": os.environ["TEST_DATABASE_URL"], "SECRET_KEY": SECRET_KEY,
                "TWILIO_ACCOUNT_SID": "AC" + "f" * 32, "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
                "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}", "SMS_BACKEND": "console", "QUIET_HOURS": "",
                "TMPDIR": str(tmp), "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"})  # fmt: skip
    if redis_url:
        env["REDIS_URL"] = redis_url
    env.update(settings)
    log = tmp / f"web-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, "-c", RUN, "web", "--host", "127.0.0.1", "--port", str(port)],
                                   cwd=tmp, env=env, stdout=out, stderr=subprocess.STDOUT)  # fmt: skip
    live = Live(url=f"http://127.0.0.1:{port}", port=port, process=process, log=log, tmp=tmp)
    try:
        deadline = time.monotonic() + 90
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"guatu web exited:\n{live.log_text()[-3000:]}")
            try:
                httpx.get(f"{live.url}/healthz", timeout=5)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"guatu web did not start:\n{live.log_text()[-3000:]}") from None
                time.sleep(0.2)
        yield live
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[Live]:
    with serve(
        tmp_path_factory.mktemp("live"), redis_url=redis_url, IMPORT_MAX_BYTES=str(2 * 1024 * 1024)
    ) as live:
        yield live


@pytest.fixture
def live(live_server: Live, session: AsyncSession, redis: object) -> Live:
    """The shared server, with this test's empty database and Redis db."""
    return live_server


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, "page carries no CSRF token"
    return match.group(1)


async def login(client: httpx.AsyncClient, *, name: str = ADMIN, password: str = PASSWORD) -> httpx.Response:
    page = await client.get("/admin/login")
    return await client.post(
        "/admin/login", data={"name": name, "password": password, "csrf": csrf_of(page.text)}
    )
