"""`guatu bench send`: how fast Guatu mass-sends, against the Twilio fake on loopback.

One run measures three senders against the same fake (its own process, with `--latency-ms` per
request):

(a) naive — twilio-python's synchronous Client in a loop, on a sample of messages;
(b) raw — an asyncio HTTP blast (aiohttp, no database, no queue): the ceiling;
(c) guatu — the real pipeline: create_campaign → queue_campaign → arq worker process(es) →
    TwilioProvider → delivery rows, timed from queueing until every delivery is `sent`.

The last stdout line is one JSON object with the figures. Nothing here is tuned per run: the
worker uses the settings (SMS_CONCURRENCY, SMS_BATCH_SIZE, SMS_FANOUT) as configured.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import psutil

ACCOUNT_SID = "AC" + "b" * 32
AUTH_TOKEN = "bench-auth-token"
FROM = "+15005550006"
BODY = "本周重点项目进展通报:开复工率 94.0%,手续办结率 88.5%,投资计划完成率 76.2%。"
CLI = "from notifier.cli import main; main()"

Report = Callable[[str], None]


@dataclass(frozen=True)
class BenchOptions:
    recipients: int = 10_000
    latency_ms: int = 50
    rate: float | None = None
    naive_sample: int = 500
    raw_concurrency: int = 256
    workers: int = 1
    database_url: str | None = None
    redis_url: str | None = None
    batch_size: int | None = None
    # Status callbacks on: the web app takes them, the fake sends them before answering each create.
    callbacks_first: bool = False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def phones(count: int, *, seed: int) -> list[str]:
    """`count` distinct mainland mobile numbers; a fresh block per run, so carrier limits
    (same text, daily cap) on an existing database never hold them."""
    start = random.Random(seed).randrange(0, 10**9 - count)
    return [f"+8613{start + i:09d}" for i in range(count)]


class FakeProcess:
    """The Twilio fake in its own process, so the senders measured do not share its event loop."""

    def __init__(self, latency_ms: int) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._proc = subprocess.Popen(
            [sys.executable, "-c", CLI, "dev", "fake-twilio", "--port", str(self.port), "--latency-ms",
             str(latency_ms), "--account-sid", ACCOUNT_SID, "--auth-token", AUTH_TOKEN],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip

    async def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as http:
            while time.monotonic() < deadline:
                try:
                    async with http.get(self.base_url + "/__stats") as response:
                        if response.status == 200:
                            return
                except aiohttp.ClientError:
                    await asyncio.sleep(0.2)
        raise RuntimeError("the Twilio fake did not start")

    async def call(self, method: str, path: str, json: dict[str, Any] | None = None) -> dict[str, Any]:
        async with (
            aiohttp.ClientSession() as http,
            http.request(method, self.base_url + path, json=json) as r,
        ):
            data: dict[str, Any] = await r.json()
            return data

    async def reset(self) -> None:
        await self.call("POST", "/__control", {"reset": True})

    async def stats(self) -> dict[str, Any]:
        return await self.call("GET", "/__stats")

    def stop(self) -> None:
        self._proc.terminate()
        self._proc.wait(timeout=10)


def measure_naive(base_url: str, numbers: list[str]) -> float:
    """(a) What a user would write: the synchronous client, one message after another."""
    from twilio.rest import Client

    client = Client(ACCOUNT_SID, AUTH_TOKEN)
    client.api.base_url = base_url
    started = time.perf_counter()
    for number in numbers:
        client.messages.create(to=number, from_=FROM, body=BODY)
    return len(numbers) / (time.perf_counter() - started)


async def measure_raw(base_url: str, numbers: list[str], *, concurrency: int) -> float:
    """(b) The ceiling: concurrent POSTs straight at the API, nothing recorded anywhere."""
    url = f"{base_url}/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    gate = asyncio.Semaphore(concurrency)
    auth = aiohttp.BasicAuth(ACCOUNT_SID, AUTH_TOKEN)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, auth=auth) as http:

        async def post(number: str) -> None:
            async with gate, http.post(url, data={"To": number, "From": FROM, "Body": BODY}) as response:
                if response.status != 201:
                    raise RuntimeError(f"raw blast refused: HTTP {response.status}")
                await response.read()

        started = time.perf_counter()
        await asyncio.gather(*(post(n) for n in numbers))
        return len(numbers) / (time.perf_counter() - started)


def worker_env(
    opts: BenchOptions, *, base_url: str, database_url: str, redis_url: str, public_base_url: str = ""
) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "DATABASE_URL": database_url, "REDIS_URL": redis_url, "SMS_BACKEND": "twilio",
        "SMS_FALLBACK_BACKEND": "", "TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_FROM": FROM, "TWILIO_MESSAGING_SERVICE_SID": "", "TWILIO_BASE_URL": base_url,
        "QUIET_HOURS": "", "PUBLIC_BASE_URL": public_base_url,
        # Without --rate the shared limiter is set far above what loopback can reach.
        "SMS_RATE_PER_SEC": str(opts.rate or 1_000_000),
    })  # fmt: skip
    if opts.batch_size:
        env["SMS_BATCH_SIZE"] = str(opts.batch_size)
    return env


async def start_web(database_url: str, redis_url: str) -> tuple[Any, Any, str]:
    """The web app in this process, to take the fake's status callbacks (signed with AUTH_TOKEN)."""
    import uvicorn

    from notifier.core.settings import load_settings
    from web.app import create_app

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    settings = load_settings(database_url=database_url, redis_url=redis_url, twilio_account_sid=ACCOUNT_SID,
                             twilio_auth_token=AUTH_TOKEN, public_base_url=url, quiet_hours="",
                             secret_key="bench-secret-key-not-for-production", _env_file=None)  # fmt: skip
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="on"))  # fmt: skip
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.05)
    return server, task, url


