"""A local fake of the Telegram Bot API, for tests: what aiogram's own HTTP session (AiohttpSession)
calls when TELEGRAM_API_BASE points here.

It serves `POST /bot{token}/{method}` with Telegram's response shapes — `{"ok": true, "result": ...}`,
or `{"ok": false, "error_code": ..., "description": ...}` — for getMe, sendMessage, sendPhoto,
editMessageText and answerCallbackQuery, reads the parameters as aiogram sends them (form fields,
JSON-encoded where they are objects), refuses a wrong token (401) and a chat in `blocked` (403, as
when a user has blocked the bot). Every accepted call is kept in `calls` as (method, parameters).
"""

from __future__ import annotations

import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from web.fakes import serve

BOT_USER = {"id": 42, "is_bot": True, "first_name": "Guatu", "username": "guatu_bot"}
SENDS = {"sendMessage", "sendPhoto", "editMessageText"}


@dataclass
class FakeTelegram:
    token: str = "42:TEST"
    blocked: set[int] = field(default_factory=set)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    host: str = "127.0.0.1"
    port: int = 0
    _runner: web.AppRunner | None = None
    _ids: Any = field(default_factory=lambda: itertools.count(1000))

    @property
    def base_url(self) -> str:
        """What TELEGRAM_API_BASE should say."""
        return f"http://{self.host}:{self.port}"

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> FakeTelegram:
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._call)
        self._runner, self.port = await serve(app, host, port)
        self.host = host
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def sent(self, method: str = "sendMessage") -> list[dict[str, Any]]:
        return [params for name, params in self.calls if name == method]

    @staticmethod
    def _error(status: int, description: str) -> web.Response:
        return web.json_response(
            {"ok": False, "error_code": status, "description": description}, status=status
        )

    async def _call(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return self._error(401, "Unauthorized")
        method = request.match_info["method"]
        form = await request.post()
        params: dict[str, Any] = {}
        for key, value in form.items():
            if not isinstance(value, str):  # an uploaded file (sendPhoto)
                params[key] = getattr(value, "filename", None)
                continue
            try:
                params[key] = json.loads(value) if value[:1] in "{[" else value
            except ValueError:
                params[key] = value
        chat_id = int(params["chat_id"]) if str(params.get("chat_id", "")).lstrip("-").isdigit() else None
        if chat_id is not None and chat_id in self.blocked:
            return self._error(403, "Forbidden: bot was blocked by the user")
        if method == "getMe":
            return web.json_response({"ok": True, "result": BOT_USER})
        if method in SENDS:
            if chat_id is None:
                return self._error(400, "Bad Request: chat not found")
            self.calls.append((method, params))
            message = {"message_id": next(self._ids), "date": int(time.time()), "from": BOT_USER,
                       "chat": {"id": chat_id, "type": "private"}}  # fmt: skip
            if "text" in params:
                message["text"] = params["text"]
            if "caption" in params:
                message["caption"] = params["caption"]
            return web.json_response({"ok": True, "result": message})
        if method == "answerCallbackQuery":
            self.calls.append((method, params))
            return web.json_response({"ok": True, "result": True})
        return self._error(404, "Not Found")
