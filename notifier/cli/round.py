"""`guatu round now` and `guatu round test PHONE`: this week's prompt round started by hand."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

from notifier.cli.main import app, console, get_settings, open_sessionmaker, parse_day, print_json, run
from notifier.core.errors import GuatuError
from notifier.core.texts import t

if TYPE_CHECKING:
    from datetime import date

    from notifier.core.settings import Settings
    from notifier.reporting.prompts import RoundPlan, RoundResult, TestPrompt

round_app = typer.Typer(
    help="本周报送提醒:立即发出、发给自己试收 / this week's prompt round", no_args_is_help=True
)
app.add_typer(round_app, name="round")

AS_OF = typer.Option(None, "--as-of", help="哪一周:该周内的任一日期 YYYY-MM-DD(默认今天)/ a day of the week")
YES = typer.Option(False, "--yes", "-y", help="不再询问确认 / do not ask")
AS_JSON = typer.Option(False, "--json", help="最后一行输出 JSON / JSON on the last line")


def _json_needs_yes(as_json: bool, yes: bool, settings: Settings) -> None:
    """--json output has no room for a question: the answer must be given as --yes."""
    if as_json and not yes:
        raise GuatuError(t("round.json_needs_yes", settings.language))


def print_plan(plan: RoundPlan, settings: Settings) -> None:
    lang = settings.language
    deadline = f"{plan.deadline.astimezone(settings.tz):%Y-%m-%d %H:%M}"
    console.print(t("round.plan", lang, week=plan.week, deadline=deadline, to_prompt=plan.to_prompt,
                    by_chat=plan.by_chat, by_sms=plan.by_sms, unreachable=plan.unreachable,
                    already=plan.already), highlight=False)  # fmt: skip


def print_result(result: RoundResult, week: str, lang: str) -> None:
    campaigns = ",".join(f"#{i}" for i in result.sms_campaigns) or t("round.none", lang)
    console.print(t("round.done", lang, week=week, chat=result.chat, sms=result.no_chat, blocked=result.blocked,
                    skipped=result.skipped, campaigns=campaigns), highlight=False)  # fmt: skip


async def _plan(settings: Settings, day: date | None) -> RoundPlan:
    from models.base import utcnow
    from notifier.reporting.prompts import plan_round_now

    async with open_sessionmaker(settings) as sessionmaker, sessionmaker() as session:
        return await plan_round_now(session, settings=settings, now=utcnow(), as_of=day)


async def _start(settings: Settings, redis_url: str, day: date | None) -> RoundResult:
    from arq.connections import RedisSettings, create_pool

    from models.base import utcnow
    from notifier.reporting.prompts import start_round_now
    from worker import build_chat_sender

    pool = await create_pool(RedisSettings.from_dsn(redis_url))
    chat: Any = None
    try:
        async with open_sessionmaker(settings) as sessionmaker:
            chat = build_chat_sender(settings, sessionmaker=sessionmaker, redis=pool)
            async with sessionmaker() as session:
                return await start_round_now(session, settings=settings, chat=chat, now=utcnow(), as_of=day,
                                             redis=pool)  # fmt: skip
    finally:
        await _close_chat(chat)
        await pool.aclose()


async def _close_chat(chat: Any) -> None:
    wecom = getattr(chat, "wecom", None)
    if wecom is not None:
        await wecom.aclose()
    bot = getattr(getattr(chat, "telegram", chat), "bot", None)
    if bot is not None:
        await bot.session.close()


@round_app.command("now")
def round_now(as_of: str | None = AS_OF, yes: bool = YES, as_json: bool = AS_JSON) -> None:
    """立即发出本周的报送提醒(已提醒过的项目不再重复)/ send this week's prompts now (no one twice)."""
    from notifier.core.redis_server import redis_url_for

    settings = get_settings()
    _json_needs_yes(as_json, yes, settings)
    day = parse_day(as_of, settings) if as_of else None
    plan = run(_plan(settings, day))
    if not as_json:
        print_plan(plan, settings)
    if plan.to_prompt == 0:
        if as_json:
            print_json({"week": plan.week, "prompted": 0, "already": plan.already})
        else:
            console.print(t("round.nothing", settings.language, week=plan.week))
        return
    if not yes and not typer.confirm(t("round.confirm", settings.language, count=plan.to_prompt)):
        raise typer.Exit(1)
    with redis_url_for(settings.redis_url) as redis_url:
        result = run(_start(settings, redis_url, day))
    if as_json:
        print_json({"week": plan.week, "telegram": result.chat, "sms": result.no_chat, "blocked": result.blocked,
                    "already": result.skipped, "sms_campaigns": result.sms_campaigns})  # fmt: skip
        return
    print_result(result, plan.week, settings.language)
    if result.sms_campaigns and not settings.redis_url:
        console.print(t("sms.no_redis", settings.language))