async def wait_for_receipts(sessionmaker: Any, campaign_id: int, *, timeout: float = 120.0) -> None:
    """After the campaign is done: until no delivery is left `sent` (every receipt applied)."""
    from sqlalchemy import func
    from sqlmodel import select

    from models import Delivery, DeliveryState

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        async with sessionmaker() as session:
            waiting = (await session.exec(select(func.count()).select_from(Delivery).where(
                Delivery.campaign_id == campaign_id, Delivery.state == DeliveryState.SENT))).one()  # fmt: skip
        if not waiting:
            return
        await asyncio.sleep(0.5)


class RssWatch:
    """Peak resident memory of the worker processes, sampled every 100 ms."""

    def __init__(self, pids: list[int]) -> None:
        self._procs = [psutil.Process(pid) for pid in pids]
        self.peak_bytes = 0
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            for proc in self._procs:
                try:
                    self.peak_bytes = max(self.peak_bytes, proc.memory_info().rss)
                except psutil.Error:
                    pass
            await asyncio.sleep(0.1)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)


async def _wait_for_workers(redis: Any, procs: list[subprocess.Popen[bytes]], timeout: float = 120.0) -> None:
    # arq writes its health-check key as soon as a worker's main loop runs.
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in procs):
            raise RuntimeError("a worker process exited during start-up")
        if await redis.exists("arq:queue:health-check"):
            return
        await asyncio.sleep(0.2)
    raise RuntimeError("the arq worker did not start")


