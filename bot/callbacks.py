"""Typed callback data of the inline buttons."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData


class ReportCallback(CallbackData, prefix="rep"):
    """Start a report for a project and week (the prompt's button; notifier.reporting.prompts packs the same)."""

    project_id: int
    week: str


class StageCallback(CallbackData, prefix="stg"):
    stage: str


class ItemCallback(CallbackData, prefix="itm"):
    """Toggle a procedure item; item_id 0 means "done choosing"."""

    item_id: int


class AmountCallback(CallbackData, prefix="amt"):
    """是 / 不是 under the question about an amount typed without a unit."""

    ok: bool


class ConfirmCallback(CallbackData, prefix="cfm"):
    ok: bool


class AudienceCallback(CallbackData, prefix="aud"):
    audience: str


class AdminConfirmCallback(CallbackData, prefix="acf"):
    """Confirm (or cancel) an admin action: "broadcast" or "bulletin"."""

    action: str
    ok: bool


class DecisionCallback(CallbackData, prefix="bd"):
    """Approve (or reject) a bulletin draft (notifier/bulletins/chat_copies.py packs the same)."""

    bulletin_id: int
    approve: bool


class ReadCallback(CallbackData, prefix="rd"):
    """已阅 under a leader's copy of a sent bulletin (notifier/bulletins/chat_copies.py packs the same)."""

    bulletin_id: int
