"""NUL bytes and out-of-range values are answered 400/404, never 500 (issue item 7), and change
nothing; in the bot, blockers holding a NUL are asked for again instead of losing the report."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlmodel import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import AdminSession, Bulletin, Person, ProgressReport, Project, Role, Stage, Unit, UnitKind
from models.db import SessionMaker
from notifier.core.settings import Settings
from notifier.numbers.weeks import week_key
from notifier.reporting.links import report_token
from tests.bot.harness import WEEK, harness
from tests.notifier.bot_world import make_world
from tests.security.conftest import SECRET_KEY, Live, csrf_of, login, make_admin

BIG_ID = 2**31  # one past PostgreSQL's integer

# (method, path, form or None): each with a NUL somewhere PostgreSQL would have choked on it.
NUL_REQUESTS: list[tuple[str, str, dict[str, str] | None]] = [
    ("GET", "/admin/projects?q=%00", None),
    ("GET", "/admin/projects?q=a%00b&unit=U1", None),
    ("GET", "/admin/projects/%00", None),
    ("POST", "/admin/login", {"name": "管理员\x00", "password": "x"}),
    ("POST", "/admin/broadcast", {"text": "通知\x00", "audience": "all-leads"}),
    ("POST", "/admin/optouts", {"phone": "+86139\x0004830001", "action": "out"}),
    ("POST", "/r/{token}", {"stage": "continuing", "investment": "300万", "blockers": "林地\x00审批"}),
]
RANGE_REQUESTS: list[tuple[str, str, int]] = [
    ("GET", f"/admin/projects/{BIG_ID}", 404),
    ("GET", f"/admin/campaigns/{10**11}", 404),
    ("GET", f"/admin/campaigns/{10**11}/status", 404),
    ("POST", f"/admin/campaigns/{BIG_ID}/pause", 404),
    ("GET", f"/admin/bulletins/{BIG_ID}", 404),
    ("POST", f"/admin/bulletins/{BIG_ID}/approve", 404),
    ("POST", f"/admin/wall-links/{BIG_ID}/revoke", 404),
    ("GET", f"/r/{BIG_ID}/1/abcdef", 404),
    ("GET", "/admin/projects/-1", 404),
    ("GET", "/admin/overdue?as_of=9999-12-31", 400),
    ("GET", "/admin/overdue?as_of=0001-01-01", 400),
    ("GET", "/admin/bulletins?as_of=9999-12-31", 400),
    ("GET", "/wall?as_of=9999-12-31", 400),
    ("GET", "/wall?as_of=not-a-date", 400),
    ("POST", "/admin/bulletins/draft", 400),  # as_of=9999-12-31 in the form
]


async def _world(session: AsyncSession, settings: Settings) -> str:
    """An admin, a project with its lead, and an open report link for the lead."""
    await make_admin(session)
    unit = Unit(code="U1", name="阿拉善左旗", kind=UnitKind.BANNER)
    lead = Person(name="李四", phone="+8613900000002", role=Role.LEAD)
    session.add_all([unit, lead])
    await session.flush()
    project = Project(code="P001", name="供热管网", unit_id=unit.id or 0, year=2026, stage=Stage.CONTINUING,
                      total_investment=Decimal("100000000"), annual_plan=Decimal("50000000"), ytd_base=Decimal("0"),
                      lead_id=lead.id)  # fmt: skip
    session.add(project)
    await session.commit()
    week = week_key(datetime.now(settings.tz).date() + timedelta(days=7))
    return report_token(
        live_settings(settings), person_id=lead.id or 0, project_id=project.id or 0, week=week
    )


def live_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"secret_key": SecretStr(SECRET_KEY)})


async def _counts(session: AsyncSession) -> dict[str, int]:
    tables: list[Any] = [ProgressReport, Bulletin, AdminSession, Person]
    return {t.__name__: (await session.exec(select(func.count()).select_from(t))).one() for t in tables}


async def _signed_in(live: Live) -> tuple[httpx.AsyncClient, str]:
    client = live.client()
    assert (await login(client)).status_code == 303
    return client, csrf_of((await client.get("/admin/broadcast")).text)


@pytest.mark.parametrize(
    ("method", "path", "form"), NUL_REQUESTS, ids=[f"{m} {p}" for m, p, _ in NUL_REQUESTS]
)
async def test_a_nul_byte_is_answered_400_and_changes_nothing(
    live: Live, session: AsyncSession, settings: Settings, method: str, path: str, form: dict[str, str] | None
) -> None:
    token = await _world(session, settings)
    client, csrf = await _signed_in(live)
    if path.startswith("/r/"):
        path = path.format(token=token)
        csrf = csrf_of((await client.get(path)).text)
    before = await _counts(session)
    answer = await client.request(method, path, data={**form, "csrf": csrf} if form is not None else None)
    assert answer.status_code == 400, answer.text[:300]
    if form is not None:  # the same form as multipart/form-data
        fields = {k: (None, v) for k, v in {**form, "csrf": csrf}.items()}
        answer = await client.request(method, path, files=fields)
        assert answer.status_code == 400, answer.text[:300]
    assert await _counts(session) == before
    await client.aclose()


@pytest.mark.parametrize(
    ("method", "path", "status"), RANGE_REQUESTS, ids=[f"{m} {p}" for m, p, _ in RANGE_REQUESTS]
)
async def test_out_of_range_values_are_answered_400_or_404(
    live: Live, session: AsyncSession, settings: Settings, method: str, path: str, status: int
) -> None:
    await _world(session, settings)
    client, csrf = await _signed_in(live)
    form = {"csrf": csrf, "kind": "weekly", "as_of": "9999-12-31"} if method == "POST" else None
    answer = await client.request(method, path, data=form)
    assert answer.status_code == status, answer.text[:300]
    assert (await session.exec(select(func.count()).select_from(Bulletin))).one() == 0
    await client.aclose()


async def test_a_blocker_holding_a_nul_is_asked_again_in_the_bot(
    session: AsyncSession, settings: Settings, sessionmaker: SessionMaker
) -> None:
    world = await make_world(session)
    world.lead.telegram_id = 111
    session.add(world.lead)
    await session.commit()
    h = harness(settings, sessionmaker)
    await h.tap(111, f"rep:{world.projects[0].id}:{WEEK}")
    await h.tap(111, "stg:new")
    await h.text(111, "3000万")
    await h.tap(111, "itm:0")
    answer = h.texts(await h.text(111, "林地\x00审批"))
    assert answer == ["这段文字含有无法保存的字符(如空字符),请重新输入。"]
    # Still at the blockers step: the next answer goes on to the summary, and the report is stored.
    assert "请核对" in h.texts(await h.text(111, "林地审批"))[0]
    assert h.texts(await h.tap(111, "cfm:1")) == ["已保存2026-W48周进展,谢谢!截止前可以重新填报覆盖。"]
    stored = (await session.exec(select(ProgressReport.blockers))).all()
    assert stored == ["林地审批"]