async def _test_prompt(settings: Settings, phone: str, day: date | None) -> tuple[TestPrompt, Any]:
    """This week's prompt SMS addressed to `phone`, and the preview of sending it there."""
    from models.base import utcnow
    from notifier.reporting.prompts import compose_test_prompt
    from notifier.sending.campaigns import preview_campaign

    async with open_sessionmaker(settings) as sessionmaker, sessionmaker() as session:
        prompt = await compose_test_prompt(session, settings=settings, phone=phone, now=utcnow(), as_of=day)
        preview = await preview_campaign(session, settings=settings, text=prompt.text,
                                         audience=f"phones:{prompt.phone}")  # fmt: skip
        return prompt, preview


@round_app.command("test")
def round_test(
    phone: str = typer.Argument(..., help="收件手机号(您自己的)/ your own phone number"),
    as_of: str | None = AS_OF,
    yes: bool = YES,
    as_json: bool = AS_JSON,
) -> None:
    """把本周的报送提醒短信发给自己试收 / send this week's prompt SMS to your own number as a test."""
    from notifier.cli.sms import print_campaign_preview
    from notifier.core.phones import parse_phone
    from notifier.core.redis_server import redis_url_for

    settings = get_settings()
    _json_needs_yes(as_json, yes, settings)
    parse_phone(phone)  # a malformed number is refused before anything is opened
    day = parse_day(as_of, settings) if as_of else None
    prompt, preview = run(_test_prompt(settings, phone, day))
    week, e164 = prompt.week, prompt.phone
    if not as_json:
        console.print(t("round.test_plan", settings.language, week=week, phone=e164), highlight=False)
        print_campaign_preview(preview, settings.language)
    if preview.recipients == 0:
        if as_json:
            print_json({"week": week, "phone": e164, "sent": False, **preview.to_json()})
        else:
            console.print(t("round.test_unreachable", settings.language, phone=e164), style="yellow")
        raise typer.Exit(1)
    if not yes and not typer.confirm(t("sms.confirm", settings.language)):
        raise typer.Exit(1)
    with redis_url_for(settings.redis_url) as redis_url:
        campaign_id, state = run(_send_test(settings, redis_url, prompt))
    if as_json:
        print_json(
            {"week": week, "phone": e164, "campaign_id": campaign_id, "state": state, "text": prompt.text}
        )
        return
    from notifier.core.texts import label

    console.print(t("sms.queued", settings.language, id=campaign_id,
                    state=label("CampaignState", state, settings.language)))  # fmt: skip
    if not settings.redis_url:
        console.print(t("sms.no_redis", settings.language))


async def _send_test(settings: Settings, redis_url: str, prompt: TestPrompt) -> tuple[int, str]:
    from arq.connections import RedisSettings, create_pool

    from notifier.reporting.prompts import send_test_prompt

    pool = await create_pool(RedisSettings.from_dsn(redis_url))
    try:
        async with open_sessionmaker(settings) as sessionmaker, sessionmaker() as session:
            campaign = await send_test_prompt(session, pool, settings=settings, prompt=prompt)
            return campaign.id or 0, str(campaign.state)
    finally:
        await pool.aclose()
