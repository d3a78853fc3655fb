"""Telegram webhook: checks X-Telegram-Bot-Api-Secret-Token and feeds the update to the bot's Dispatcher."""

from __future__ import annotations

import hmac
import json
import logging
from typing import Any

from aiogram.types import Update
from fastapi import APIRouter, HTTPException, Request
from pydantic import ValidationError

from notifier.core.settings import Settings

log = logging.getLogger("guatu.web.telegram")
# An update is a few KB; a long message with its entities and a quoted reply stays far below this.
router = APIRouter(prefix="/webhooks/telegram", tags=["telegram"], max_body_size=256 * 1024)


async def _bot_and_dispatcher(request: Request, settings: Settings) -> tuple[Any, Any]:
    """Built once per app (long-lived Bot session, FSM storage and send queue); tests may put their own in
    app.state."""
    state = request.app.state
    if getattr(state, "telegram", None) is None:
        from aiogram.fsm.storage.memory import MemoryStorage
        from arq.connections import RedisSettings, create_pool

        from bot.app import build_bot, build_dispatcher, redis_storage

        storage = redis_storage(settings) if settings.redis_url else MemoryStorage()
        arq = await create_pool(RedisSettings.from_dsn(settings.redis_url)) if settings.redis_url else None
        state.telegram = (build_bot(settings), build_dispatcher(settings=settings, sessionmaker=state.sessionmaker,
                                                                 storage=storage, arq=arq))  # fmt: skip
    bot, dp = state.telegram
    return bot, dp


@router.post("")
async def telegram_update(request: Request) -> dict[str, bool]:
    """One update from Telegram; 403 unless the secret header matches TELEGRAM_WEBHOOK_SECRET."""
    settings: Settings = request.app.state.settings
    secret = settings.telegram_webhook_secret.get_secret_value() if settings.telegram_webhook_secret else ""
    given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
    if not secret or not hmac.compare_digest(given.encode(), secret.encode()):
        log.warning("telegram webhook refused: secret token missing or wrong")
        raise HTTPException(status_code=403, detail="forbidden")
    if getattr(request.app.state, "telegram", None) is None and settings.telegram_bot_token is None:
        raise HTTPException(status_code=503, detail="TELEGRAM_BOT_TOKEN is not set")
    bot, dp = await _bot_and_dispatcher(request, settings)
    try:
        update = Update.model_validate(json.loads(await request.body()), context={"bot": bot})
    except (ValueError, ValidationError) as exc:  # not JSON, or not an Update: nothing is fed
        log.warning("telegram webhook: malformed update refused (%s)", type(exc).__name__)
        raise HTTPException(status_code=400, detail="malformed update") from None
    try:
        await dp.feed_update(bot, update)
    except Exception:
        # Answering an error would make Telegram deliver the same update again and again.
        log.exception("telegram update %s failed in its handler", update.update_id)
    return {"ok": True}
