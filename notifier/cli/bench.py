"""`guatu bench send`: the mass-send benchmark (bench/send.py) from the command line."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import typer

from notifier.cli.main import app, console, get_settings, print_json, run

bench_app = typer.Typer(help="性能测试 / benchmarks", no_args_is_help=True)
app.add_typer(bench_app, name="bench")


@contextmanager
def progress_bars(*, hidden: bool) -> Iterator[Callable[[str, int], None]]:
    """A Rich progress bar per step; `report(step, percent)` moves the step's bar."""
    from rich.progress import BarColumn, Progress, TaskID, TextColumn

    tasks: dict[str, TaskID] = {}
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                  console=console, disable=hidden) as bar:  # fmt: skip

        def report(step: str, percent: int) -> None:
            if step not in tasks:
                tasks[step] = bar.add_task(step, total=100)
            bar.update(tasks[step], completed=percent)

        yield report


@bench_app.command("send")
def send(
    recipients: int = typer.Option(10_000, min=1, help="群发人数 / recipients of the campaign"),
    latency_ms: int = typer.Option(50, "--latency-ms", min=0, help="模拟 Twilio 每个请求的延迟"),
    rate: float | None = typer.Option(
        None, "--rate", min=0.1, help="SMS_RATE_PER_SEC 限速 / shared rate limit"
    ),
    naive_sample: int = typer.Option(500, "--naive-sample", min=500, help="同步客户端样本数(≥500)"),
    workers: int = typer.Option(1, min=1, max=16, help="worker 进程数 / arq worker processes"),
    database_url: str | None = typer.Option(
        None, "--database-url", help="默认:临时 SQLite 文件 / default: temp SQLite"
    ),
    batch_size: int | None = typer.Option(None, "--batch-size", min=1, help="SMS_BATCH_SIZE(默认按设置)"),
    callbacks_first: bool = typer.Option(
        False,
        "--callbacks-first",
        help="回执在创建请求返回前到达;报告 delivered 与 accepted / receipts before each create answer",
    ),  # fmt: skip
    json_out: bool = typer.Option(False, "--json", help="只输出一行 JSON / one JSON object"),
) -> None:
    """Measure naive, raw and guatu send rates against the local Twilio fake (REDIS_URL from the
    settings, else a private Redis; --database-url, else a temporary SQLite file). With
    --callbacks-first the web app takes the fake's status callbacks, each sent before its create call
    answers, and `delivered` (receipts applied) is reported beside `accepted_at_fake`."""
    from bench.send import BenchOptions, run_bench

    settings = get_settings()
    opts = BenchOptions(recipients=recipients, latency_ms=latency_ms, rate=rate, naive_sample=naive_sample,
                        workers=workers, database_url=database_url, redis_url=settings.redis_url,
                        batch_size=batch_size, callbacks_first=callbacks_first)  # fmt: skip

    def report(line: str) -> None:
        if not json_out:
            console.print(line, highlight=False)

    result = run(run_bench(opts, report))
    if not json_out:
        for key, value in result.items():
            console.print(f"{key}: {value}", highlight=False)
    print_json(result)


@bench_app.command("compose")
def compose(
    projects: int = typer.Option(10_000, min=1, help="项目数 / projects"),
    weeks: int = typer.Option(52, min=1, max=52, help="每个项目的周报数 / weekly reports per project"),
    repeats: int = typer.Option(5, min=1, help="计时次数 / timed repetitions"),
    database_url: str | None = typer.Option(
        None,
        "--database-url",
        help="同时在此 PostgreSQL 空库上测 / also measure on this empty PostgreSQL database",
    ),
    reset: bool = typer.Option(False, "--reset", help="清空 --database-url 中已有的数据 / wipe it first"),
    json_out: bool = typer.Option(False, "--json", help="只输出一行 JSON / one JSON object"),
) -> None:
    """Time composing the weekly bulletin over a year of reports (SQLite, and PostgreSQL if given)."""
    from bench.compose import ComposeOptions, NotEmptyError, run_bench

    opts = ComposeOptions(
        projects=projects, weeks=weeks, repeats=repeats, database_url=database_url, reset=reset
    )
    with progress_bars(hidden=json_out) as progress:
        try:
            result = run(run_bench(opts, progress))
        except NotEmptyError as exc:
            console.print(f"[red]{exc}[/red]")
            raise typer.Exit(2) from None
    if not json_out:
        for dialect in ("sqlite", "postgresql"):
            figures = result.get(dialect)
            if figures:
                console.print(
                    f"{dialect}: " + ", ".join(f"{k}={v}" for k, v in figures.items()), highlight=False
                )
    print_json(result)


@bench_app.command("bot")
def bot_bench(
    leads: int = typer.Option(1000, min=1, help="报送的负责人数 / leads reporting"),
    rounds: int = typer.Option(1, min=1, help="每人报送次数(5 条消息/次)/ reports per lead (5 updates each)"),
    window_seconds: float = typer.Option(
        600.0, "--window-seconds", min=0, help="负责人在此时间窗内随机开始 / leads begin at random within it"
    ),
    telegram_latency_ms: float = typer.Option(
        100.0, "--telegram-latency-ms", min=0, help="每次 Bot API 请求的往返时间 / each Bot API round trip"
    ),
    database_url: str | None = typer.Option(
        None, "--database-url", help="默认:临时 SQLite 文件 / default: a temporary SQLite file"
    ),
    reset: bool = typer.Option(False, "--reset", help="清空 --database-url 中已有的数据 / wipe it first"),
    json_out: bool = typer.Option(False, "--json", help="只输出一行 JSON / one JSON object"),
) -> None:
    """The time the bot adds to each reply (p50/p95/p99, less the Bot API round trips) and its CPU time
    per update, with the leads' conversations spread over a window (REDIS_URL, else a private Redis)."""
    from bench.bot import BotBenchOptions, run_bench
    from bench.compose import NotEmptyError
    from notifier.core.redis_server import redis_url_for

    settings = get_settings()
    with redis_url_for(settings.redis_url) as redis_url, progress_bars(hidden=json_out) as progress:
        opts = BotBenchOptions(leads=leads, rounds=rounds, window_seconds=window_seconds,
                               telegram_latency_ms=telegram_latency_ms, database_url=database_url,
                               redis_url=redis_url, reset=reset)  # fmt: skip
        try:
            result = run(run_bench(opts, progress))
        except NotEmptyError as exc:
            console.print(f"[red]{exc}[/red]")
            raise typer.Exit(2) from None
    if not json_out:
        for key, value in result.items():
            console.print(f"{key}: {value}", highlight=False)
    print_json(result)
