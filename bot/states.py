"""Conversation states."""

from aiogram.fsm.state import State, StatesGroup


class ReportForm(StatesGroup):
    stage = State()
    investment = State()
    items = State()
    blockers = State()
    confirm = State()


class BroadcastForm(StatesGroup):
    audience = State()
    confirm = State()


class BulletinForm(StatesGroup):
    confirm = State()
