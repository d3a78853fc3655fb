"""Access, table-driven over what the code registers, so a new admin command or page is covered
the day it is added: every admin bot command, and every admin web route with each of its methods,
refused to a non-admin with nothing changed (only the refusal's own audit entry is written)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from aiogram.filters import Command
from fastapi import FastAPI
from sqlmodel import SQLModel, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.routers import admin as admin_router
from models import AuditLog, Person, Role
from models.db import SessionMaker
from notifier.core.settings import Settings
from tests.bot.harness import harness
from tests.notifier.bot_world import make_world
from tests.web.test_http import PASSWORD, _admin, _login
from web.app import create_app

LEAD_TG, STRANGER_TG = 111, 999
OPEN_ADMIN_PATHS = {"/admin/login", "/admin/logout"}


def admin_commands() -> list[str]:
    """The commands the admin router answers, read from its handlers' Command filters."""
    found: set[str] = set()
    for handler in admin_router.router().message.handlers:
        for flt in handler.filters or []:
            if isinstance(flt.callback, Command):
                found.update(str(c) for c in flt.callback.commands or ())
    return sorted(found)


async def _counts(sessionmaker: SessionMaker) -> dict[str, int]:
    async with sessionmaker() as s:
        return {t.name: int((await s.exec(select(func.count()).select_from(t))).one())
                for t in SQLModel.metadata.sorted_tables}  # fmt: skip


def test_every_admin_command_is_also_refused_by_name() -> None:
    # The refusal router answers the names in COMMANDS; a command missing there would fall through.
    assert admin_commands() == sorted(admin_router.COMMANDS)
    assert len(admin_commands()) >= 5


@pytest.mark.parametrize("command", admin_commands())
async def test_non_admins_are_refused_every_admin_command(
    command: str, session: AsyncSession, sessionmaker: SessionMaker, settings: Settings
) -> None:
    world = await make_world(session)
    world.lead.telegram_id = LEAD_TG
    session.add(world.lead)
    await session.commit()
    h = harness(settings, sessionmaker)
    for user, expected in ((LEAD_TG, "您没有权限使用此命令"), (STRANGER_TG, "尚未绑定")):
        before = await _counts(sessionmaker)
        answer = h.texts(await h.text(user, f"/{command} +8613904830009 1 全体"))
        assert len(answer) == 1 and expected in answer[0], (command, user, answer)
        after = await _counts(sessionmaker)
        assert after == {**before, "auditlog": before["auditlog"] + 1}, command  # only the refusal is logged
    async with sessionmaker() as s:
        refused = (await s.exec(select(AuditLog).where(AuditLog.action == f"bot.{command}"))).all()
    assert len(refused) == 2 and not any(a.allowed for a in refused)


def admin_routes(app: FastAPI) -> list[tuple[str, str]]:
    """Every (method, path) the app serves under /admin (and the wall), from its OpenAPI schema."""
    routes: list[tuple[str, str]] = []
    for template, operations in app.openapi()["paths"].items():
        protected = template.startswith("/admin") and template not in OPEN_ADMIN_PATHS
        if protected or template == "/wall":
            path = re.sub(r"\{[^}]+\}", "1", template)
            routes.extend((method.upper(), path) for method in sorted(operations))
    return routes


@pytest.fixture
async def app(settings: Settings, sessionmaker: SessionMaker, redis: object) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


async def test_every_admin_web_route_refuses_visitors_and_demoted_people(
    app: FastAPI, session: AsyncSession, sessionmaker: SessionMaker
) -> None:
    routes = admin_routes(app)
    assert (
        len(routes) >= 20 and ("POST", "/admin/broadcast") in routes and ("GET", "/admin/optouts") in routes
    )
    admin = await _admin(session)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as demoted:
        assert (await _login(demoted, PASSWORD)).status_code == 303
        admin.role = Role.LEAD  # signed in, then no longer an admin
        session.add(admin)
        await session.commit()
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test"
        ) as visitor:
            for client in (visitor, demoted):
                before = await _counts(sessionmaker)
                for method, path in routes:
                    data: dict[str, Any] = {"csrf": "x", "text": "群发", "audience": "all-leaders", "confirm": "yes",
                                            "phone": "+8613904830009", "action": "out", "label": "x"}  # fmt: skip
                    response = await client.request(method, path, data=data if method == "POST" else None)
                    assert response.status_code == 303, (method, path, response.status_code)
                    assert response.headers["location"].startswith("/admin/login"), (method, path)
                assert await _counts(sessionmaker) == before
    async with sessionmaker() as s:
        assert (await s.get(Person, admin.id)) is not None
