"""arq jobs of the weekly round in Telegram (the calendar crons call these with the week)."""

from __future__ import annotations

import logging
from typing import Any

from models.base import utcnow
from notifier.core.settings import Settings
from notifier.reporting import prompts

log = logging.getLogger("guatu.jobs.bot")


async def weekly_prompt(ctx: dict[str, Any], week: str) -> str:
    """Send the week's prompt to every lead (once per project)."""
    settings: Settings = ctx["settings"]
    async with ctx["sessionmaker"]() as session:
        result = await prompts.send_weekly_prompts(session, settings=settings, chat=ctx["chat"], week=week,
                                                   now=utcnow(), redis=ctx["redis"])  # fmt: skip
    log.info("weekly prompt %s: %s", week, result)
    return str(result)


async def remind_leads(ctx: dict[str, Any], week: str) -> str:
    """Remind leads who have not reported for the week."""
    settings: Settings = ctx["settings"]
    async with ctx["sessionmaker"]() as session:
        result = await prompts.remind_leads(
            session, settings=settings, chat=ctx["chat"], week=week, now=utcnow(), redis=ctx["redis"]
        )
    log.info("reminder %s: %s", week, result)
    return str(result)


async def deadline_round(ctx: dict[str, Any], week: str) -> str:
    """SMS to leads still missing at the deadline and a notice to department contacts."""
    settings: Settings = ctx["settings"]
    async with ctx["sessionmaker"]() as session:
        result = await prompts.deadline_round(
            session, ctx["redis"], settings=settings, chat=ctx["chat"], week=week
        )
    log.info("deadline round %s: %s", week, result)
    return str(result)


FUNCTIONS = [weekly_prompt, remind_leads, deadline_round]
