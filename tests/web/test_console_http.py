"""The console over HTTP: the audience picker, quiet-hours deferral, the week's round and its test
send, the workbook download, the lead's form in 万元, and the front door."""

from __future__ import annotations

import html
import io
import re
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import httpx
import pytest
from arq.connections import ArqRedis
from fastapi import FastAPI
from openpyxl import load_workbook
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import (
    Bulletin,
    BulletinKind,
    BulletinState,
    Campaign,
    CampaignKind,
    CampaignState,
    LeaderLevel,
    Person,
    ProgressReport,
    Project,
    Role,
    Stage,
    Unit,
    UnitKind,
    WeekPrompt,
)
from models.db import SessionMaker
from notifier.core.settings import Settings
from notifier.numbers.weeks import week_key, week_label, week_of
from notifier.reporting.links import report_token
from notifier.sending.audiences import AudienceError, resolve_audience
from web.app import create_app
from web.audience_picker import Picks, audience_spec, describe_audience, picks_of
from web.pages import campaign_title
from web.security import hash_password
from web.wall import short_name

PASSWORD = "correct horse battery"


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, "page carries no CSRF token"
    return match.group(1)


async def _people(session: AsyncSession, *, admin_phone: str | None = "+8613900000001") -> dict[str, Person]:
    left = Unit(code="ALZQ", name="阿拉善左旗", kind=UnitKind.BANNER)
    right = Unit(code="ALYQ", name="阿拉善右旗", kind=UnitKind.BANNER)
    session.add_all([left, right])
    await session.flush()
    people = {
        "admin": Person(name="管理员", phone=admin_phone, role=Role.ADMIN, password_hash=hash_password(PASSWORD)),
        "league": Person(name="盟领导甲", phone="+8613900000011", role=Role.LEADER, level=LeaderLevel.LEAGUE),
        "banner": Person(name="旗领导乙", phone="+8613900000012", role=Role.LEADER, level=LeaderLevel.UNIT,
                         unit_id=left.id),
        "contact": Person(name="联系人丙", phone="+8613900000013", role=Role.STAFF, unit_id=right.id),
        "lead": Person(name="负责人丁", phone="+8613900000014", role=Role.LEAD, unit_id=left.id),
    }  # fmt: skip
    session.add_all(people.values())
    await session.flush()
    session.add(Project(code="P001", name="阿拉善左旗供热管网改造", unit_id=left.id or 0, year=2026,
                        stage=Stage.CONTINUING, total_investment=Decimal("100000000"),
                        annual_plan=Decimal("50000000"), ytd_base=Decimal("0"), lead_id=people["lead"].id))  # fmt: skip
    await session.commit()
    return people


async def _login(client: httpx.AsyncClient) -> None:
    page = await client.get("/admin/login")
    response = await client.post("/admin/login", data={"name": "管理员", "password": PASSWORD,
                                                       "csrf": _csrf(page.text)})  # fmt: skip
    assert response.status_code == 303


async def _form(client: httpx.AsyncClient, path: str) -> str:
    return _csrf((await client.get(path)).text)


# --- pure pieces -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "zh", "en"),
    [
        ("2026-W49", "12月第1周 11月30日–12月6日", "Dec week 1, 30 Nov–6 Dec"),
        ("2026-W48", "11月第4周 11月23日–11月29日", "Nov week 4, 23 Nov–29 Nov"),
        ("2026-W53", "12月第5周 12月28日–1月3日", "Dec week 5, 28 Dec–3 Jan"),
        ("2027-W01", "1月第1周 1月4日–1月10日", "Jan week 1, 4 Jan–10 Jan"),
        ("2025-W01", "1月第1周 12月30日–1月5日", "Jan week 1, 30 Dec–5 Jan"),
    ],
)
def test_week_label(key: str, zh: str, en: str) -> None:
    assert (week_label(key), week_label(key, "en")) == (zh, en)


