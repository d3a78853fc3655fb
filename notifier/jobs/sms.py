"""arq jobs of the mass-SMS engine: send a campaign, and sweep for work Redis may have lost."""

from __future__ import annotations

import time
from typing import Any

from arq import cron

from models import utcnow
from notifier.sending.campaigns import enqueue_send
from notifier.sending.deliveries import apply_all_parked
from notifier.sending.loop import Sender, campaigns_needing_work, run_campaign

# A send job refreshes this key every round; while it exists the sweeper leaves the campaign alone.
ALIVE_PREFIX = "guatu:campaign-alive:"


def alive_key(campaign_id: int) -> str:
    return f"{ALIVE_PREFIX}{campaign_id}"


def alive_ttl(sender: Sender) -> int:
    # A live job refreshes at least once per lease (a round never outlasts its claims' lease) plus
    # an idle wait; past that the job is presumed dead (SIGKILL, a lost host).
    return sender.settings.sms_lease_seconds + 5


async def send_campaign(ctx: dict[str, Any], campaign_id: int) -> int:
    """Claim and send batches of one campaign until nothing is left (several may run at once)."""
    sender: Sender = ctx["sender"]
    redis = ctx["redis"]

    async def heartbeat() -> None:
        await redis.set(alive_key(campaign_id), b"1", ex=alive_ttl(sender))

    return await run_campaign(sender, campaign_id=campaign_id, heartbeat=heartbeat)


async def sweep_campaigns(ctx: dict[str, Any]) -> int:
    """Every 15 seconds: re-queue campaigns that have work in the database and no live send job.

    If Redis lost its keys (FLUSHALL, a restart without persistence) the queued jobs are gone, and a
    worker killed mid-job leaves arq's job marked in progress for the job timeout; the deliveries
    are still in the database either way, so fresh jobs (new ids) put the work back. A duplicate
    job is harmless: claims are atomic. Returns how many campaigns were re-queued.
    """
    sender: Sender = ctx["sender"]
    redis = ctx["redis"]
    async with sender.sessionmaker() as session:
        work = await campaigns_needing_work(session)
        # Callbacks parked for a SID that has since been recorded are applied even if no send job
        # came back to it (a worker killed between writing SIDs and applying them).
        await apply_all_parked(session)
    generation = f"s{int(time.time() * 1000)}"
    requeued = 0
    for campaign_id, not_before in work:
        if await redis.exists(alive_key(campaign_id)):
            continue
        held = not_before if not_before is not None and not_before > utcnow() else None
        # A campaign held by quiet hours gets one deferred set of jobs per hold (a stable id), not a
        # new set every 15 seconds through the night.
        ids = f"h{int(held.timestamp())}" if held is not None else generation
        await enqueue_send(redis, campaign_id=campaign_id, not_before=held, generation=ids,
                           fanout=sender.settings.sms_fanout)  # fmt: skip
        requeued += 1
    return requeued


FUNCTIONS = [send_campaign, sweep_campaigns]
# Every 15 s (one indexed query): a campaign whose worker died resumes within the job's heartbeat
# (SMS_LEASE_SECONDS + 5 s) plus at most 15 s.
SWEEP_SECONDS = {5, 20, 35, 50}
CRON_JOBS = [cron(sweep_campaigns, second=SWEEP_SECONDS, run_at_startup=True, unique=True)]  # type: ignore[arg-type]
