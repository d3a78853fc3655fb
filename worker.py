"""arq worker: `guatu worker` (or `arq worker.WorkerSettings` with REDIS_URL set).

Jobs live in `notifier.jobs.*` and get every client from `ctx`; this module only wires them up.
"""

from __future__ import annotations

import logging
from typing import Any

from arq.connections import RedisSettings
from arq.cron import CronJob

from models.db import create_engine, create_sessionmaker
from notifier.core.settings import Settings, load_settings
from notifier.sending.loop import Sender
from notifier.sending.providers import build_provider
from notifier.sending.ratelimit import RateLimiter


def job_functions() -> list[Any]:
    """Every job function the worker runs."""
    from notifier.jobs import alerts, bot, bulletins, sms

    functions: list[Any] = [*sms.FUNCTIONS, *bulletins.FUNCTIONS, *alerts.FUNCTIONS, *bot.FUNCTIONS]
    return functions


def cron_jobs(settings: Settings) -> list[CronJob]:
    """The dispatch calendar as arq cron jobs, in the office time zone."""
    from notifier.jobs import bulletins, calendar, sms

    jobs: list[CronJob] = [*sms.CRON_JOBS, *bulletins.cron_jobs(settings), *calendar.cron_jobs(settings)]
    return jobs


async def startup(ctx: dict[str, Any]) -> None:
    settings: Settings = ctx.get("settings") or load_settings()
    ctx["settings"] = settings
    ctx["engine"] = create_engine(settings.database_url)
    ctx["sessionmaker"] = create_sessionmaker(ctx["engine"])
    provider = build_provider(settings, redis=ctx["redis"])
    ctx["sender"] = Sender(sessionmaker=ctx["sessionmaker"], provider=provider, settings=settings,
                           limiter=RateLimiter(ctx["redis"], rate_per_sec=settings.sms_rate_per_sec))  # fmt: skip
    ctx["chat"] = build_chat_sender(settings, sessionmaker=ctx["sessionmaker"], redis=ctx["redis"])


def build_telegram_sender(settings: Settings, *, sessionmaker: Any) -> Any:
    """aiogram's Bot when TELEGRAM_BOT_TOKEN is set; otherwise a simulated Telegram that records messages."""
    if settings.telegram_configured:
        from bot.app import build_bot
        from bot.sender import AiogramChatSender

        return AiogramChatSender(build_bot(settings), sessionmaker=sessionmaker)
    from notifier.core.chat import RecordingChatSender
    from notifier.core.texts import t

    logging.getLogger("guatu.worker").warning(t("worker.telegram_simulated", settings.language))
    return RecordingChatSender()


def build_chat_sender(settings: Settings, *, sessionmaker: Any, redis: Any = None) -> Any:
    """The Telegram sender; with WeCom configured, wrapped in a ChannelChat that also reaches people
    in WeCom by their channel order (`redis` shares WeCom's token and rate). Says in one line when
    WeCom is off."""
    telegram = build_telegram_sender(settings, sessionmaker=sessionmaker)
    if not settings.wecom_configured:
        from notifier.core.texts import t

        logging.getLogger("guatu.worker").warning(t("wecom.off", settings.language))
        return telegram
    from notifier.channels.router import ChannelChat
    from wecom.channel import WecomChannel
    from wecom.client import WecomClient

    wecom = WecomChannel(WecomClient(settings, redis), lang=settings.language)
    return ChannelChat(telegram=telegram, wecom=wecom, sessionmaker=sessionmaker, settings=settings)


async def shutdown(ctx: dict[str, Any]) -> None:
    chat = ctx.get("chat")
    wecom = getattr(chat, "wecom", None)
    if wecom is not None:
        await wecom.aclose()
    chat_bot = getattr(getattr(chat, "telegram", chat), "bot", None)
    if chat_bot is not None:
        await chat_bot.session.close()
    sender = ctx.get("sender")
    if sender is not None:
        await sender.provider.aclose()
    engine = ctx.get("engine")
    if engine is not None:
        await engine.dispose()


def worker_settings(settings: Settings, redis_url: str) -> dict[str, Any]:
    """Keyword arguments for `arq.worker.Worker` / `run_worker` built from our settings."""

    async def _startup(ctx: dict[str, Any]) -> None:
        ctx["settings"] = settings
        await startup(ctx)

    return {
        "functions": job_functions(),
        "cron_jobs": cron_jobs(settings),
        "on_startup": _startup,
        "on_shutdown": shutdown,
        "redis_settings": RedisSettings.from_dsn(redis_url),
        "max_jobs": 100,
        "job_timeout": 3600,
        "keep_result": 3600,
        "timezone": settings.tz,
    }


def __getattr__(name: str) -> Any:
    """`worker.WorkerSettings` for arq's own CLI (`arq worker.WorkerSettings`), built on first use from
    the environment so that importing this module reads no settings."""
    if name != "WorkerSettings":
        raise AttributeError(name)
    settings = load_settings()
    redis_url = settings.redis_url or "redis://127.0.0.1:6379"
    return type("WorkerSettings", (), worker_settings(settings, redis_url))
