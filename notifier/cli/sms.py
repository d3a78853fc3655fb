"""`guatu sms segments`, `guatu broadcast`, `guatu campaign ...`: the mass-SMS engine from the shell."""

from __future__ import annotations

import asyncio
from typing import Any

import typer
from arq import create_pool
from arq.connections import RedisSettings
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from models import CampaignKind
from notifier.cli.main import app, console, get_settings, open_sessionmaker, print_json, run
from notifier.cli.main import table as make_table
from notifier.core.redis_server import redis_url_for
from notifier.core.settings import Settings
from notifier.core.texts import ZH, label, t
from notifier.sending.campaigns import (
    CampaignPreview,
    CampaignStatus,
    campaign_status,
    cancel_campaign,
    create_campaign,
    list_campaigns,
    pause_campaign,
    preview_campaign,
    queue_campaign,
    resume_campaign,
)
from notifier.sending.recipients import RecipientLogError, RecipientRow, recipient_log
from notifier.sending.segments import segment_info
from notifier.sending.templates import (
    add_template,
    matching_code,
    registered_templates,
    remove_template,
    without_signature,
)

sms_app = typer.Typer(help="短信工具 / SMS tools", no_args_is_help=True)
campaign_app = typer.Typer(help="群发任务 / campaigns", no_args_is_help=True)
app.add_typer(sms_app, name="sms")
app.add_typer(campaign_app, name="campaign")


@sms_app.command("segments")
def segments(text: str, as_json: bool = typer.Option(False, "--json", help="输出 JSON")) -> None:
    """计算短信编码与条数(不含签名)/ encoding and segments of a text (signature not added)."""
    info = segment_info(text)
    if as_json:
        print_json(info.to_json())
    else:
        console.print(t("sms.segments", get_settings().language, **info.to_json()))


def _skip_label(reason: str, lang: str) -> str:
    key = f"sms.skip.{reason}"
    return t(key, lang) if key in ZH else reason


def print_campaign_preview(preview: CampaignPreview, lang: str = "zh") -> None:
    """The preview every broadcast shows before anything is sent."""
    skipped = "、".join(f"{_skip_label(k, lang)} {v}" for k, v in preview.skipped.items())
    console.print(t("sms.preview.recipients", lang, recipients=preview.recipients,
                    skipped=skipped or t("sms.skip.none", lang)))  # fmt: skip
    console.print(t("sms.preview.cost", lang, segments=preview.segments, max_segments=preview.max_segments,
                    encoding=preview.encoding, cost=preview.estimated_cost))  # fmt: skip
    if preview.not_before:
        at = f"{preview.not_before:%Y-%m-%d %H:%M}"
        console.print(t("sms.preview.quiet", lang, at=at), style="yellow")
    for to, body in preview.samples:
        console.print(f"→ {to}:{body}", highlight=False, markup=False)


async def _pool(redis_url: str) -> Any:
    return await create_pool(RedisSettings.from_dsn(redis_url))


@app.command("broadcast")
def broadcast(
    audience: str = typer.Option(
        ...,
        "--audience",
        help="all-leaders | all-leads | unit:CODE | role:ROLE | "
        "black-list-leads | phones:+86...,+86...(可用逗号组合)",
    ),  # fmt: skip
    text: str = typer.Option(..., "--text", help="短信内容,可用 {name} {unit}"),
    urgent: bool = typer.Option(False, "--urgent", help="紧急:不受免打扰时段限制"),
    dry_run: bool = typer.Option(False, "--dry-run", help="只预览,不发送"),
    yes: bool = typer.Option(False, "--yes", "-y", help="不再询问确认"),
    as_json: bool = typer.Option(False, "--json", help="最后一行输出 JSON"),
    title: str = typer.Option("", "--title"),
) -> None:
    """群发短信:先预览,确认后建立任务交给队列发送 / mass-send an SMS (preview first)."""
    settings = get_settings()

    async def _preview() -> CampaignPreview:
        async with open_sessionmaker(settings) as sessionmaker, sessionmaker() as session:
            return await preview_campaign(
                session, settings=settings, text=text, audience=audience, urgent=urgent
            )

    preview = run(_preview())
    if not as_json or dry_run:
        print_campaign_preview(preview, settings.language)
    if dry_run:
        if as_json:
            print_json({"dry_run": True, **preview.to_json()})
        return
    if not yes and not as_json and not typer.confirm(t("sms.confirm", settings.language)):
        raise typer.Exit(1)
    with redis_url_for(settings.redis_url) as redis_url:
        campaign_id, state = run(_create_and_queue(settings, redis_url, audience=audience, text=text, urgent=urgent,
                                                   title=title))  # fmt: skip
    if not settings.redis_url:
        console.print(t("sms.no_redis", settings.language))
    if as_json:
        print_json({"campaign_id": campaign_id, "state": state, **preview.to_json()})
    else:
        console.print(t("sms.queued", settings.language, id=campaign_id,
                        state=label("CampaignState", state, settings.language)))  # fmt: skip


