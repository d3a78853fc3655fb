"""Drafts, unit previews, the previous bulletin, and release_bulletin: each leader gets their unit's copy (or the generic one) with their own 已阅 link,
once; the bulletin is frozen as sent with who it went to; corrections and other periods are campaigns
of their own; a text over budget as sent is refused and names whose copy it is."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from arq.connections import RedisSettings, create_pool
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import (
    Bulletin,
    BulletinCopy,
    BulletinKind,
    BulletinRecipient,
    BulletinState,
    Campaign,
    CampaignState,
    Delivery,
    LeaderLevel,
    Person,
    Project,
    Role,
    Stage,
    Unit,
    UnitKind,
)
from notifier.bulletins.compose import (
    OverBudgetError,
    compose_bulletin,
    draft_bulletin,
    link_reserve,
    previous_numbers,
    read_link,
    release_bulletin,
)
from notifier.bulletins.signoff import DraftContent, create_correction, create_draft
from notifier.core.errors import NotFoundError
from notifier.core.settings import Settings


@pytest.fixture
async def pool(redis: Any, redis_url: str) -> AsyncIterator[Any]:
    arq = await create_pool(RedisSettings.from_dsn(redis_url))
    yield arq
    await arq.aclose()


def _auto(settings: Settings) -> Settings:
    return settings.model_copy(update={"public_base_url": "https://guatu.alsm.gov.cn", "bulletin_approval": "auto",
                                       "sms_signature": "【阿拉善盟发改委】"})  # fmt: skip


async def _leaders(session: AsyncSession) -> dict[str, Person]:
    u1 = Unit(code="U1", name="阿拉善左旗", kind=UnitKind.BANNER)
    u2 = Unit(code="U2", name="阿拉善右旗", kind=UnitKind.BANNER)
    session.add_all([u1, u2])
    await session.flush()
    people = {
        "league": Person(name="盟领导", phone="+8613904830401", role=Role.LEADER, level=LeaderLevel.LEAGUE),
        "u1": Person(name="左旗领导", phone="+8613904830402", role=Role.LEADER, unit_id=u1.id, level=LeaderLevel.UNIT),
        "u2": Person(name="右旗领导", phone="+8613904830403", role=Role.LEADER, unit_id=u2.id, level=LeaderLevel.UNIT),
    }  # fmt: skip
    session.add_all(people.values())
    await session.commit()
    return people


async def _approved(
    session: AsyncSession, settings: Settings, copies: dict[str, str], period: str = "2026-W47"
) -> int:
    signature = settings.sms_signature
    content = DraftContent(kind=BulletinKind.WEEKLY, as_of=date(2026, 11, 22), period_key=period, numbers={},
                           sms_text=signature + copies["all"], html="",
                           copies={g: signature + text for g, text in copies.items()})  # fmt: skip
    bulletin = await create_draft(session, settings=settings, content=content, send_at=None)
    await session.commit()
    return bulletin.id or 0


async def _bodies(session: AsyncSession, campaign_id: int | None) -> dict[int, str]:
    rows = await session.exec(
        select(Delivery.person_id, Delivery.body).where(Delivery.campaign_id == campaign_id)
    )
    return {pid: body for pid, body in rows.all() if pid is not None}


async def test_each_leader_gets_their_unit_s_copy_with_their_own_link_once(
    session: AsyncSession, settings: Settings, pool: Any
) -> None:
    settings = _auto(settings)
    people = await _leaders(session)
    league, u1, u2 = people["league"], people["u1"], people["u2"]
    assert league.id and u1.id and u2.id
    bulletin_id = await _approved(session, settings, {"all": "通用稿。", "U1": "左旗稿。"})
    campaign = await release_bulletin(session, pool, settings=settings, bulletin_id=bulletin_id)
    assert (campaign.title, campaign.audience, campaign.dedupe_key, campaign.bulletin_id) == (
        "weekly 2026-W47",
        "all-leaders",
        "weekly-bulletin:2026-W47",
        bulletin_id,
    )
    assert campaign.text == "【阿拉善盟发改委】通用稿。" and campaign.state != CampaignState.DRAFT
    bodies = await _bodies(session, campaign.id)
    assert bodies == {
        league.id: "【阿拉善盟发改委】通用稿。" + read_link(settings, bulletin_id, league.id),
        u1.id: "【阿拉善盟发改委】左旗稿。" + read_link(settings, bulletin_id, u1.id),
        u2.id: "【阿拉善盟发改委】通用稿。" + read_link(settings, bulletin_id, u2.id),  # no copy of its own
    }
    bulletin = await session.get(Bulletin, bulletin_id)
    assert bulletin is not None and bulletin.state == BulletinState.SENT
    recipients = (await session.exec(
        select(BulletinRecipient.person_id, BulletinRecipient.name, BulletinRecipient.phone, BulletinRecipient.group)
        .where(BulletinRecipient.bulletin_id == bulletin_id).order_by(col(BulletinRecipient.person_id)))).all()  # fmt: skip
    assert list(recipients) == [
        (league.id, "盟领导", "+8613904830401", "all"),
        (u1.id, "左旗领导", "+8613904830402", "U1"),
        (u2.id, "右旗领导", "+8613904830403", "U2"),
    ]
    again = await release_bulletin(session, pool, settings=settings, bulletin_id=bulletin_id)
    assert again.id == campaign.id
    assert len((await session.exec(select(Delivery))).all()) == 3
    assert len((await session.exec(select(BulletinRecipient))).all()) == 3

    # Another period is a campaign of its own, with its own texts.
    other_id = await _approved(
        session, settings, {"all": "下周稿。", "U1": "左旗下周稿。"}, period="2026-W48"
    )
    other = await release_bulletin(session, pool, settings=settings, bulletin_id=other_id)
    assert other.id != campaign.id and other.dedupe_key == "weekly-bulletin:2026-W48"
    assert (await release_bulletin(session, pool, settings=settings, bulletin_id=other_id)).id == other.id
    assert (await _bodies(session, other.id))[u1.id] == "【阿拉善盟发改委】左旗下周稿。" + read_link(
        settings, other_id, u1.id
    )

    # A correction of a sent bulletin goes out under its own key.
    content = DraftContent(kind=BulletinKind.WEEKLY, as_of=date(2026, 11, 22), period_key="2026-W47", numbers={},
                           sms_text="更正稿。", html="", copies={"all": "更正稿。"})  # fmt: skip
    correction = await create_correction(session, settings=settings, original_id=bulletin_id, content=content,
                                         send_at=None)  # fmt: skip
    await session.commit()
    fixed = await release_bulletin(session, pool, settings=settings, bulletin_id=correction.id or 0)
    assert fixed.dedupe_key == f"correction:{correction.id}" and fixed.id not in (campaign.id, other.id)
    assert (await _bodies(session, fixed.id))[league.id].startswith(
        f"【阿拉善盟发改委】【更正】更正第{bulletin_id}号通报:"
    )


async def test_a_sent_bulletin_without_its_campaign_is_not_sent_twice(
    session: AsyncSession, settings: Settings, pool: Any
) -> None:
    settings = _auto(settings)
    await _leaders(session)
    bulletin_id = await _approved(session, settings, {"all": "通用稿。"})
    first = await release_bulletin(session, pool, settings=settings, bulletin_id=bulletin_id)
    second = await release_bulletin(session, pool, settings=settings, bulletin_id=bulletin_id)
    assert second.id == first.id
    assert len((await session.exec(select(Campaign))).all()) == 1


async def test_releasing_an_unknown_bulletin_is_refused(
    session: AsyncSession, settings: Settings, pool: Any
) -> None:
    with pytest.raises(NotFoundError) as caught:
        await release_bulletin(session, pool, settings=_auto(settings), bulletin_id=999)
    assert str(caught.value) == "没有编号为 999 的通报 / no bulletin 999"


@pytest.mark.parametrize(
    ("copies", "language", "message"),
    [
        ({"all": "短。", "U1": "长" * 80}, "zh", "U1 的短信按实际发送为 3 条,超过预算 2 条,未发送"),
        ({"all": "长" * 80}, "zh", "all 的短信按实际发送为 3 条,超过预算 2 条,未发送"),
        ({"all": "短。", "U1": "长" * 80}, "en", "the SMS to U1 would be 3 segments as sent, over the budget of 2; not sent"),
    ],
)  # fmt: skip
async def test_a_copy_over_budget_as_sent_is_refused_and_named(
    session: AsyncSession, settings: Settings, pool: Any, copies: dict[str, str], language: str, message: str
) -> None:
    settings = _auto(settings).model_copy(update={"sms_segment_budget": 2, "language": language})
    await _leaders(session)
    bulletin_id = await _approved(session, settings, copies)
    with pytest.raises(OverBudgetError) as caught:
        await release_bulletin(session, pool, settings=settings, bulletin_id=bulletin_id)
    assert str(caught.value) == message


# --- drafts and previews ----------------------------------------------------------------------------


async def _office(session: AsyncSession) -> dict[str, Person]:
    people = await _leaders(session)
    units = {u.code: u for u in (await session.exec(select(Unit))).all()}
    session.add(Unit(code="U3", name="额济纳旗", kind=UnitKind.BANNER))  # no projects: no copy of its own
    for code, started in (("U1", date(2026, 3, 1)), ("U2", None)):
        session.add(Project(code=f"P{code}", name=f"{code}项目", unit_id=units[code].id or 0, year=2026,
                            stage=Stage.NEW, annual_plan=Decimal(1000), ytd_base=Decimal(500),
                            planned_start=date(2026, 3, 1), actual_start=started))  # fmt: skip
    await session.commit()
    return people


async def test_a_draft_keeps_its_send_time_composer_language_and_every_copy(
    session: AsyncSession, settings: Settings
) -> None:
    people = await _office(session)
    settings = settings.model_copy(update={"language": "en", "bulletin_approval": "required"})
    send_at = datetime(2026, 7, 6, 1, 30, tzinfo=UTC)
    bulletin, composed = await draft_bulletin(session, settings=settings, kind=BulletinKind.WEEKLY,
                                              as_of=date(2026, 7, 4), send_at=send_at,
                                              composed_by_id=people["league"].id)  # fmt: skip
    stored = await session.get(Bulletin, bulletin.id)
    assert stored is not None and stored.state == BulletinState.DRAFT
    assert (
        stored.send_at and stored.send_at.replace(tzinfo=UTC),
        stored.composed_by_id,
        stored.language,
    ) == (send_at, people["league"].id, "en")
    assert (stored.kind, stored.as_of, stored.period_key, stored.sms_text) == (
        BulletinKind.WEEKLY,
        date(2026, 7, 4),
        "2026-W27",
        composed.sms,
    )
    assert stored.sms_text.startswith(settings.sms_signature + "Key projects weekly bulletin (2026-W27")
    assert json.loads(stored.numbers_json)["longest"] == composed.longest()
    copies = (await session.exec(select(BulletinCopy.group, BulletinCopy.sms_text)
                                 .where(BulletinCopy.bulletin_id == bulletin.id))).all()  # fmt: skip
    assert dict(copies) == composed.copies() and set(composed.unit_sms) == {"U1", "U2"}


async def test_a_unit_s_preview_is_that_unit_s_copy(session: AsyncSession, settings: Settings) -> None:
    await _office(session)
    whole = await compose_bulletin(
        session, settings=settings, kind=BulletinKind.WEEKLY, as_of=date(2026, 7, 4)
    )
    assert set(whole.unit_lines) == {"U1", "U2"} and whole.sms not in whole.unit_sms.values()
    one = await compose_bulletin(session, settings=settings, kind=BulletinKind.WEEKLY, as_of=date(2026, 7, 4),
                                 unit_code="U2")  # fmt: skip
    assert set(one.unit_sms) == {"U2"} and one.sms == one.unit_sms["U2"] == whole.unit_sms["U2"]
    assert one.sms.startswith(settings.sms_signature + "重点项目周通报(7月第1周,截至7月4日):阿拉善右旗:")
    assert one.dropped == one.unit_dropped["U2"]
    assert [e.code for e in one.numbers.black_list] == ["PU2"]
    assert "U1项目" not in one.sms and "U2项目" in one.sms
    first = await compose_bulletin(session, settings=settings, kind=BulletinKind.WEEKLY, as_of=date(2026, 7, 4),
                                   unit_code="U1")  # fmt: skip
    assert first.numbers.black_list == [] and "黑榜:无。" in first.sms and "黑榜:无。" not in whole.sms
    empty = await compose_bulletin(session, settings=settings, kind=BulletinKind.WEEKLY, as_of=date(2026, 7, 4),
                                   unit_code="U3")  # fmt: skip
    assert empty.unit_sms == {} and empty.sms.startswith(settings.sms_signature + "重点项目周通报")


async def test_the_previous_bulletin_is_the_latest_sent_of_the_kind_for_an_earlier_period(
    session: AsyncSession,
) -> None:
    def bulletin(kind: BulletinKind, period: str, state: BulletinState, mark: str, **values: Any) -> Bulletin:
        return Bulletin(kind=kind, as_of=date(2026, 11, 1), period_key=period, state=state, sms_text="", html="",
                        numbers_json=json.dumps({"mark": mark}), **values)  # fmt: skip

    first = bulletin(BulletinKind.WEEKLY, "2026-W45", BulletinState.SENT, "W45")
    session.add(first)
    await session.flush()
    session.add_all([
        bulletin(BulletinKind.WEEKLY, "2026-W46", BulletinState.SENT, "W46"),
        bulletin(BulletinKind.WEEKLY, "2026-W46", BulletinState.SENT, "W46 again"),
        bulletin(BulletinKind.WEEKLY, "2026-W46", BulletinState.SENT, "correction", corrects_id=first.id),
        bulletin(BulletinKind.WEEKLY, "2026-W46", BulletinState.APPROVED, "approved"),
        bulletin(BulletinKind.MONTHLY, "2026-W46", BulletinState.SENT, "monthly"),
        bulletin(BulletinKind.WEEKLY, "2026-W47", BulletinState.SENT, "W47"),
        bulletin(BulletinKind.WEEKLY, "2026-W44", BulletinState.SENT, "W44, stored last"),
    ])  # fmt: skip
    await session.commit()
    assert await previous_numbers(session, kind=BulletinKind.WEEKLY, before_period="2026-W47") == {
        "mark": "W46 again"
    }
    assert await previous_numbers(session, kind=BulletinKind.WEEKLY, before_period="2026-W46") == {
        "mark": "W45"
    }
    assert await previous_numbers(session, kind=BulletinKind.WEEKLY, before_period="2026-W45") == {
        "mark": "W44, stored last"
    }
    assert await previous_numbers(session, kind=BulletinKind.WEEKLY, before_period="2026-W44") is None


async def test_every_copy_after_a_sent_bulletin_says_what_changed_in_its_language(
    session: AsyncSession, settings: Settings
) -> None:
    await _office(session)
    settings = _auto(settings)
    before = await compose_bulletin(
        session, settings=settings, kind=BulletinKind.WEEKLY, as_of=date(2026, 6, 27)
    )
    sent = before.to_json()
    sent["overall"]["start_rate"] = 0.25
    session.add(Bulletin(kind=BulletinKind.WEEKLY, as_of=date(2026, 6, 27), period_key=before.period_key,
                         state=BulletinState.SENT, numbers_json=json.dumps(sent), sms_text="", html=""))  # fmt: skip
    await session.commit()
    now = await compose_bulletin(session, settings=settings, kind=BulletinKind.WEEKLY, as_of=date(2026, 7, 4))
    assert now.previous == sent and now.to_json()["change"]["start_rate"] == 25.0
    for text in [now.sms, *now.unit_sms.values()]:
        assert "较上期:开复工率+25.0个百分点" in text
    assert "\n较上期:开复工率+25.0个百分点" in now.html
    assert now.link_reserve == link_reserve(settings) != ""
    english = await compose_bulletin(session, settings=settings, kind=BulletinKind.WEEKLY, as_of=date(2026, 7, 4),
                                     lang="en")  # fmt: skip
    assert english.lang == "en" and english.html.startswith("<b>Key projects weekly bulletin</b> 2026-W27")
    assert "\nSince last: start +25.0 pts" in english.html and "change" in english.dropped  # left out to fit
    for text in [english.sms, *english.unit_sms.values()]:
        assert text.startswith(
            settings.sms_signature + "Key projects weekly bulletin (2026-W27, as of 2026-07-04)"
        )
    assert english.unit_lines["U1"].startswith("U1: start 100.0% (#1)")
    assert english.unit_sms["U1"].startswith(settings.sms_signature + "Key projects weekly bulletin (2026-W27, "
                                             "as of 2026-07-04): U1: start 100.0% (#1)")  # fmt: skip
