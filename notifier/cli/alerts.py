"""`guatu overdue`, `guatu alerts send`, `guatu calendar`: current alerts and the dispatch calendar."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table

from notifier.cli.main import app, console, get_settings, open_sessionmaker, parse_day, print_json, run, table
from notifier.core.errors import GuatuError
from notifier.core.texts import ZH, t

if TYPE_CHECKING:
    from notifier.bulletins.alerts import Alert, RaiseResult
    from notifier.core.settings import Settings

alerts_app = typer.Typer(help="预警 / alerts", no_args_is_help=True)
app.add_typer(alerts_app, name="alerts")

AS_OF = typer.Option(None, "--as-of", help="截至日期 YYYY-MM-DD(默认今天)")


def _alerts_table(alerts: list[Alert], *, lang: str, day: str) -> Table:
    headings = [t(f"alerts.table.{key}", lang) for key in ("kind", "project", "reason", "to", "sent")]
    result = table(t("alerts.table.title", lang, date=day), headings, right=(3,))
    for alert in alerts:
        sent = t(f"alerts.{'yes' if alert.sent else 'no'}", lang)
        result.add_row(t(f"alerts.kind.{alert.kind}", lang), f"{alert.project_code} {alert.project_name}",
                       alert.reason, str(len(alert.recipient_ids)), sent)  # fmt: skip
    return result


@app.command("overdue")
def overdue(
    as_of: str | None = AS_OF,
    as_json: bool = typer.Option(False, "--json", help="输出 JSON"),
) -> None:
    """列出当前全部预警(未报送、节点逾期、新列入黑榜)及原因 / list every current alert."""
    from notifier.bulletins.alerts import current_alerts

    settings = get_settings()
    day = parse_day(as_of, settings)

    async def _go() -> list[Alert]:
        async with open_sessionmaker(settings) as sessionmaker, sessionmaker() as session:
            return await current_alerts(session, settings=settings, as_of=day)

    alerts = run(_go())
    if as_json:
        print_json({"as_of": day.isoformat(), "alerts": [a.to_json() for a in alerts]})
    elif not alerts:
        console.print(t("alerts.none", settings.language, date=day.isoformat()))
    else:
        console.print(_alerts_table(alerts, lang=settings.language, day=day.isoformat()))


async def _raise(settings: Settings, redis_url: str, day: Any) -> RaiseResult:
    from arq.connections import RedisSettings, create_pool

    from notifier.bulletins.alerts import raise_alerts

    pool = await create_pool(RedisSettings.from_dsn(redis_url))
    try:
        async with open_sessionmaker(settings) as sessionmaker, sessionmaker() as session:
            return await raise_alerts(session, pool, settings=settings, as_of=day)
    finally:
        await pool.aclose()


@alerts_app.command("send")
def send(as_of: str | None = AS_OF, as_json: bool = typer.Option(False, "--json", help="输出 JSON")) -> None:
    """立即发送尚未发送过的节点逾期和黑榜预警(同一事实只发一次)/ send alerts not sent before."""
    from notifier.core.redis_server import redis_url_for

    settings = get_settings()
    day = parse_day(as_of, settings)
    with redis_url_for(settings.redis_url) as redis_url:
        result = run(_raise(settings, redis_url, day))
    data = {"as_of": day.isoformat(), "raised": [{**a.to_json(), "campaign_id": c} for a, c in result.raised],
            "already_sent": result.already_sent, "unreachable": result.unreachable,
            "left_black_list": result.closed}  # fmt: skip
    if as_json:
        print_json(data)
        return
    lang = settings.language
    for alert, campaign_id in result.raised:
        console.print(f"#{campaign_id} {t(f'alerts.kind.{alert.kind}', lang)} "
                      f"{alert.project_code}:{alert.reason}", highlight=False, markup=False)  # fmt: skip
    console.print(t("cli.alerts.sent", lang, raised=len(result.raised), already=result.already_sent,
                    unreachable=result.unreachable), highlight=False)  # fmt: skip


@app.command("calendar")
def calendar(
    after: str | None = typer.Option(None, "--after", help="从此时刻起 YYYY-MM-DDTHH:MM(办公时区,默认现在)"),
    as_json: bool = typer.Option(False, "--json", help="输出 JSON"),
) -> None:
    """列出调度日历中每项任务的下次运行时间(办公时区)/ next run of every calendar job."""
    from notifier.numbers.calendar import next_runs

    settings = get_settings()
    lang = settings.language
    start = _parse_moment(after, settings)
    runs = next_runs(settings, after=start)
    if as_json:
        print_json([{"job": r.name, "at": r.at.isoformat(), "period": r.period} for r in runs])
        return
    result = table(
        t("cli.calendar.title", lang, tz=settings.timezone), t("cli.calendar.columns", lang).split(",")
    )
    weekdays = t("cli.weekdays", lang).split(",")
    for r in runs:
        job = t(f"cli.job.{r.name}", lang) if f"cli.job.{r.name}" in ZH else r.name
        result.add_row(job, f"{r.at:%Y-%m-%d} {weekdays[r.at.weekday()]} {r.at:%H:%M}", r.period)
    console.print(result)


def _parse_moment(value: str | None, settings: Settings) -> datetime:
    if not value:
        return datetime.now(settings.tz)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise GuatuError(t("core.cli.bad_moment", settings.language, value=value)) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=settings.tz)
