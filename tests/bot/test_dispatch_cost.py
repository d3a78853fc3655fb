"""Every filter and handler the bot registers is a coroutine.

aiogram runs a plain function (a bare `State`, an `F` magic filter, a sync handler) in a worker
thread on every check, so one of them costs a thread hop for each update that reaches it.
"""

from __future__ import annotations

from aiogram import Dispatcher, F, Router
from aiogram.dispatcher.event.handler import CallableObject

from bot.routers import build_routers
from bot.states import ReportForm


def sync_callables(routers: list[Router]) -> list[str]:
    found: list[str] = []

    def check(where: str, obj: CallableObject) -> None:
        if not obj.awaitable:
            found.append(f"{where}: {obj.callback!r}")

    for router in routers:
        for name, observer in router.observers.items():
            for f in observer._handler.filters or []:
                check(f"{router.name}.{name} (router filter)", f)
            for handler in observer.handlers:
                check(f"{router.name}.{name} handler", handler)
                for f in handler.filters or []:
                    check(f"{router.name}.{name} {handler.callback.__name__}", f)
    return found


def test_every_filter_and_handler_is_a_coroutine() -> None:
    routers = build_routers()
    Dispatcher().include_routers(*routers)
    assert sync_callables(routers) == []


def test_the_check_finds_a_bare_state_and_a_magic_filter() -> None:
    r = Router(name="probe")

    @r.message(ReportForm.stage, F.text)
    async def handler() -> None: ...

    found = sync_callables([r])
    assert len(found) == 2 and all("probe.message handler" in f for f in found)
