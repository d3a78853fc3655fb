"""Routers per feature; `build_routers()` makes fresh ones (a Router attaches to one Dispatcher only)."""

from __future__ import annotations

from aiogram import Router


def build_routers() -> list[Router]:
    """Fresh routers in dispatch order: binding, admin (then the refusal for non-admins), report, lead
    and leader commands, and the fallback."""
    from bot.routers import admin, binding, fallback, governance, lead, leader, report

    return [binding.router(), governance.router(), admin.router(), admin.refusal_router(), report.router(),
            leader.router(), lead.router(), fallback.router()]  # fmt: skip
