"""HTTP tests of the wall, the admin console, the signed report form, /healthz and /metrics."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Person, ProgressReport, Project, Role, Stage, Unit, UnitKind
from notifier.core.settings import Settings
from notifier.numbers.weeks import week_label
from notifier.reporting.links import LinkError, read_report_token, report_link, report_token, wall_token
from web.app import create_app
from web.security import hash_password
from web.throttle import MAX_NAME_FAILURES

PASSWORD = "correct horse battery"
EVIL = "<script>alert(1)</script>"


async def _admin(session: AsyncSession) -> Person:
    admin = Person(
        name="管理员", phone="+8613900000001", role=Role.ADMIN, password_hash=hash_password(PASSWORD)
    )
    session.add(admin)
    await session.commit()
    return admin


async def _project(session: AsyncSession, *, name: str = "供热管网改造") -> tuple[Person, Project]:
    unit = Unit(code="U1", name="阿拉善左旗", kind=UnitKind.BANNER)
    lead = Person(name="李四", phone="+8613900000002", role=Role.LEAD)
    session.add_all([unit, lead])
    await session.flush()
    project = Project(code="P001", name=name, unit_id=unit.id or 0, year=2026, stage=Stage.CONTINUING,
                      total_investment=Decimal("100000000"), annual_plan=Decimal("50000000"),
                      ytd_base=Decimal("0"), lead_id=lead.id)  # fmt: skip
    session.add(project)
    await session.commit()
    return lead, project


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, "page carries no CSRF token"
    return match.group(1)


async def _login(client: httpx.AsyncClient, password: str = PASSWORD) -> httpx.Response:
    page = await client.get("/admin/login")
    return await client.post(
        "/admin/login", data={"name": "管理员", "password": password, "csrf": _csrf(page.text)}
    )


async def test_visitors_see_nothing(client: httpx.AsyncClient, session: AsyncSession) -> None:
    await _project(session, name=EVIL)
    for path in ("/admin", "/admin/projects", "/admin/campaigns", "/wall", "/admin/broadcast"):
        response = await client.get(path)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/admin/login")
        assert "alert(1)" not in response.text


async def test_login_and_escaped_project_name(client: httpx.AsyncClient, session: AsyncSession) -> None:
    await _admin(session)
    await _project(session, name=EVIL)
    assert (await _login(client)).status_code == 303
    for path in ("/admin/projects", "/wall?as_of=2026-11-20"):
        page = await client.get(path)
        assert page.status_code == 200, path
        assert EVIL not in page.text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text


async def test_wrong_passwords_are_throttled(client: httpx.AsyncClient, session: AsyncSession) -> None:
    await _admin(session)
    for _ in range(MAX_NAME_FAILURES):
        assert (await _login(client, "wrong")).status_code == 401
    # Now even the right password is refused for a while.
    assert (await _login(client)).status_code == 429


async def test_form_without_csrf_is_refused(client: httpx.AsyncClient, session: AsyncSession) -> None:
    await _admin(session)
    await client.get("/admin/login")
    response = await client.post(
        "/admin/login", data={"name": "管理员", "password": PASSWORD, "csrf": "forged"}
    )
    assert response.status_code == 403
    assert "guatu_session" not in response.cookies


async def test_wall_link_and_revocation(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    await _admin(session)
    await _project(session)
    await _login(client)
    page = await client.get("/admin/wall-links")
    await client.post("/admin/wall-links", data={"csrf": _csrf(page.text), "label": "大屏"})
    page = await client.get("/admin/wall-links")
    link = re.search(r'href="(/wall\?k=[^"]+)"', page.text)
    assert link
    visitor = httpx.AsyncClient(transport=client._transport, base_url="http://test")  # no cookies
    assert (await visitor.get(link.group(1))).status_code == 200
    assert (await visitor.get(link.group(1) + "x")).status_code == 403
    assert (await visitor.get(f"/wall?k={wall_token(settings, link_id=99, version=1)}")).status_code == 403
    await client.post("/admin/wall-links/1/revoke", data={"csrf": _csrf(page.text)})
    assert (await visitor.get(link.group(1))).status_code == 403
    await visitor.aclose()


async def test_wall_json_matches_compute_numbers(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    from notifier.demo.sample import load_sample
    from notifier.numbers.rates import compute_numbers

    as_of = date(2026, 11, 20)
    await load_sample(session, as_of=as_of)
    await session.commit()
    await _admin(session)
    await _login(client)
    data = (await client.get("/wall?format=json&as_of=2026-11-20")).json()
    assert data == (await compute_numbers(session, settings=settings, as_of=as_of)).to_json()
    page = await client.get("/wall?as_of=2026-11-20")
    assert page.text.count('class="tile ') >= data["overall"]["projects"]


@pytest.mark.parametrize("tamper", ["forged", "tampered", "expired", "other-lead"])
async def test_bad_report_links_get_403_and_store_nothing(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings, tamper: str
) -> None:
    lead, project = await _project(session)
    week = "2026-W48"
    token = report_token(settings, person_id=lead.id or 0, project_id=project.id or 0, week=week)
    if tamper == "forged":
        forged = settings.model_copy(update={"secret_key": None})
        token = report_token(forged, person_id=lead.id or 0, project_id=project.id or 0, week=week)
    elif tamper == "tampered":
        token = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    elif tamper == "expired":
        token = report_token(settings, person_id=lead.id or 0, project_id=project.id or 0, week="2020-W01")
    else:
        token = report_token(settings, person_id=(lead.id or 0) + 100, project_id=project.id or 0, week=week)
    assert (await client.get(f"/r/{token}")).status_code == 403
    response = await client.post(f"/r/{token}", data={"stage": "continuing", "investment": "300万"})
    assert response.status_code == 403
    assert (await session.exec(select(ProgressReport))).all() == []


def test_report_link_round_trip(settings: Settings) -> None:
    link = report_link(settings, person_id=3, project_id=7, week="2026-W48")
    claim = read_report_token(settings, link.rsplit("/", 1)[1], now=datetime(2026, 11, 23, tzinfo=UTC))
    assert (claim.person_id, claim.project_id, claim.week) == (3, 7, "2026-W48")
    with pytest.raises(LinkError):
        read_report_token(settings, link.rsplit("/", 1)[1], now=claim.expires_at + timedelta(seconds=1))


async def test_report_form_rejects_bad_amount(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    lead, project = await _project(session)
    week = _open_week(settings)
    token = report_token(settings, person_id=lead.id or 0, project_id=project.id or 0, week=week)
    page = await client.get(f"/r/{token}")
    assert page.status_code == 200
    response = await client.post(f"/r/{token}", data={"csrf": _csrf(page.text), "stage": "continuing",
                                                      "investment": "-5万"})  # fmt: skip
    assert response.status_code == 422
    assert (await session.exec(select(ProgressReport))).all() == []


async def test_report_form_stores_a_web_report_and_escapes(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    lead, project = await _project(session, name=EVIL)
    week = _open_week(settings)
    token = report_token(settings, person_id=lead.id or 0, project_id=project.id or 0, week=week)
    page = await client.get(f"/r/{token}")
    assert EVIL not in page.text and "&lt;script&gt;" in page.text
    response = await client.post(f"/r/{token}", data={"csrf": _csrf(page.text), "stage": "continuing",
                                                      "investment": "3000万", "blockers": EVIL})  # fmt: skip
    assert response.status_code == 200, response.text
    assert EVIL not in response.text
    report = (await session.exec(select(ProgressReport))).one()
    assert (report.week, report.investment, report.channel, report.blockers) == (
        week, Decimal("30000000"), "web", EVIL)  # fmt: skip


def _open_week(settings: Settings) -> str:
    from notifier.numbers.weeks import week_key

    return week_key(datetime.now(settings.tz).date() + timedelta(days=7))


async def test_healthz(client: httpx.AsyncClient, app: FastAPI) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["failing"] == []
    app.state.redis = None
    response = await client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["failing"] == ["redis"]


async def test_healthz_names_a_dead_database(client: httpx.AsyncClient, app: FastAPI) -> None:
    from models.db import create_engine, create_sessionmaker

    dead = create_engine("postgresql+asyncpg://postgres@127.0.0.1:1/none")
    app.state.sessionmaker = create_sessionmaker(dead)
    response = await client.get("/healthz")
    await dead.dispose()
    assert response.status_code == 503
    assert response.json()["failing"] == ["database"]


async def test_wall_in_english(client: httpx.AsyncClient, session: AsyncSession) -> None:
    await _admin(session)
    await _project(session)
    await _login(client)
    assert "Start rate" in (await client.get("/wall?lang=en")).text
    assert "开复工率" in (await client.get("/wall")).text


def test_unset_secret_key_is_announced(settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    create_app(settings.model_copy(update={"secret_key": None}))
    assert "SECRET_KEY is not set" in capsys.readouterr().out
    create_app(settings)
    assert capsys.readouterr().out == ""


async def test_metrics(client: httpx.AsyncClient) -> None:
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert 'guatu_deliveries{state="delivered"} 0.0' in response.text
    assert "guatu_bot_updates_total 0.0" in response.text


async def test_metrics_count_bot_updates_and_deliveries(
    client: httpx.AsyncClient, session: AsyncSession, redis: object
) -> None:
    from models import Campaign, CampaignKind, Delivery, DeliveryState
    from notifier.core.metrics import count_bot_update

    for _ in range(3):
        await count_bot_update(redis)
    campaign = Campaign(kind=CampaignKind.BROADCAST, text="x", audience="all-leads")
    session.add(campaign)
    await session.flush()
    session.add_all([Delivery(campaign_id=campaign.id or 0, phone=f"+861390000000{i}", body="x",
                              state=DeliveryState.DELIVERED if i < 2 else DeliveryState.FAILED) for i in range(3)])  # fmt: skip
    await session.commit()
    text = (await client.get("/metrics")).text
    assert "guatu_bot_updates_total 3.0" in text
    assert 'guatu_deliveries{state="delivered"} 2.0' in text
    assert 'guatu_deliveries{state="failed"} 1.0' in text


async def test_pages_do_not_leak_link_tokens(client: httpx.AsyncClient) -> None:
    response = await client.get("/admin/login")
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-frame-options"] == "DENY"


UNITS_CSV = "code,name,kind\nALS,阿拉善左旗,banner\nEJN,额济纳旗,banner\n".encode()


async def test_import_dry_run_then_confirm(client: httpx.AsyncClient, session: AsyncSession) -> None:
    await _admin(session)
    await _login(client)
    csrf = _csrf((await client.get("/admin/import")).text)
    checked = await client.post("/admin/import", data={"csrf": csrf, "kind": "units"},
                                files={"upload": ("units.csv", UNITS_CSV, "text/csv")})  # fmt: skip
    assert checked.status_code == 200, checked.text
    assert (await session.exec(select(Unit))).all() == []  # a dry run writes nothing
    token = re.search(r'name="token" value="([^"]+)"', checked.text)
    assert token
    done = await client.post("/admin/import", data={"csrf": csrf, "kind": "units", "token": token.group(1)})
    assert 'id="import-done"' in done.text
    assert sorted(u.code for u in (await session.exec(select(Unit))).all()) == ["ALS", "EJN"]


@pytest.mark.parametrize(
    ("name", "content", "message", "status"),
    [
        ("photo.png", b"\x89PNG\r\n", "只能上传 .xlsx 或 .csv", 422),
        ("units.xlsx", b"this is not a zip file", "不是电子表格:units.xlsx", 422),
        ("huge.csv", b"code,name,kind\n" + b"A,B,banner\n" * 200_000, "文件太大", 413),
        ("units.csv", "code,name,kind\nALS,左旗,<script>alert(1)</script>\n".encode(), "&lt;script&gt;", 422),
    ],
)
async def test_import_refuses_bad_files(
    client: httpx.AsyncClient,
    session: AsyncSession,
    app: FastAPI,
    name: str,
    content: bytes,
    message: str,
    status: int,
) -> None:
    app.state.settings = app.state.settings.model_copy(update={"import_max_bytes": 1024 * 1024})
    await _admin(session)
    await _login(client)
    csrf = _csrf((await client.get("/admin/import")).text)
    response = await client.post("/admin/import", data={"csrf": csrf, "kind": "units"},
                                 files={"upload": (name, content, "application/octet-stream")})  # fmt: skip
    assert response.status_code == status
    assert message in response.text
    assert EVIL not in response.text
    assert (await session.exec(select(Unit))).all() == []
    assert app.state.upload_dir is None or list(app.state.upload_dir.iterdir()) == []  # nothing refused stays


async def test_broadcast_fields_are_validated(client: httpx.AsyncClient, session: AsyncSession) -> None:
    await _admin(session)
    await _login(client)
    csrf = _csrf((await client.get("/admin/broadcast")).text)
    empty = await client.post("/admin/broadcast", data={"csrf": csrf, "text": " ", "audience": ""})
    assert empty.status_code == 422
    unknown = await client.post(
        "/admin/broadcast", data={"csrf": csrf, "text": "通知", "audience": "everyone"}
    )
    assert unknown.status_code == 422 and "everyone" in unknown.text
    too_long = await client.post(
        "/admin/broadcast", data={"csrf": csrf, "text": "长" * 2000, "audience": "all-leads"}
    )
    assert too_long.status_code == 422
    from models import Campaign

    assert (await session.exec(select(Campaign))).all() == []


async def test_bulletin_draft_approve_send(client: httpx.AsyncClient, session: AsyncSession) -> None:
    from models import Bulletin, Campaign
    from notifier.demo.sample import load_sample

    await load_sample(session, as_of=date(2026, 11, 23))
    await session.commit()
    await _admin(session)
    await _login(client)
    page = await client.get("/admin/bulletins?kind=weekly&as_of=2026-11-23")
    assert page.status_code == 200 and "开复工率" in page.text
    csrf = _csrf(page.text)
    drafted = await client.post(
        "/admin/bulletins/draft", data={"csrf": csrf, "kind": "weekly", "as_of": "2026-11-23"}
    )
    assert drafted.status_code == 303
    url = drafted.headers["location"]
    assert (await client.post(f"{url}/send", data={"csrf": csrf})).status_code == 422  # not approved yet
    assert (await session.exec(select(Campaign))).all() == []
    assert (await client.post(f"{url}/approve", data={"csrf": csrf})).status_code == 303
    assert (await client.post(f"{url}/reject", data={"csrf": csrf})).status_code == 422  # already approved
    sent = await client.post(f"{url}/send", data={"csrf": csrf})
    assert sent.status_code == 303 and sent.headers["location"].startswith("/admin/campaigns/")
    [campaign] = (await session.exec(select(Campaign))).all()
    assert campaign.kind == "bulletin" and campaign.recipients > 0
    [bulletin] = (await session.exec(select(Bulletin))).all()
    await session.refresh(bulletin)
    assert bulletin.state == "sent"


async def test_campaign_pause_and_cancel(client: httpx.AsyncClient, session: AsyncSession) -> None:
    from models import Campaign, CampaignKind, CampaignState

    await _admin(session)
    campaign = Campaign(
        kind=CampaignKind.BROADCAST, text="x", audience="all-leads", state=CampaignState.QUEUED
    )
    session.add(campaign)
    await session.commit()
    await _login(client)
    page = await client.get(f"/admin/campaigns/{campaign.id}")
    csrf = _csrf(page.text)
    assert (
        await client.post(f"/admin/campaigns/{campaign.id}/resume", data={"csrf": csrf})
    ).status_code == 422
    assert (
        await client.post(f"/admin/campaigns/{campaign.id}/pause", data={"csrf": csrf})
    ).status_code == 303
    assert (
        await client.post(f"/admin/campaigns/{campaign.id}/cancel", data={"csrf": "x"})
    ).status_code == 403
    assert (
        await client.post(f"/admin/campaigns/{campaign.id}/cancel", data={"csrf": csrf})
    ).status_code == 303
    status = (await client.get(f"/admin/campaigns/{campaign.id}/status")).json()
    assert status["state"] == "cancelled"


async def test_project_filters_and_page(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    from models import Channel, Milestone
    from notifier.reporting.reports import submit_report

    await _admin(session)
    lead, project = await _project(session)
    other = Project(code="P002", name="物流园区", unit_id=project.unit_id, year=2026, stage=Stage.PREPARATORY,
                    total_investment=Decimal("1000"), annual_plan=Decimal("1000"), ytd_base=Decimal("0"))  # fmt: skip
    session.add_all(
        [other, Milestone(project_id=project.id or 0, title="主体封顶", due_date=date(2026, 12, 1))]
    )
    await session.commit()
    week = _open_week(settings)
    for amount in ("100万", "200万"):  # a resubmission replaces the report and keeps the first as history
        await submit_report(session, settings=settings, project_id=project.id or 0, reporter_id=lead.id, week=week,
                            stage=Stage.CONTINUING, investment=Decimal(amount.removesuffix("万")) * 10_000,
                            procedure_item_ids=[], blockers="征地未完成", channel=Channel.WEB,
                            now=datetime.now(UTC))  # fmt: skip
    await _login(client)
    assert "物流园区" in (await client.get("/admin/projects?stage=preparatory")).text
    assert "物流园区" not in (await client.get("/admin/projects?stage=continuing")).text
    assert "物流园区" not in (await client.get("/admin/projects?q=供热")).text
    assert "物流园区" not in (await client.get("/admin/projects?unit=NOPE")).text
    page = (await client.get(f"/admin/projects/{project.id}")).text
    # Both versions, the week shown as its dates; the current one marked, amounts in 万元.
    assert page.count(week_label(week)) == 2 and "征地未完成" in page and "主体封顶" in page
    assert page.count('data-current="yes"') == 1 and "200.00万元" in page and "100.00万元" in page
    assert (await client.get("/admin/projects/99999")).status_code == 404


@pytest.mark.parametrize(
    ("nxt", "expected"),
    [
        ("/admin/campaigns", "/admin/campaigns"),
        ("//evil.example", "/admin"),
        ("/\\evil.example", "/admin"),
        ("https://evil.example", "/admin"),
        ("/wall", "/wall"),
    ],  # fmt: skip
)
async def test_login_redirects_only_to_local_pages(
    client: httpx.AsyncClient, session: AsyncSession, nxt: str, expected: str
) -> None:
    await _admin(session)
    page = await client.get("/admin/login")
    response = await client.post("/admin/login", data={"name": "管理员", "password": PASSWORD,
                                                       "csrf": _csrf(page.text), "next": nxt})  # fmt: skip
    assert response.headers["location"] == expected


async def test_campaign_page_lists_each_recipient_with_code_meaning_and_filter(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    from datetime import timedelta
    from decimal import Decimal

    from models import Campaign, CampaignKind, CampaignState, Delivery, DeliveryState, utcnow

    await _admin(session)
    campaign = Campaign(kind=CampaignKind.BROADCAST, text="x", audience="all-leads", state=CampaignState.DONE,
                        finished_at=utcnow() - timedelta(minutes=1), notice="请核实 isv.SOMETHING_NEW")  # fmt: skip
    session.add(campaign)
    await session.commit()
    session.add_all([
        Delivery(campaign_id=campaign.id or 0, phone="+8613904830001", body="x", state=DeliveryState.DELIVERED,
                 provider="twilio", provider_sid="SM1", price=Decimal("-0.04"), price_unit="USD"),
        Delivery(campaign_id=campaign.id or 0, phone="+8613904830002", body="x", state=DeliveryState.UNDELIVERED,
                 provider="twilio", provider_code="30003", error_code=30003),
        Delivery(campaign_id=campaign.id or 0, phone="+8613904830003", body="x", state=DeliveryState.SENT,
                 provider="twilio", provider_sid="SM3"),
    ])  # fmt: skip
    await session.commit()
    await _login(client)
    page = await client.get(f"/admin/campaigns/{campaign.id}")
    assert page.status_code == 200
    assert "+8613904830002" in page.text and "30003" in page.text and "收件手机无法接通" in page.text
    assert "-0.04 USD" in page.text and "isv.SOMETHING_NEW" in page.text
    assert 'id="settling" hidden' not in page.text  # one is still `sent`: the page keeps counting
    only = await client.get(f"/admin/campaigns/{campaign.id}", params={"state": "undelivered"})
    assert "+8613904830002" in only.text and "+8613904830001" not in only.text
    bad = await client.get(f"/admin/campaigns/{campaign.id}", params={"state": "lost"})
    assert bad.status_code == 422 and "未知的状态" in bad.text
    status = (await client.get(f"/admin/campaigns/{campaign.id}/status")).json()
    assert status["state"] == "done" and status["settling"] is True
