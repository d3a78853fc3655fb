"""Secrets never reach the logs: a whole `guatu demo` run with every secret set to a distinctive
value, every logger at DEBUG, stdout and stderr captured and any log file it writes read — none of
the values may appear."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from threading import Thread

import pytest

ROOT = Path(__file__).resolve().parents[2]
SECRETS = {
    "TELEGRAM_BOT_TOKEN": "123456:BOT-TOKEN-a1b2c3d4e5f6",
    "TELEGRAM_WEBHOOK_SECRET": "webhook-secret-7f8e9d",
    "TWILIO_AUTH_TOKEN": "twilio-auth-token-5c4b3a",
    "ALIYUN_ACCESS_KEY_SECRET": "aliyun-key-secret-9z8y7x",
    "SECRET_KEY": "session-secret-key-0q9w8e",
}
RUN = """
import logging, sys
logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)
from notifier.cli import main
sys.argv = ["guatu", "demo", "--dir", sys.argv[1]]
main()
"""


class _BotApi(BaseHTTPRequestHandler):
    """Telegram's Bot API as far as the demo's worker needs it: every method succeeds."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        method = self.path.rsplit("/", 1)[-1]
        message = {"message_id": 1, "date": 1764000000, "chat": {"id": 1, "type": "private"}, "text": "ok"}
        result = {"id": 1, "is_bot": True, "first_name": "Guatu", "username": "guatu_bot"} if method == "getMe" else (
            message if method.startswith("send") else True)  # fmt: skip
        body = json.dumps({"ok": True, "result": result}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def bot_api() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _BotApi)
    Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_a_whole_demo_run_logs_no_secret(tmp_path: Path, redis_url: str, bot_api: str) -> None:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "TWILIO_", "ALIYUN_", "SMS_"))
    }
    env.update(SECRETS)
    env.update({"REDIS_URL": redis_url, "TELEGRAM_API_BASE": bot_api, "TWILIO_ACCOUNT_SID": "AC" + "f" * 32,
                "ALIYUN_ACCESS_KEY_ID": "LTAI5tFakeAccessKey", "PYTHONUNBUFFERED": "1"})  # fmt: skip
    proc = subprocess.run([sys.executable, "-c", RUN, str(tmp_path / "demo")], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-3000:]
    assert "DEBUG" in proc.stderr and len(output) > 10_000  # the logs really were captured
    texts = [output] + [p.read_text(errors="replace") for p in tmp_path.rglob("*.log")]
    for name, value in SECRETS.items():
        for text in texts:
            assert value not in text, f"{name} appears in the logs"
            assert value.split(":")[-1] not in text, f"part of {name} appears in the logs"
