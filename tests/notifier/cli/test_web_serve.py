"""`guatu serve` on one machine: web and a worker come up together and answer /healthz."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from threading import Thread

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[3]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _BotApi(BaseHTTPRequestHandler):
    """Just enough of Telegram's Bot API for long polling: getMe, then empty getUpdates."""

    calls: list[str] = []

    def do_POST(self) -> None:
        method = self.path.rsplit("/", 1)[-1]
        self.calls.append(method)
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if method == "getUpdates":
            time.sleep(0.2)
        result = (
            '{"id": 1, "is_bot": true, "first_name": "Guatu", "username": "guatu_bot"}'
            if method == "getMe"
            else "[]"
        )
        body = ('{"ok": true, "result": ' + result + "}").encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except BrokenPipeError:  # the poller was cancelled at shutdown
            pass

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def bot_api() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _BotApi)
    Thread(target=server.serve_forever, daemon=True).start()
    _BotApi.calls = []
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.mark.parametrize("with_bot", [False, True])
def test_serve_answers_healthz(tmp_path: Path, redis_url: str, bot_api: str, with_bot: bool) -> None:
    env = {**os.environ, "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'g.db'}", "REDIS_URL": redis_url,
           "SECRET_KEY": "serve-test-secret"}  # fmt: skip
    env.pop("TELEGRAM_BOT_TOKEN", None)
    if with_bot:
        env.update(TELEGRAM_BOT_TOKEN="123456:serve-test", TELEGRAM_API_BASE=bot_api)
    guatu = [sys.executable, "-c", "from notifier.cli import main; main()"]
    subprocess.run([*guatu, "db", "upgrade"], env=env, cwd=ROOT, check=True, capture_output=True)
    port = _free_port()
    proc = subprocess.Popen([*guatu, "serve", "--port", str(port)], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fmt: skip
    try:
        status = None
        for _ in range(100):
            try:
                status = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        assert status == 200
        if with_bot:
            for _ in range(100):
                if "getUpdates" in _BotApi.calls:
                    break
                time.sleep(0.1)
    finally:
        proc.send_signal(signal.SIGINT)
        output = proc.communicate(timeout=20)[0]
    # uvicorn re-raises the Ctrl-C after its graceful shutdown; `main` turns that into 130.
    assert proc.returncode in (0, 130) and "Traceback" not in output, output
    if with_bot:
        assert "getUpdates" in _BotApi.calls, output
    else:
        assert "未设置 TELEGRAM_BOT_TOKEN,不启动机器人" in output
