"""The FastAPI application: webhooks, the wall, the admin console, the leads' form, health and metrics.

Routers are added in `ROUTER_MODULES` order; each module exports `router` (an APIRouter).
"""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from models.db import create_engine, create_sessionmaker
from notifier.core.settings import Settings
from web.pages import install_pages, open_redis
from web.wecom import open_wecom

# Each entry is a module exporting `router`.
ROUTER_MODULES: list[str] = [
    "web.webhooks",
    "web.telegram",
    "web.wecom",
    "web.ops",
    "web.wall",
    "web.admin",
    "web.uploads",
    "web.bulletin_pages",
    "web.receipts",
    "web.optouts",
    "web.report_form",
]


def create_app(settings: Settings) -> FastAPI:
    """Build the app for `settings`; the engine is opened and disposed with the app's lifespan."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(settings.database_url)
        app.state.engine = engine
        app.state.sessionmaker = create_sessionmaker(engine)
        app.state.redis = open_redis(settings)
        if getattr(app.state, "wecom", None) is None:
            app.state.wecom = open_wecom(settings, app.state.redis)
        try:
            yield
        finally:
            if app.state.wecom is not None:
                await app.state.wecom.aclose()
            if app.state.redis is not None:
                await app.state.redis.aclose()
            await engine.dispose()

    app = FastAPI(title="Guatu 挂图作战", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.settings = settings
    app.state.redis = None
    install_pages(app, settings)
    for name in ROUTER_MODULES:
        app.include_router(importlib.import_module(name).router)
    return app