@pytest.mark.parametrize(
    ("name", "unit", "short"),
    [
        ("阿拉善左旗新材料项目001", "阿拉善左旗", "新材料项目001"),
        ("阿拉善高新技供水工程项目004", "阿拉善高新技术产业开发区", "供水工程项目004"),
        ("氢能示范项目008", "盟交通运输局", "氢能示范项目008"),
        ("阿拉善盟物流园", "阿拉善左旗", "阿拉善盟物流园"),  # three shared characters are not the unit
        ("阿拉善左旗一", "阿拉善左旗", "阿拉善左旗一"),  # too little would be left
    ],
)
def test_tile_names_drop_their_unit(name: str, unit: str, short: str) -> None:
    assert short_name(name, unit) == short


def test_picks_make_a_spec_and_read_back() -> None:
    picks = Picks(groups=["all-leads", "all-leaders"], units=["ALZQ"], roles=["盟领导"],
                  phones="13800138000\n13800138001, 13800138002")  # fmt: skip
    spec = audience_spec(picks)
    assert spec == "all-leaders,all-leads,unit:ALZQ,role:盟领导,phones:13800138000,13800138001,13800138002"
    back = picks_of(spec)
    assert (back.groups, back.units, back.roles, back.phone_list()) == (
        ["all-leaders", "all-leads"], ["ALZQ"], ["盟领导"], ["13800138000", "13800138001", "13800138002"])  # fmt: skip
    words = describe_audience(spec, unit_names={"ALZQ": "阿拉善左旗"}, lang="zh")
    assert words == "全体领导、全体项目负责人、阿拉善左旗、盟领导、3 个号码"
    assert describe_audience("role:leader", unit_names={}, lang="zh") == "领导"


async def test_chinese_role_names_and_unit_names_resolve(session: AsyncSession, settings: Settings) -> None:
    people = await _people(session)

    async def names(spec: str) -> set[str]:
        return {
            r.name for r in (await resolve_audience(session, settings=settings, audience=spec)).recipients
        }

    assert await names("role:盟领导") == {people["league"].name}
    assert await names("role:旗区领导") == {people["banner"].name}
    assert await names("role:部门联系人") == {people["contact"].name}
    assert await names("role:leader") == {people["league"].name, people["banner"].name}
    assert (
        await names("unit:阿拉善左旗")
        == await names("unit:ALZQ")
        == {people["banner"].name, people["lead"].name}
    )
    with pytest.raises(AudienceError, match="未知角色"):
        await names("role:局长")


# --- the broadcast page ------------------------------------------------------------------------------


async def test_picker_previews_in_words_and_queues_the_spec(
    client: httpx.AsyncClient, session: AsyncSession, app: FastAPI
) -> None:
    await _people(session)
    await _login(client)
    data = {"csrf": await _form(client, "/admin/broadcast"), "text": "明天上午九点开会。", "roles": ["盟领导"],
            "units": ["ALYQ"], "phones": "13900000099"}  # fmt: skip
    page = await client.post("/admin/broadcast", data=data)
    assert page.status_code == 200
    assert 'id="preview-audience">阿拉善右旗、盟领导、13900000099<' in page.text
    assert 'id="preview-recipients">3<' in page.text
    response = await client.post("/admin/broadcast", data={**data, "confirm": "yes"})
    assert response.status_code == 303
    campaign = (await session.exec(select(Campaign))).one()
    assert campaign.audience == "unit:ALYQ,role:盟领导,phones:13900000099"
    shown = (await client.get(response.headers["location"])).text
    assert "阿拉善右旗、盟领导" in shown and "role:" not in shown


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({}, "请选择受众"),
        ({"units": ["NOPE"]}, "无法识别的受众选项:NOPE"),
        ({"groups": ["everyone"]}, "无法识别的受众选项:everyone"),
        ({"phones": " ".join(f"1390000{i:04d}" for i in range(201))}, "号码过多"),
    ],
)
async def test_bad_picks_are_refused_and_store_nothing(
    client: httpx.AsyncClient, session: AsyncSession, fields: dict[str, object], message: str
) -> None:
    await _people(session)
    await _login(client)
    data = {"csrf": await _form(client, "/admin/broadcast"), "text": "测试", "confirm": "yes", **fields}
    response = await client.post("/admin/broadcast", data=data)
    assert response.status_code == 422
    assert message in response.text
    assert (await session.exec(select(Campaign))).all() == []