async def _create_and_queue(settings: Settings, redis_url: str, **kwargs: Any) -> tuple[int, str]:
    async with open_sessionmaker(settings) as sessionmaker, sessionmaker() as session:
        campaign = await create_campaign(session, settings=settings, kind=CampaignKind.BROADCAST, **kwargs)
        await session.commit()
        pool = await _pool(redis_url)
        try:
            queued = await queue_campaign(session, pool, settings=settings, campaign_id=campaign.id or 0)
        finally:
            await pool.aclose()
        return campaign.id or 0, str(queued.state)


def _status_table(status: CampaignStatus, lang: str) -> Table:
    table = make_table(t("sms.status.title", lang, id=status.campaign_id, state=label("CampaignState", status.state, lang)),
                       [t("sms.status.state", lang), t("sms.status.count", lang)], right=(1,))  # fmt: skip
    for state, count in status.counts.items():
        if count:
            table.add_row(label("DeliveryState", state, lang), str(count))
    if status.pause_reason:
        table.caption = f"{t('sms.log.paused', lang)}:{status.pause_reason}"
    elif status.notice:
        table.caption = f"{t('sms.log.notice', lang)}:{status.notice}"
    return table


def _print_recipients(campaign_id: int, rows: list[RecipientRow], total: int, lang: str) -> None:
    table = make_table(t("sms.log.title", lang, id=campaign_id, shown=len(rows), total=total),
                       t("sms.log.columns", lang).split(","))  # fmt: skip
    for r in rows:
        state = label("DeliveryState", r.state, lang) + (f" ({r.skip_reason})" if r.skip_reason else "")
        price = f"{r.price.normalize()} {r.price_unit or ''}".strip() if r.price is not None else ""
        table.add_row(r.phone, state, f"{r.provider or ''} {r.provider_code or ''}".strip(), r.meaning,
                      str(r.segments), price, str(r.attempts), f"{r.sent_at:%Y-%m-%d %H:%M:%S}" if r.sent_at else "",
                      f"{r.final_at:%Y-%m-%d %H:%M:%S}" if r.final_at else "")  # fmt: skip
    console.print(table)


def _recipients(campaign_id: int, *, state: str | None, limit: int, as_json: bool) -> None:
    """The per-recipient log (the same service the web page uses)."""
    settings = get_settings()

    async def _go() -> tuple[list[RecipientRow], int]:
        async with open_sessionmaker(settings) as sessionmaker, sessionmaker() as session:
            return await recipient_log(session, campaign_id=campaign_id, state=state, limit=limit,
                                       lang=settings.language)  # fmt: skip

    try:
        rows, total = run(_go())
    except RecipientLogError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    if as_json:
        print_json({"campaign_id": campaign_id, "total": total, "recipients": [r.to_json() for r in rows]})
    else:
        _print_recipients(campaign_id, rows, total, settings.language)


@campaign_app.command("status")
def status(
    campaign_id: int,
    as_json: bool = typer.Option(False, "--json"),
    watch: bool = typer.Option(False, "--watch", help="进度条,直到完成"),
    recipients: bool = typer.Option(False, "--recipients", help="逐条记录 / the per-recipient log"),
    state: str | None = typer.Option(None, "--state", help="只看某一状态,如 failed / only one state"),
    limit: int = typer.Option(200, "--limit", min=1, max=100_000, help="最多显示条数 / rows at most"),
) -> None:
    """任务状态与各状态计数;--recipients 逐条列出 / state and delivery counts; --recipients lists each."""
    if recipients:
        _recipients(campaign_id, state=state, limit=limit, as_json=as_json)
        return
    settings = get_settings()

    async def _once() -> CampaignStatus:
        async with open_sessionmaker(settings) as sessionmaker, sessionmaker() as session:
            return await campaign_status(session, campaign_id=campaign_id)

    async def _watch() -> CampaignStatus:
        async with open_sessionmaker(settings) as sessionmaker:
            with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                          console=console) as progress:  # fmt: skip
                task = progress.add_task(f"#{campaign_id}", total=None)
                while True:
                    async with sessionmaker() as session:
                        current = await campaign_status(session, campaign_id=campaign_id)
                    progress.update(task, total=current.total, completed=current.finished,
                                    description=f"#{campaign_id} {label('CampaignState', current.state, settings.language)}")  # fmt: skip
                    if current.state in ("done", "cancelled", "paused"):
                        return current
                    await asyncio.sleep(1)

    result = run(_watch() if watch else _once())
    if as_json:
        print_json(result.to_json())
    else:
        console.print(_status_table(result, settings.language))


