"""`guatu wecom sync|status` and `guatu channels PHONE [ORDER]`: WeCom binding and each person's channel order."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import typer

from notifier.cli.main import app, console, get_settings, open_sessionmaker, print_json, run
from notifier.core.errors import GuatuError, SettingsError
from notifier.core.redis_server import redis_url_for
from notifier.core.settings import Settings
from notifier.core.texts import t

wecom_app = typer.Typer(help="企业微信 / WeCom (企业微信) channel", no_args_is_help=True)
app.add_typer(wecom_app, name="wecom")


@asynccontextmanager
async def _wecom(settings: Settings, redis_url: str) -> AsyncIterator[Any]:
    # The adapter is imported here only: notifier/ stays free of HTTP clients.
    import redis.asyncio as aioredis

    from wecom.channel import WecomChannel
    from wecom.client import WecomClient

    redis = aioredis.Redis.from_url(redis_url)
    channel = WecomChannel(WecomClient(settings, redis), lang=settings.language)
    try:
        yield channel
    finally:
        await channel.aclose()
        await redis.aclose()


def _require_wecom(settings: Settings) -> None:
    if not settings.wecom_configured:
        raise SettingsError(t("wecom.off", settings.language))


@wecom_app.command("sync")
def sync(
    recheck: bool = typer.Option(
        False, "--recheck", help="重新查询已绑定和未找到的号码 / look every number up again"
    ),
    as_json: bool = typer.Option(False, "--json", help="输出 JSON / print JSON"),
) -> None:
    """按已导入的手机号绑定企业微信成员 / bind people to WeCom members by their imported mobile numbers."""
    settings = get_settings()
    _require_wecom(settings)

    async def _run() -> Any:
        from notifier.channels.wecom import WecomError, sync_wecom

        with redis_url_for(settings.redis_url) as redis_url:
            async with _wecom(settings, redis_url) as channel, open_sessionmaker(settings) as sessionmaker:
                async with sessionmaker() as session:
                    try:
                        return await sync_wecom(session, channel, recheck=recheck)
                    except WecomError as exc:
                        raise GuatuError(f"企业微信同步中断(已完成的已保存)/ WeCom sync stopped (what was done is "
                                         f"kept): {exc}") from None  # fmt: skip

    report = run(_run())
    console.print(t("cli.wecom.sync", settings.language, report=report), highlight=False, markup=False,
                  soft_wrap=True)  # fmt: skip
    if as_json:
        print_json({"bound": report.bound, "already": report.already, "no_user": report.no_user,
                    "not_visible": report.not_visible, "skipped": report.skipped, "conflicts": report.conflicts})  # fmt: skip


@wecom_app.command("status")
def status() -> None:
    """企业微信是否开启及绑定情况 / whether WeCom is on, and how many people are bound."""
    settings = get_settings()

    async def _run() -> dict[str, int]:
        from notifier.channels.router import wecom_counts

        async with open_sessionmaker(settings) as sessionmaker, sessionmaker() as session:
            return await wecom_counts(session)

    on = (
        t("cli.wecom.on", settings.language)
        if settings.wecom_configured
        else t("wecom.off", settings.language)
    )
    console.print(
        t("cli.wecom.status", settings.language, state=on), highlight=False, markup=False, soft_wrap=True
    )
    counts = run(_run())
    console.print(
        ", ".join(f"{name} {count}" for name, count in counts.items()), highlight=False, markup=False
    )
    print_json(counts)


@app.command("channels")
def channels(
    phone: str = typer.Argument(..., help="手机号 / phone number"),
    order: str | None = typer.Argument(
        None, help="如 wecom,sms;default 恢复默认 / e.g. wecom,sms; default to reset"
    ),
) -> None:
    """查看或设置某人的消息渠道顺序 / show or set a person's chat channel order."""
    settings = get_settings()

    async def _run() -> str:
        from sqlmodel import select

        from models import Person
        from notifier.channels.router import channel_order, set_channel_order
        from notifier.core.errors import NotFoundError
        from notifier.core.phones import parse_phone

        async with open_sessionmaker(settings) as sessionmaker, sessionmaker() as session:
            if order is None:
                e164 = parse_phone(phone)
                person = (await session.exec(select(Person).where(Person.phone == e164))).first()
                if person is None:
                    raise NotFoundError(f"没有手机号为 {e164} 的人员 / no person with the number {e164}")
            else:
                person = await set_channel_order(
                    session, phone=phone, order=None if order == "default" else order
                )
            own = "" if person.channels else " (CHANNEL_ORDER)"
            return f"{person.name}: {','.join(channel_order(person, settings))}{own}"

    console.print(run(_run()), highlight=False, markup=False, soft_wrap=True)
