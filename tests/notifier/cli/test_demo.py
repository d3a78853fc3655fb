"""`guatu demo` run at night: quiet hours would hold every SMS until morning, so the demo (whose SMS
only reach a local file) says so and sends them anyway instead of waiting forever."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[3]
RUN = "import sys; from notifier.cli import main; sys.argv = ['guatu', 'demo', '--dir', sys.argv[1]]; main()"


def test_demo_inside_quiet_hours_finishes_and_says_why(tmp_path: Path, redis_url: str) -> None:
    now = datetime.now(ZoneInfo("Asia/Shanghai"))
    window = f"{now - timedelta(hours=1):%H:%M}-{now + timedelta(hours=1):%H:%M}"  # holds now
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "TWILIO_", "SMS_"))}
    env.update(
        {"REDIS_URL": redis_url, "QUIET_HOURS": window, "TIMEZONE": "Asia/Shanghai", "GUATU_LANGUAGE": "zh"}
    )
    proc = subprocess.run([sys.executable, "-c", RUN, str(tmp_path / "demo")],
                          env=env, cwd=ROOT, capture_output=True, text=True, timeout=240)  # fmt: skip
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    assert "夜间免打扰时段" in proc.stdout and window in proc.stdout
    outbox = [json.loads(line) for line in (tmp_path / "demo" / "sms-outbox.jsonl").read_text().splitlines()]
    assert "内置 Redis" in proc.stdout and redis_url not in proc.stdout  # never the shared Redis
    assert len(outbox) == len({m["to"] for m in outbox}) > 0


def test_demo_writes_the_chart_and_the_workbook_and_names_them(tmp_path: Path, redis_url: str) -> None:
    from openpyxl import load_workbook

    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "TWILIO_", "SMS_"))}
    env.update({"REDIS_URL": redis_url, "QUIET_HOURS": "", "GUATU_LANGUAGE": "en", "COLUMNS": "200"})
    proc = subprocess.run([sys.executable, "-c", RUN, str(tmp_path / "demo")],
                          env=env, cwd=ROOT, capture_output=True, text=True, timeout=240)  # fmt: skip
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    chart = tmp_path / "demo" / "ranking-chart.png"
    [workbook] = (tmp_path / "demo").glob("monthly-report-*.xlsx")
    assert f"Unit ranking chart (PNG): {chart}" in proc.stdout
    assert f"Monthly report workbook (Excel): {workbook}" in proc.stdout
    assert chart.read_bytes().startswith(b"\x89PNG\r\n\x1a\n") and chart.stat().st_size > 5000
    sheet = load_workbook(workbook).active
    assert sheet is not None and sheet.max_row > 100  # a row per sample project (100) and headings