def _transition(campaign_id: int, action: str) -> None:
    settings = get_settings()

    async def _go(redis_url: str | None) -> str:
        async with open_sessionmaker(settings) as sessionmaker, sessionmaker() as session:
            if action == "pause":
                campaign = await pause_campaign(session, campaign_id=campaign_id)
            elif action == "cancel":
                campaign = await cancel_campaign(session, campaign_id=campaign_id)
            else:
                assert redis_url is not None
                pool = await _pool(redis_url)
                try:
                    campaign = await resume_campaign(
                        session, pool, settings=settings, campaign_id=campaign_id
                    )
                finally:
                    await pool.aclose()
            return str(campaign.state)

    if action == "resume":
        with redis_url_for(settings.redis_url) as redis_url:
            state = run(_go(redis_url))
    else:
        state = run(_go(None))
    console.print(t("sms.transition", settings.language, id=campaign_id,
                    state=label("CampaignState", state, settings.language)))  # fmt: skip


@campaign_app.command("pause")
def pause(campaign_id: int) -> None:
    """暂停 / pause (workers stop claiming new batches)."""
    _transition(campaign_id, "pause")


@campaign_app.command("resume")
def resume(campaign_id: int) -> None:
    """继续 / resume a paused campaign."""
    _transition(campaign_id, "resume")


@campaign_app.command("cancel")
def cancel(campaign_id: int) -> None:
    """取消(未发出的不再发送)/ cancel: nothing more is sent."""
    _transition(campaign_id, "cancel")


@campaign_app.command("list")
def list_(as_json: bool = typer.Option(False, "--json")) -> None:
    """最近的群发任务 / recent campaigns."""
    settings = get_settings()

    async def _go() -> list[dict[str, Any]]:
        async with open_sessionmaker(settings) as sessionmaker, sessionmaker() as session:
            return [{"id": c.id, "kind": c.kind, "state": c.state, "title": c.title, "recipients": c.recipients,
                     "created_at": c.created_at.isoformat()} for c in await list_campaigns(session)]  # fmt: skip

    rows = run(_go())
    if as_json:
        print_json(rows)
        return
    table = make_table(
        t("sms.list.title", settings.language), t("sms.list.columns", settings.language).split(",")
    )
    for r in rows:
        table.add_row(str(r["id"]), label("CampaignKind", r["kind"], settings.language),
                      label("CampaignState", r["state"], settings.language), str(r["title"]), str(r["recipients"]),
                      str(r["created_at"]))  # fmt: skip
    console.print(table)


template_app = typer.Typer(
    help="报备短信模板 / SMS templates registered with the carriers", no_args_is_help=True
)
sms_app.add_typer(template_app, name="template")


@template_app.command("add")
def template_add(
    code: str,
    body: str,
    note: str = typer.Option("", "--note", help="备注,例如运营商的模板编号 / a note"),
) -> None:
    """报备一个模板,占位符写作 {name} / register a template; placeholders like {name}."""
    settings = get_settings()

    async def _go() -> None:
        async with open_sessionmaker(settings) as sessionmaker, sessionmaker() as session:
            await add_template(session, code=code, body=body, note=note)
            await session.commit()

    run(_go())
    console.print(t("sms.template.added", settings.language, code=code), highlight=False)
    if not settings.sms_template_registry:
        console.print(t("sms.template.off", settings.language), style="yellow")


@template_app.command("remove")
def template_remove(code: str) -> None:
    """删除一个模板 / remove a template."""
    settings = get_settings()

    async def _go() -> None:
        async with open_sessionmaker(settings) as sessionmaker, sessionmaker() as session:
            await remove_template(session, code=code)
            await session.commit()

    run(_go())
    console.print(t("sms.template.removed", settings.language, code=code), highlight=False)


@template_app.command("list")
def template_list(as_json: bool = typer.Option(False, "--json", help="输出 JSON")) -> None:
    """已报备的模板 / the registered templates."""
    settings = get_settings()

    async def _go() -> list[dict[str, str]]:
        async with open_sessionmaker(settings) as sessionmaker, sessionmaker() as session:
            return [{"code": r.code, "body": r.body} for r in await registered_templates(session)]

    rows = run(_go())
    if as_json:
        print_json({"registry_on": settings.sms_template_registry, "templates": rows})
        return
    state = t("sms.template.state_on" if settings.sms_template_registry else "sms.template.state_off",
              settings.language)  # fmt: skip
    table = make_table(t("sms.template.title", settings.language, state=state),
                       [t("sms.template.code", settings.language), t("sms.template.body", settings.language)])  # fmt: skip
    for r in rows:
        table.add_row(r["code"], r["body"])
    console.print(table)


@template_app.command("check")
def template_check(text: str, as_json: bool = typer.Option(False, "--json", help="输出 JSON")) -> None:
    """这段文字符合哪个模板(不含签名)/ which registered template a text is (signature left out)."""
    settings = get_settings()

    async def _go() -> str | None:
        async with open_sessionmaker(settings) as sessionmaker, sessionmaker() as session:
            return matching_code(
                without_signature(text, settings.sms_signature), await registered_templates(session)
            )

    code = run(_go())
    if as_json:
        print_json({"template": code})
    elif code is None:
        console.print(t("sms.template.no_match", settings.language), style="yellow")
    else:
        console.print(t("sms.template.match", settings.language, code=code), highlight=False)
    if code is None:
        raise typer.Exit(1)