async def measure_guatu(opts: BenchOptions, fake: FakeProcess, numbers: list[str], report: Report,
                        *, database_url: str, redis_url: str) -> dict[str, Any]:  # fmt: skip
    """(c) The real pipeline, timed from queueing the campaign until every delivery is sent."""
    import redis.asyncio as aioredis
    from arq import create_pool
    from arq.connections import RedisSettings
    from sqlmodel import SQLModel

    import models  # noqa: F401  (registers every table)
    from models import CampaignKind, DeliveryState

    FINISHED = (DeliveryState.SENT, DeliveryState.DELIVERED, DeliveryState.UNDELIVERED, DeliveryState.FAILED)
    from models.db import create_engine, create_sessionmaker
    from notifier.core.settings import load_settings
    from notifier.sending.campaigns import campaign_status, create_campaign, queue_campaign

    settings = load_settings(database_url=database_url, redis_url=redis_url, quiet_hours="", _env_file=None)
    engine = create_engine(database_url)
    async with engine.begin() as conn:
        await conn.run_sync(SQLModel.metadata.create_all)
    web = None
    public_base_url = ""
    if opts.callbacks_first:
        web = await start_web(database_url, redis_url)
        public_base_url = web[2]
        await fake.call("POST", "/__control", {"callbacks_first": True, "send_callbacks": True})
    env = worker_env(opts, base_url=fake.base_url, database_url=database_url, redis_url=redis_url,
                     public_base_url=public_base_url)  # fmt: skip
    sessionmaker = create_sessionmaker(engine)
    plain = aioredis.Redis.from_url(redis_url)
    await plain.delete("arq:queue:health-check")
    procs = [subprocess.Popen([sys.executable, "-c", CLI, "worker"], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL) for _ in range(opts.workers)]  # fmt: skip
    watch = RssWatch([p.pid for p in procs])
    pool = await create_pool(RedisSettings.from_dsn(redis_url))
    try:
        await _wait_for_workers(plain, procs)
        watch.start()
        report(f"(c) guatu: creating a campaign of {len(numbers)} deliveries")
        async with sessionmaker() as session:
            campaign = await create_campaign(session, settings=settings, kind=CampaignKind.BROADCAST, text=BODY,
                                             audience="phones:" + ",".join(numbers), title="bench",
                                             urgent=True)  # fmt: skip
            await session.commit()
            campaign_id = campaign.id or 0
        await fake.reset()
        started = time.perf_counter()
        async with sessionmaker() as session:
            await queue_campaign(session, pool, settings=settings, campaign_id=campaign_id)
        counts: dict[str, int] = {}
        while True:
            await asyncio.sleep(0.2)
            async with sessionmaker() as session:
                status = await campaign_status(session, campaign_id=campaign_id)
            counts = {str(k): v for k, v in status.counts.items()}
            done = sum(counts.get(state, 0) for state in FINISHED)
            if done >= len(numbers) or status.state == "done":
                break
            if any(p.poll() is not None for p in procs):
                raise RuntimeError("a worker process died during the run")
        elapsed = time.perf_counter() - started
        if opts.callbacks_first:
            report("(c) guatu: waiting for every delivery receipt")
            await wait_for_receipts(sessionmaker, campaign_id)
            async with sessionmaker() as session:
                status = await campaign_status(session, campaign_id=campaign_id)
            counts = {str(k): v for k, v in status.counts.items()}
        stats = await fake.stats()
    finally:
        if web is not None:
            web[0].should_exit = True
            await web[1]
        await watch.stop()
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        await pool.aclose()
        await plain.aclose()
        await engine.dispose()
    return {
        "guatu_msgs_per_sec": round(len(numbers) / elapsed, 1),
        "guatu_seconds": round(elapsed, 2),
        "deliveries": counts,
        "accepted_at_fake": stats["messages"],
        "duplicates_at_fake": sum(n - 1 for n in stats["by_to"].values() if n > 1),
        "fake_max_per_second": stats["max_per_second"],
        "fake_max_in_any_second": stats["max_in_any_second"],
        "fake_rate": round((stats["messages"] - 1) / stats["span_seconds"], 1)
        if stats["span_seconds"]
        else None,
        "worker_peak_rss_mb": round(watch.peak_bytes / 2**20, 1),
        "delivered": counts.get("delivered", 0) + counts.get("undelivered", 0),
        "callbacks_at_fake": stats["callbacks"],
    }


async def run_bench(opts: BenchOptions, report: Report) -> dict[str, Any]:
    """Run (a), (b) and (c) against one fake; returns the figures."""
    from notifier.core.redis_server import redis_url_for

    fake = FakeProcess(opts.latency_ms)
    tmp = tempfile.TemporaryDirectory(prefix="guatu-bench-")
    try:
        await fake.wait_ready()
        seed = time.time_ns()
        sample = phones(opts.naive_sample, seed=seed)
        report(f"(a) naive: synchronous twilio-python Client, {len(sample)} messages")
        naive = await asyncio.to_thread(measure_naive, fake.base_url, sample)
        await fake.reset()
        numbers = phones(opts.recipients, seed=seed + 1)
        report(f"(b) raw: asyncio blast of {len(numbers)} messages, {opts.raw_concurrency} in flight")
        raw = await measure_raw(fake.base_url, numbers, concurrency=opts.raw_concurrency)
        database_url = opts.database_url or f"sqlite+aiosqlite:///{Path(tmp.name) / 'bench.db'}"
        with redis_url_for(opts.redis_url) as redis_url:
            guatu = await measure_guatu(opts, fake, phones(opts.recipients, seed=seed + 2), report,
                                        database_url=database_url, redis_url=redis_url)  # fmt: skip
    finally:
        fake.stop()
        tmp.cleanup()
    result: dict[str, Any] = {
        "recipients": opts.recipients,
        "latency_ms": opts.latency_ms,
        "rate": opts.rate,
        "workers": opts.workers,
        "batch_size": opts.batch_size,
        "callbacks_first": opts.callbacks_first,
        "database": database_url.split(":", 1)[0],
        "naive_sample": len(sample),
        "naive_msgs_per_sec": round(naive, 1),
        "raw_msgs_per_sec": round(raw, 1),
        **guatu,
    }
    result["vs_naive"] = round(guatu["guatu_msgs_per_sec"] / naive, 2)
    result["vs_raw"] = round(guatu["guatu_msgs_per_sec"] / raw, 3)
    if opts.rate:
        # At the fake, first to last acceptance (the end-to-end figure also holds start-up and polling).
        result["achieved_rate"] = guatu["fake_rate"]
    return result
