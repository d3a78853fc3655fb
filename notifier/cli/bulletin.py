"""`guatu bulletin ...`: preview, send, sign off, and read the archive."""

from __future__ import annotations

from pathlib import Path

import typer
from sqlmodel import select

from models import BulletinKind, Person
from notifier.bulletins.compose import ComposedBulletin, compose_bulletin, describe_dropped
from notifier.bulletins.signoff import approve_bulletin, list_archive, load_bulletin, reject_bulletin
from notifier.cli.main import app, console, get_settings, open_sessionmaker, parse_day, print_json, run, table
from notifier.core.errors import GuatuError, NotFoundError
from notifier.core.phones import parse_phone
from notifier.core.settings import Settings
from notifier.core.texts import ZH, label, t
from notifier.numbers.money import format_rate
from notifier.numbers.rates import RATE_KEYS
from notifier.sending.segments import segment_info

bulletin_app = typer.Typer(help="通报:预览、发送、审核、归档 / bulletins", no_args_is_help=True)
app.add_typer(bulletin_app, name="bulletin")

KIND_OPTION = typer.Option(BulletinKind.WEEKLY, "--kind", help="weekly | procedures | investment | monthly")


def print_preview(composed: ComposedBulletin, settings: Settings) -> None:
    """The SMS exactly as it would go, its segments, what was left out, and the unit table."""
    lang = composed.lang
    info = segment_info(composed.sms)
    console.rule(t(f"bulletin.kind.{composed.kind}", lang) + f" {composed.period_key}")
    console.print(composed.sms, highlight=False, markup=False)
    console.print(t("bulletin.preview.segments", lang, characters=info.characters, segments=info.segments,
                    budget=settings.sms_segment_budget, encoding=info.encoding), style="cyan")  # fmt: skip
    if composed.dropped:
        console.print(t("bulletin.preview.dropped", lang, items=describe_dropped(composed.dropped, lang)),
                      style="yellow")  # fmt: skip
    longest = composed.longest()
    console.print(t("bulletin.preview.longest", lang, group=longest["group"], characters=longest["characters"],
                    segments=longest["segments"], budget=settings.sms_segment_budget), style="cyan")  # fmt: skip
    if longest["dropped"]:
        console.print(t("bulletin.preview.dropped", lang, items=describe_dropped(longest["dropped"], lang)),
                      style="yellow")  # fmt: skip
    headings = [
        *t("cli.bulletin.unit_columns", lang).split(","),
        *(t(f"bulletin.rate.{k}", lang) for k in RATE_KEYS),
    ]
    units = table(t("bulletin.html.units", lang), headings, right=tuple(range(1, len(headings))))
    for unit in composed.numbers.units:
        units.add_row(unit.name, str(unit.rates.projects),
                      *(f"{format_rate(unit.rates.rate(k))} ({unit.rank[k] or '—'})" for k in RATE_KEYS))  # fmt: skip
    console.print(units)


@bulletin_app.command("preview")
def preview(
    kind: BulletinKind = KIND_OPTION,
    as_of: str | None = typer.Option(None, "--as-of", help="截至日期 YYYY-MM-DD(默认今天)"),
    unit: str | None = typer.Option(None, "--unit", help="单位编号:该单位领导收到的版本"),
    as_json: bool = typer.Option(False, "--json", help="输出 JSON"),
    lang: str | None = typer.Option(None, "--lang", help="zh | en"),
    chart: Path | None = typer.Option(None, "--chart", help="把单位排名图存为 PNG"),
    xlsx: Path | None = typer.Option(None, "--xlsx", help="把项目明细存为 .xlsx(月报告)"),
) -> None:
    """预览通报(不发送)/ preview a bulletin without sending anything."""
    settings = get_settings()
    day = parse_day(as_of, settings)

    async def _go() -> ComposedBulletin:
        async with open_sessionmaker(settings) as sessionmaker, sessionmaker() as session:
            if unit is not None:
                await _require_unit(session, unit)
            composed = await compose_bulletin(session, settings=settings, kind=kind, as_of=day, unit_code=unit,
                                              lang=lang)  # fmt: skip
            if xlsx is not None:
                from notifier.bulletins.workbook import monthly_workbook
                from notifier.numbers.rates import project_figures

                xlsx.write_bytes(
                    monthly_workbook(
                        composed.numbers,
                        await project_figures(
                            session, as_of=composed.numbers.as_of, year=composed.numbers.year
                        ),
                    )
                )
            return composed

    composed = run(_go())
    if chart is not None:
        from notifier.bulletins.charts import ranking_chart

        chart.write_bytes(ranking_chart(composed.numbers, lang=composed.lang))
    if as_json:
        print_json(composed.to_json())
    else:
        print_preview(composed, settings)


async def _require_unit(session: object, code: str) -> None:
    from models import Unit

    found = (await session.exec(select(Unit.id).where(Unit.code == code))).first()  # type: ignore[attr-defined]
    if found is None:
        raise NotFoundError(f"没有编号为 {code} 的单位 / no unit {code}")


