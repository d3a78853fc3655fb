"""`guatu demo`: the main job on embedded defaults."""

from __future__ import annotations

from pathlib import Path

import typer

from models import utcnow
from notifier.cli.main import app, console, get_settings, parse_day, run
from notifier.core.redis_server import redis_url_for
from notifier.core.texts import t
from notifier.demo.run import prepare_directory, run_demo
from notifier.sending.quiet import quiet_until


@app.command("demo")
def demo(
    directory: Path = typer.Option(Path("./data/demo"), "--dir", help="演示数据目录 / demo data directory"),
    as_of: str | None = typer.Option(None, "--as-of", help="演示日期 YYYY-MM-DD / demo date"),
    lang: str | None = typer.Option(None, "--lang", help="zh 或 en"),
) -> None:
    """完整演示一周流程 / run the whole weekly cycle on embedded defaults."""
    overrides: dict[str, object] = {
        "database_url": f"sqlite+aiosqlite:///{directory.resolve() / 'guatu-demo.db'}",
        "sms_backend": "file",
        "sms_file_path": directory / "sms-outbox.jsonl",
    }
    if lang:
        overrides["language"] = lang
    settings = get_settings(**overrides)
    when = parse_day(as_of, settings) if as_of else None  # checked before the folder is wiped
    prepare_directory(directory)
    console.print(t("core.demo_creds", settings.language, backend="file"))
    if settings.quiet_window and quiet_until(utcnow(), settings):
        _, end = settings.quiet_window
        console.print(
            t("core.demo.quiet", settings.language, window=settings.quiet_hours, end=f"{end:%H:%M}")
        )
        settings = settings.model_copy(update={"quiet_hours": ""})
    # Always a private Redis: the demo's jobs must never meet the queue of a real deployment.
    with redis_url_for(None) as redis_url:
        key = "core.demo.redis_private" if settings.redis_url else "core.redis_embedded"
        console.print(t(key, settings.language, url=redis_url))
        settings = settings.model_copy(update={"redis_url": redis_url})
        result = run(
            run_demo(settings, redis_url=redis_url, as_of=when, console=console, directory=directory)
        )
    console.print(t("core.demo.done", settings.language, seconds=result.results["seconds"], path=directory))
