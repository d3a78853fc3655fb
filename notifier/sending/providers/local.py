"""Providers that stay on this machine: console (prints) and file (appends JSON lines).

The file provider is durable, so an interrupted send can be reconciled against it exactly as
against a real provider's message list.
"""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from notifier.core.phones import mask_phone
from notifier.sending.providers.base import SendResult, SentMessage, TemplateUse


class FileProvider:
    name = "file"

    def __init__(self, path: Path) -> None:
        self.path = path
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = asyncio.Lock()

    async def send(
        self,
        *,
        to: str,
        body: str,
        status_callback: str | None = None,
        reference: str | None = None,
        template: TemplateUse | None = None,
    ) -> SendResult:
        record: dict[str, Any] = {"sid": f"FILE{uuid.uuid4().hex}", "to": to, "body": body,
                  "date_created": datetime.now(UTC).isoformat(), "reference": reference}  # fmt: skip
        line = json.dumps(record, ensure_ascii=False) + "\n"
        async with self._lock:
            await asyncio.to_thread(self._append, line)
        return SendResult(sid=record["sid"], status="sent", provider=self.name)

    def _append(self, line: str) -> None:
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(line)
            handle.flush()

    def messages(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        with self.path.open(encoding="utf-8") as handle:
            return [json.loads(line) for line in handle if line.strip()]

    async def find_sent(self, *, to: str, since: datetime) -> list[SentMessage]:
        found = []
        for m in await asyncio.to_thread(self.messages):
            created = datetime.fromisoformat(m["date_created"])
            if m["to"] == to and created >= since:
                found.append(SentMessage(sid=m["sid"], to=to, body=m["body"], status="sent", date_created=created,
                                         provider=self.name, reference=m.get("reference")))  # fmt: skip
        return found

    async def aclose(self) -> None:
        return None


class ConsoleProvider:
    """Prints each message (number masked); keeps what it printed for reconciliation in-process."""

    name = "console"

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream or sys.stdout
        self._sent: list[SentMessage] = []

    async def send(
        self,
        *,
        to: str,
        body: str,
        status_callback: str | None = None,
        reference: str | None = None,
        template: TemplateUse | None = None,
    ) -> SendResult:
        sid = f"CONSOLE{uuid.uuid4().hex}"
        print(f"[短信 SMS → {mask_phone(to)}] {body}", file=self._stream, flush=True)
        self._sent.append(SentMessage(sid=sid, to=to, body=body, status="sent", date_created=datetime.now(UTC),
                                      provider=self.name, reference=reference))  # fmt: skip
        return SendResult(sid=sid, status="sent", provider=self.name)

    async def find_sent(self, *, to: str, since: datetime) -> list[SentMessage]:
        return [m for m in self._sent if m.to == to and (m.date_created or since) >= since]

    async def aclose(self) -> None:
        return None
