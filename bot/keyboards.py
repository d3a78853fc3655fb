"""Inline keyboards, built from texts in notifier/texts/bot.py.

The fixed ones (stages, confirm) are built once per language: a keyboard is only read when a
message is sent, never changed."""

from __future__ import annotations

from functools import cache

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.callbacks import ConfirmCallback, ItemCallback, StageCallback
from models import ProcedureItem, Stage
from notifier.texts import t


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


def items(available: list[ProcedureItem], picked: set[int], lang: str) -> InlineKeyboardMarkup:
    rows = [
        [InlineKeyboardButton(text=("✅ " if item.id in picked else "") + item.name,
                              callback_data=ItemCallback(item_id=item.id or 0).pack())]
        for item in available
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
