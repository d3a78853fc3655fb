"""`guatu invite PHONE` and `guatu bot` (long polling)."""

from __future__ import annotations

import typer

from models.base import utcnow
from notifier.cli.main import app, console, get_settings, open_sessionmaker, require_schema, run
from notifier.core.errors import SettingsError
from notifier.core.settings import Settings


@app.command("invite")
def invite(phone: str = typer.Argument(..., help="手机号 / phone number")) -> None:
    """生成一次性 Telegram 绑定链接(7天有效)/ print a single-use Telegram deep link for a person."""
    settings = get_settings()

    async def _run() -> str:
        from notifier.reporting.invites import invite_by_phone

        async with open_sessionmaker(settings) as sessionmaker, sessionmaker() as session:
            person, issued = await invite_by_phone(session, settings=settings, phone=phone, now=utcnow())
            return f"{person.name}: {issued.link}"

    console.print(run(_run()), highlight=False, markup=False, soft_wrap=True)


@app.command("bot")
def bot_command() -> None:
    """运行 Telegram 机器人(长轮询)/ run the Telegram bot with long polling."""
    settings = get_settings()
    token = settings.telegram_bot_token
    if token is None or not token.get_secret_value().strip():
        raise SettingsError(
            "TELEGRAM_BOT_TOKEN 未设置,机器人无法启动 / TELEGRAM_BOT_TOKEN is not set; the bot cannot start"
        )
    require_schema(settings)
    run(_poll(settings))


async def _poll(settings: Settings) -> None:
    # aiogram is imported here only: notifier/ stays free of Telegram libraries.
    from arq.connections import RedisSettings, create_pool

    from bot.app import build_bot, build_dispatcher, redis_storage

    storage = redis_storage(settings)  # REDIS_URL is required: conversations outlive a restart
    bot = build_bot(settings)
    arq = await create_pool(RedisSettings.from_dsn(settings.redis_url or ""))
    try:
        async with open_sessionmaker(settings) as sessionmaker:
            dp = build_dispatcher(settings=settings, sessionmaker=sessionmaker, storage=storage,
                                  arq=arq)  # fmt: skip
            await dp.start_polling(bot)
    finally:
        await arq.aclose()