@pytest.fixture
async def quiet_app(settings: Settings, sessionmaker: SessionMaker, redis: object) -> AsyncIterator[FastAPI]:
    """The app with quiet hours around the present moment (office time)."""
    now = datetime.now(settings.tz)
    window = f"{(now - timedelta(hours=1)):%H:%M}-{(now + timedelta(hours=2)):%H:%M}"
    application = create_app(settings.model_copy(update={"quiet_hours": window}))
    async with application.router.lifespan_context(application):
        yield application


async def test_quiet_hours_are_shown_with_the_time_it_goes(
    quiet_app: FastAPI, session: AsyncSession, settings: Settings
) -> None:
    await _people(session)
    transport = httpx.ASGITransport(app=quiet_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        await _login(client)
        data = {
            "csrf": await _form(client, "/admin/broadcast"),
            "text": "开会通知。",
            "groups": ["all-leaders"],
        }
        preview = await client.post("/admin/broadcast", data=data)
        goes = (datetime.now(settings.tz) + timedelta(hours=2)).strftime("%H:%M")
        deferred = re.search(r'id="preview-deferred">([^<]+)<', preview.text)
        assert deferred and goes in deferred.group(1) and "免打扰" in deferred.group(1)
        urgent = await client.post("/admin/broadcast", data={**data, "urgent": "true"})
        assert 'id="preview-now"' in urgent.text and "preview-deferred" not in urgent.text
        response = await client.post("/admin/broadcast", data={**data, "confirm": "yes"})
        page = (await client.get(response.headers["location"])).text
        assert re.search(r'id="deferred">[^<]*' + goes, page)
        assert goes in (await client.get("/admin/campaigns")).text


# --- the week's round, the test send, the workbook -------------------------------------------------


async def test_round_now_queues_the_calendar_job_once_per_week(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings, redis_url: str
) -> None:
    await _people(session)
    await _login(client)
    for _ in range(2):
        response = await client.post("/admin/round/now", data={"csrf": await _form(client, "/admin")})
        assert response.status_code == 303 and "round_queued" in response.headers["location"]
    queue = ArqRedis.from_url(redis_url)
    try:
        jobs = await queue.queued_jobs()
    finally:
        await queue.aclose()
    week = week_of(datetime.now(UTC), settings.tz)
    assert [(j.function, j.args) for j in jobs] == [("weekly_prompt", (week,))]
    home = (await client.get("/admin?notice=round_queued")).text
    assert 'id="round-queued"' in home and week_label(week) in home


async def test_round_now_is_refused_after_the_deadline(
    client: httpx.AsyncClient, session: AsyncSession, app: FastAPI
) -> None:
    await _people(session)
    await _login(client)
    csrf = await _form(client, "/admin")
    app.state.settings = app.state.settings.model_copy(update={"schedule_deadline": "mon 00:00"})
    response = await client.post("/admin/round/now", data={"csrf": csrf})
    assert response.status_code == 422 and "截止" in response.text
    assert (await session.exec(select(WeekPrompt))).all() == []


async def test_test_send_goes_to_the_admins_own_number_only(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    people = await _people(session)
    await _login(client)
    response = await client.post("/admin/round/test", data={"csrf": await _form(client, "/admin")})
    assert response.status_code == 303
    campaign = (await session.exec(select(Campaign))).one()
    assert campaign.audience == f"phones:{people['admin'].phone}"
    assert campaign.recipients == 1 and campaign.text.startswith("【测试】")


async def test_test_send_without_a_number_says_so(client: httpx.AsyncClient, session: AsyncSession) -> None:
    await _people(session, admin_phone=None)
    await _login(client)
    response = await client.post("/admin/round/test", data={"csrf": await _form(client, "/admin")})
    assert response.status_code == 422 and "没有手机号" in response.text
    assert (await session.exec(select(Campaign))).all() == []


async def test_workbook_download(client: httpx.AsyncClient, session: AsyncSession) -> None:
    await _people(session)
    await _login(client)
    response = await client.get("/admin/workbook?month=2026-10")
    assert response.status_code == 200
    assert 'filename="guatu-2026-10.xlsx"' in response.headers["content-disposition"]
    sheet = load_workbook(io.BytesIO(response.content))["项目明细"]
    assert "2026年10月" in str(sheet["A1"].value) and "截至2026年10月31日" in str(sheet["A2"].value)
    assert sheet.freeze_panes == "A5"
    assert [c.value for c in sheet[5]][:3] == ["P001", "阿拉善左旗供热管网改造", "阿拉善左旗"]
    assert sheet.cell(row=6, column=1).value == "合计"


@pytest.mark.parametrize(
    ("month", "message"), [("2026-13", "无法识别"), ("next", "无法识别"), ("2099-01", "尚未开始")]
)
async def test_workbook_bad_month(
    client: httpx.AsyncClient, session: AsyncSession, month: str, message: str
) -> None:
    await _people(session)
    await _login(client)
    response = await client.get(f"/admin/workbook?month={month}")
    assert response.status_code == 400 and message in response.text


# --- the lead's form ------------------------------------------------------------------------------


async def _link(session: AsyncSession, settings: Settings, *, days: int) -> tuple[str, str]:
    project = (await session.exec(select(Project))).one()
    week = week_key(datetime.now(settings.tz).date() + timedelta(days=days))
    return (
        f"/r/{report_token(settings, person_id=project.lead_id or 0, project_id=project.id or 0, week=week)}",
        week,
    )


@pytest.mark.parametrize(
    ("typed", "asked", "stored"),
    [("300", False, "3000000"), ("3千万", True, "30000000"), ("约500万", True, "5000000"), ("无", False, "0"),
     ("0.2亿", False, "20000000")],
)  # fmt: skip
async def test_form_reads_amounts_in_wan(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings, typed: str, asked: bool, stored: str
) -> None:
    await _people(session)
    link, _ = await _link(session, settings, days=7)
    data = {"csrf": await _form(client, link), "stage": "continuing", "investment": typed}
    response = await client.post(link, data=data)
    assert ('id="confirm-amount"' in response.text) is asked
    if asked:
        assert (await session.exec(select(ProgressReport))).all() == []
        response = await client.post(link, data={**data, "confirmed": typed})
    assert 'id="saved"' in response.text
    report = (await session.exec(select(ProgressReport))).one()
    assert report.investment == Decimal(stored)


async def test_a_changed_amount_is_asked_again(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    await _people(session)
    link, _ = await _link(session, settings, days=7)
    data = {
        "csrf": await _form(client, link),
        "stage": "continuing",
        "investment": "约600万",
        "confirmed": "约500万",
    }
    response = await client.post(link, data=data)
    assert 'id="confirm-amount"' in response.text and "600万元" in response.text
    assert (await session.exec(select(ProgressReport))).all() == []


async def test_form_shows_dates_deadline_and_the_report_to_correct(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    await _people(session)
    link, week = await _link(session, settings, days=7)
    page = (await client.get(link)).text
    assert week_label(week) in page and week not in page
    assert 'inputmode="decimal"' not in page and 'id="unit">万元<' in page
    assert "UTC" not in page
    data = {"csrf": _csrf(page), "stage": "continuing", "investment": "250", "blockers": "等待环评"}
    done = (await client.post(link, data=data)).text
    assert 'id="echo-amount">250万元<' in done and "等待环评" in done
    again = (await client.get(link)).text
    assert 'value="250"' in again and "等待环评" in again and 'id="current"' in again


async def test_expired_link_says_when_and_whom_to_call(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    await _people(session)
    link, week = await _link(session, settings, days=-14)
    response = await client.get(link)
    assert response.status_code == 403
    assert week_label(week) in response.text and settings.office_contact in response.text
    posted = await client.post(link, data={"stage": "continuing", "investment": "300"})
    assert posted.status_code == 403 and settings.office_contact in posted.text
    assert (await session.exec(select(ProgressReport))).all() == []


# --- the front door and the labels ----------------------------------------------------------------


async def test_front_door_is_the_wall(client: httpx.AsyncClient) -> None:
    response = await client.get("/")
    assert response.status_code == 303 and response.headers["location"] == "/wall"


async def test_console_shows_office_time_and_no_raw_values(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    await _people(session)
    await _login(client)
    data = {
        "csrf": await _form(client, "/admin/broadcast"),
        "text": "通知。",
        "units": ["ALZQ"],
        "confirm": "yes",
    }
    await client.post("/admin/broadcast", data=data)
    campaign = (await session.exec(select(Campaign))).one()
    local = campaign.created_at.astimezone(settings.tz).strftime("%Y-%m-%d %H:%M")
    for path in ("/admin", "/admin/campaigns", f"/admin/campaigns/{campaign.id}"):
        text = (await client.get(path)).text
        assert local in text, path
        assert "unit:ALZQ" not in text and ">broadcast<" not in text, path


@pytest.mark.parametrize(
    ("stored", "zh"),
    [
        ("prompt 2026-W49", "报送提醒 12月第1周 11月30日–12月6日"),
        ("monthly 2026-11", "月报告 2026年11月"),
        ("deadline 2026-W49 contact", "截止催报 12月第1周 11月30日–12月6日 · 致部门联系人"),
        ("今天下午开会", "今天下午开会"),
    ],
)
def test_campaign_titles_read_as_words(stored: str, zh: str) -> None:
    assert campaign_title(stored, "zh") == zh


async def test_archive_shows_a_held_bulletin_with_the_time_it_goes(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    await _people(session)
    goes = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=5)
    bulletin = Bulletin(kind=BulletinKind.WEEKLY, as_of=date(2026, 11, 20), period_key="2026-W46",
                        state=BulletinState.SENT, numbers_json="{}", sms_text="周通报", html="")  # fmt: skip
    session.add(bulletin)
    await session.flush()
    session.add(Campaign(kind=CampaignKind.BULLETIN, text="周通报", audience="all-leaders", state=CampaignState.QUEUED,
                         bulletin_id=bulletin.id, not_before=goes, title="weekly 2026-W46"))  # fmt: skip
    await session.commit()
    await _login(client)
    page = (await client.get("/admin/bulletins/archive")).text
    local = goes.astimezone(settings.tz).strftime("%Y-%m-%d %H:%M")
    assert f"免打扰时段暂缓,{local} 发出" in page
    assert week_label("2026-W46") in page and "2026-W46" not in page.replace('"2026-W46"', "")


async def test_console_in_english(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    await _people(session)
    await _login(client)
    home = html.unescape((await client.get("/admin?lang=en")).text)
    assert "This week's reports" in home and "Send this week's round now" in home and "本周报送" not in home
    projects = (await client.get("/admin/projects?lang=en")).text
    assert "Annual plan" in projects and "million yuan" in projects
    broadcast = (await client.get("/admin/broadcast?lang=en")).text
    assert "all leaders" in broadcast and "全体领导" not in broadcast
    link, week = await _link(session, settings, days=7)
    form = (await client.get(link + "?lang=en")).text
    assert week_label(week, "en") in form and "10k yuan" in form
