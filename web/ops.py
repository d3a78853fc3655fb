"""Operations: /healthz for load balancers and /metrics for Prometheus."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Gauge, generate_latest
from sqlalchemy import func, text
from sqlmodel import col, select

from models import Campaign, CampaignState, Delivery, DeliveryState
from notifier.core.metrics import bot_updates
from notifier.numbers.rates import report_week_for, scope_rates, week_activity
from web.pages import SessionDep, SettingsDep

router = APIRouter()


@router.get("/healthz")
async def healthz(request: Request, session: SessionDep) -> Response:
    """200 when the database and Redis both answer; 503 naming whichever does not."""
    checks: dict[str, str] = {}
    try:
        await session.exec(select(text("1")))  # type: ignore[call-overload]
        checks["database"] = "ok"
    except Exception as exc:  # any failure means "not answering"; the message says which
        checks["database"] = f"error: {type(exc).__name__}"
    redis = request.app.state.redis
    if redis is None:
        checks["redis"] = "error: REDIS_URL is not set"
    else:
        try:
            await redis.ping()
            checks["redis"] = "ok"
        except Exception as exc:
            checks["redis"] = f"error: {type(exc).__name__}"
    failing = [name for name, state in checks.items() if state != "ok"]
    body = {"status": "ok" if not failing else "unavailable", "failing": failing, **checks}
    return JSONResponse(body, status_code=503 if failing else 200)


@router.get("/metrics")
async def metrics(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    """Deliveries by state, campaign durations, bot updates and this week's reporting coverage."""
    registry = CollectorRegistry()
    deliveries = Gauge("guatu_deliveries", "Deliveries by state", ["state"], registry=registry)
    rows = (await session.exec(select(Delivery.state, func.count()).group_by(col(Delivery.state)))).all()
    counts = {str(state): int(n) for state, n in rows}
    for state in DeliveryState:
        deliveries.labels(state=state.value).set(counts.get(state.value, 0))

    durations = Gauge("guatu_campaign_duration_seconds", "Send duration of finished campaigns",
                      ["campaign", "kind"], registry=registry)  # fmt: skip
    finished = (
        await session.exec(
            select(Campaign)
            .where(Campaign.state == CampaignState.DONE, col(Campaign.finished_at).is_not(None))
            .order_by(col(Campaign.id).desc())
            .limit(50)
        )
    ).all()
    for c in finished:
        start = c.started_at or c.queued_at or c.created_at
        if c.finished_at and start:
            durations.labels(campaign=str(c.id), kind=str(c.kind)).set(
                (c.finished_at - start).total_seconds()
            )

    bot = Gauge("guatu_bot_updates_total", "Telegram updates handled by the bot", registry=registry)
    redis = request.app.state.redis
    if redis is not None:
        bot.set(await bot_updates(redis))

    as_of = datetime.now(settings.tz).date()
    week = report_week_for(as_of, settings)
    overall, _ = await scope_rates(session, as_of=as_of)
    activity = await week_activity(session, week=week, as_of=as_of)
    coverage = Gauge("guatu_reporting_coverage", "Share of the year's projects reported for the week",
                     ["week"], registry=registry)  # fmt: skip
    if overall.projects:
        coverage.labels(week=week).set(activity.reports / overall.projects)
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
