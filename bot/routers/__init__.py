"""Routers per feature; `build_routers()` makes fresh ones (a Router attaches to one Dispatcher only)."""

from __future__ import annotations

from aiogram import Router


def build_routers() -> list[Router]:
    """Fresh routers in dispatch order: the report form (its steps, never a command: the busiest
    router goes first), binding, approvals, admin (then the refusal for non-admins), leader and lead
    commands, and the fallback."""
    from bot.routers import admin, binding, fallback, governance, lead, leader, report

    return [report.router(), binding.router(), governance.router(), admin.router(), admin.refusal_router(),
            leader.router(), lead.router(), fallback.router()]  # fmt: skip