@bulletin_app.command("archive")
def archive(
    as_json: bool = typer.Option(False, "--json", help="输出 JSON"),
    limit: int = typer.Option(50, "--limit", min=1, max=1000),
) -> None:
    """已发通报归档 / the archive of bulletins, newest first."""
    settings = get_settings()

    async def _go() -> list[dict[str, object]]:
        async with open_sessionmaker(settings) as sessionmaker, sessionmaker() as session:
            return [e.to_json() for e in await list_archive(session, limit=limit)]

    entries = run(_go())
    if as_json:
        print_json(entries)
        return
    lang = settings.language
    result = table(t("cli.archive.title", lang), t("cli.archive.columns", lang).split(","), right=(0, 5, 6))
    for e in entries:
        status = (
            label("ArchiveStatus", e["status"], lang)
            if e.get("status")
            else label("BulletinState", e["state"], lang)
        )
        result.add_row(str(e["id"]), label("BulletinKind", e["kind"], lang), str(e["period_key"]), status,
                       _local(e["sent_at"], settings), str(e["recipients"]), str(e["reads"]),
                       t("cli.archive.corrects", lang, id=e["corrects_id"]) if e["corrects_id"] else "")  # fmt: skip
    console.print(result)


def _named(prefix: str, value: object, lang: str) -> str:
    key = f"{prefix}.{value}"
    return t(key, lang) if key in ZH else str(value)


def _local(moment: object, settings: Settings) -> str:
    """A stored time (datetime or ISO text, UTC) as date and time in the office time zone."""
    from datetime import UTC, datetime

    if not moment:
        return ""
    value = moment if isinstance(moment, datetime) else datetime.fromisoformat(str(moment))
    value = value if value.tzinfo else value.replace(tzinfo=UTC)
    return f"{value.astimezone(settings.tz):%Y-%m-%d %H:%M}"


@bulletin_app.command("show")
def show(bulletin_id: int, as_json: bool = typer.Option(False, "--json", help="输出 JSON")) -> None:
    """查看一份通报(原文、审核、接收人、已阅)/ show one bulletin exactly as sent."""
    settings = get_settings()

    async def _go() -> dict[str, object]:
        async with open_sessionmaker(settings) as sessionmaker, sessionmaker() as session:
            return (await load_bulletin(session, bulletin_id=bulletin_id)).to_json()

    record = run(_go())
    if as_json:
        print_json(record)
        return
    lang = settings.language
    console.rule(t("cli.bulletin.show_title", lang, id=record["id"], kind=label("BulletinKind", record["kind"], lang),
                   period=record["period_key"], state=label("BulletinState", record["state"], lang)))  # fmt: skip
    console.print(str(record["sms_text"]), highlight=False, markup=False)
    for decision in record["decisions"]:  # type: ignore[attr-defined]
        console.print(t("cli.bulletin.decision", lang, decision=_named("cli.decision", decision["decision"], lang),
                        channel=_named("cli.channel", decision["channel"], lang),
                        at=_local(decision["at"], settings)), highlight=False)  # fmt: skip
    recipients: list[dict[str, object]] = record["recipients"]  # type: ignore[assignment]
    read = len([r for r in recipients if r["read"]])
    console.print(t("cli.bulletin.recipients", lang, count=len(recipients), read=read), highlight=False)


def _decide(bulletin_id: int, phone: str, approve: bool, note: str | None) -> None:
    settings = get_settings()

    async def _go() -> str:
        async with open_sessionmaker(settings) as sessionmaker, sessionmaker() as session:
            e164 = parse_phone(phone)
            person = (await session.exec(select(Person).where(Person.phone == e164))).first()
            if person is None:
                raise GuatuError(f"没有手机号为 {e164} 的人员 / no person with phone {e164}")
            action = approve_bulletin if approve else reject_bulletin
            bulletin = await action(session, settings=settings, bulletin_id=bulletin_id, person=person, channel="cli",
                                    note=note)  # fmt: skip
            await session.commit()
            return str(bulletin.state)

    state = run(_go())
    console.print(t("cli.bulletin.decided", settings.language, id=bulletin_id,
                    state=label("BulletinState", state, settings.language)), highlight=False)  # fmt: skip


@bulletin_app.command("approve")
def approve(
    bulletin_id: int,
    phone: str = typer.Option(..., "--as", help="审核人手机号"),
    note: str | None = typer.Option(None, "--note"),
) -> None:
    """审核通过草稿 / approve a draft (admins and approvers only)."""
    _decide(bulletin_id, phone, True, note)


@bulletin_app.command("reject")
def reject(
    bulletin_id: int,
    phone: str = typer.Option(..., "--as", help="审核人手机号"),
    note: str | None = typer.Option(None, "--note"),
) -> None:
    """驳回草稿(不会发送)/ reject a draft: it will not be sent."""
    _decide(bulletin_id, phone, False, note)
