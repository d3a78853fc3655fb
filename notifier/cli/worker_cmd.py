"""`guatu worker`: run the arq worker, and keep running it through Redis outages."""

from __future__ import annotations

import logging
import time

import typer
from arq.worker import Worker
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from notifier.cli.main import app, console, get_settings, require_schema
from notifier.core.redis_server import redis_url_for
from notifier.core.texts import t

log = logging.getLogger("guatu.worker")
MAX_PAUSE = 30.0


@app.command("worker")
def worker(
    burst: bool = typer.Option(False, "--burst", help="处理完队列后退出 / exit when the queue is empty"),
) -> None:
    """运行队列任务进程 / run the arq worker (sending, bulletins, the calendar).

    arq's worker stops when it loses Redis (a restart, a network cut). The deliveries are in the
    database, so this loop starts a fresh worker once Redis answers again — pausing 1 s, then
    doubling up to 30 s while it does not — and the sweeper re-queues whatever Redis forgot.
    """
    import worker as worker_module

    settings = get_settings()
    require_schema(settings)
    with redis_url_for(settings.redis_url) as redis_url:
        if not settings.redis_url:
            console.print(t("core.redis_embedded", settings.language, url=redis_url))
        pause = 1.0
        while True:
            started = time.monotonic()
            try:
                Worker(**worker_module.worker_settings(settings, redis_url), burst=burst).run()
                return  # stopped by a signal, or a burst run finished
            except (RedisConnectionError, RedisTimeoutError, ConnectionError) as exc:
                if burst:
                    raise
                if time.monotonic() - started > 60:
                    pause = 1.0  # it ran well for a while: this is a new outage
                log.warning("Redis lost (%s); restarting the worker in %.0f s", exc, pause)
                console.print(t("core.redis_lost", settings.language, seconds=f"{pause:.0f}"))
                time.sleep(pause)
                pause = min(pause * 2, MAX_PAUSE)
