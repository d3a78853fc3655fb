"""Inline keyboards, built from texts in notifier/texts/bot.py.

The fixed ones (stages, confirm) are built once per language: a keyboard is only read when a
message is sent, never changed."""

from __future__ import annotations

from functools import cache

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.callbacks import ConfirmCallback, ItemCallback, StageCallback
from models import Stage
from notifier.core.texts import t


@cache
def stages(lang: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=t(f"bot.stage.{s.value}", lang), callback_data=StageCallback(stage=s.value).pack()
                )
            ]
            for s in Stage
        ]
    )


def items(available: dict[int, str], picked: set[int], lang: str) -> InlineKeyboardMarkup:
    """One button per open procedure item (names by id), ticked when picked, then Done."""
    rows = [
        [InlineKeyboardButton(text=("✅ " if item_id in picked else "") + name,
                              callback_data=ItemCallback(item_id=item_id).pack())]
        for item_id, name in available.items()
    ]  # fmt: skip
    rows.append(
        [
            InlineKeyboardButton(
                text=t("bot.form.items_done", lang), callback_data=ItemCallback(item_id=0).pack()
            )
        ]
    )
    return InlineKeyboardMarkup(inline_keyboard=rows)


@cache
def confirm(lang: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[
            InlineKeyboardButton(text=t("bot.form.confirm", lang), callback_data=ConfirmCallback(ok=True).pack()),
            InlineKeyboardButton(text=t("bot.form.cancel", lang), callback_data=ConfirmCallback(ok=False).pack()),
        ]]
    )  # fmt: skip
