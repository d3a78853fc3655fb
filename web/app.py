"""The FastAPI application: webhooks, the wall, the admin console, the leads' form, health and metrics.

Routers are added in `ROUTER_MODULES` order; each module exports `router` (an APIRouter).

Every request body is limited before it is parsed (413 past the limit): DEFAULT_BODY_LIMIT unless
the route says less (sign-in, webhooks, the leads' form) or more (the spreadsheet upload,
IMPORT_MAX_BYTES). A body is never read before the route knows it wants one.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from models.db import create_engine, create_sessionmaker
from notifier.core.settings import Settings
from web.guard import RequestGuard
from web.pages import install_pages, open_redis
from web.replay import Replayed, replayed_response
from web.security import PasswordCheck, SecurityHeaders, is_https
from web.throttle import Counters
from web.uploads import FORM_OVERHEAD, sweep_forever
from web.wecom import open_wecom

# Each entry is a module exporting `router`.
ROUTER_MODULES: list[str] = [
    "web.webhooks",
    "web.telegram",
    "web.wecom",
    "web.ops",
    "web.wall",
    "web.admin",
    "web.round",
    "web.project_pages",
    "web.uploads",
    "web.bulletin_pages",
    "web.receipts",
    "web.optouts",
    "web.report_form",
]
DEFAULT_BODY_LIMIT = 64 * 1024  # the admin forms: a broadcast's text and audience are the largest
UPLOAD_PATHS = ("/admin/import",)


def _body_limits(settings: Settings) -> dict[str, int]:
    """Routers whose limit depends on the settings (the others carry their own or the default)."""
    return {"web.uploads": settings.import_max_bytes + FORM_OVERHEAD}


def create_app(settings: Settings) -> FastAPI:
    """Build the app for `settings`; the engine is opened and disposed with the app's lifespan."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(settings.database_url)
        app.state.engine = engine
        app.state.sessionmaker = create_sessionmaker(engine)
        app.state.redis = open_redis(settings)
        sweeper = asyncio.create_task(sweep_forever(app.state))
        warming = asyncio.create_task(app.state.passwords.warm())
        if getattr(app.state, "wecom", None) is None:
            app.state.wecom = open_wecom(settings, app.state.redis)
        try:
            yield
        finally:
            for task in (sweeper, warming):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            app.state.passwords.close()
            if app.state.upload_dir is not None:
                shutil.rmtree(app.state.upload_dir, ignore_errors=True)
            if app.state.wecom is not None:
                await app.state.wecom.aclose()
            if app.state.redis is not None:
                await app.state.redis.aclose()
            await engine.dispose()

    app = FastAPI(
        title="Guatu 挂图作战",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json" if settings.web_openapi else None,
    )
    app.state.settings = settings
    app.state.redis = None
    app.state.upload_dir = None  # made on first upload (web.uploads.upload_dir)
    app.state.counters = Counters(app.state)
    app.state.passwords = PasswordCheck()
    install_pages(app, settings)
    app.add_exception_handler(Replayed, replayed_response)
    # Limits on the routers rather than the app: FastAPI checks an app-wide limit outside every
    # middleware, where RequestGuard could not close the connection after the 413.
    limits = _body_limits(settings)
    for name in ROUTER_MODULES:
        app.include_router(
            importlib.import_module(name).router, max_body_size=limits.get(name, DEFAULT_BODY_LIMIT)
        )
    app.add_middleware(RequestGuard, binary_paths=UPLOAD_PATHS)
    app.add_middleware(SecurityHeaders, https=is_https(settings))
    return app
