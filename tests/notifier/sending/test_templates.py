"""The template registry (短信模板报备): with SMS_TEMPLATE_REGISTRY on, only registered texts reach +86
numbers — refused at preview before anything is sent, and skipped (counted) at send time when the
template went away in between. Other numbers are not affected."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import func
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Campaign, CampaignKind, CampaignState, Delivery, Person, Role, SmsTemplate
from models.db import SessionMaker
from notifier.core.settings import Settings
from notifier.sending.campaigns import CampaignError, create_campaign, preview_campaign
from notifier.sending.loop import Sender, run_campaign
from notifier.sending.templates import (
    TemplateError,
    add_template,
    compile_template,
    matching_code,
    registered_templates,
    remove_template,
)
from tests.notifier.sending.test_loop import ScriptedProvider

MEETING = "请{name}于{time}到盟发改委参加重点项目调度会。"


def test_a_template_matches_its_filled_in_texts_and_nothing_else() -> None:
    pattern = compile_template(MEETING)
    assert pattern.fullmatch("请王局长于周五下午3点到盟发改委参加重点项目调度会。")
    assert not pattern.fullmatch("请王局长于周五下午3点到盟发改委参加重点项目调度会。另:带材料")  # extra text
    assert not pattern.fullmatch("请于周五到盟发改委参加重点项目调度会。")  # a placeholder left empty
    literal = compile_template("完成率(%)为{rate}.")  # regex characters in the fixed text are literal
    assert literal.fullmatch("完成率(%)为75.0.") and not literal.fullmatch("完成率X%)为75.0.")


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("", "为空"),
        ("   ", "为空"),
        ("{name}", "固定文字"),
        ("会议{", "花括号"),
        ("会议{0}", "不合规"),
        ("会议{name!r}", "不合规"),
    ],  # fmt: skip
)
def test_a_template_that_cannot_work_is_refused_with_the_reason(body: str, reason: str) -> None:
    with pytest.raises(TemplateError, match=reason):
        compile_template(body)


async def test_codes_are_unique_and_well_formed(session: AsyncSession) -> None:
    await add_template(session, code="MEET01", body=MEETING)
    await session.commit()
    with pytest.raises(TemplateError, match="已存在"):
        await add_template(session, code="MEET01", body="别的{x}内容")
    with pytest.raises(TemplateError, match="不合规"):
        await add_template(session, code="有 空格", body="内容{x}")
    with pytest.raises(TemplateError, match="没有编号"):
        await remove_template(session, code="NOPE")
    assert [r.code for r in await registered_templates(session)] == ["MEET01"]
    assert (
        matching_code("请李主任于明天到盟发改委参加重点项目调度会。", await registered_templates(session))
        == "MEET01"
    )


async def _people(session: AsyncSession) -> None:
    session.add_all([Person(name="王局长", phone="+8613904830001", role=Role.LEADER),
                     Person(name="李主任", phone="+8613904830002", role=Role.LEADER),
                     Person(name="Mr Chan", phone="+85291234567", role=Role.LEADER)])  # fmt: skip
    await session.commit()


async def test_an_unregistered_text_to_mainland_numbers_is_refused_before_anything_exists(
    session: AsyncSession, settings: Settings
) -> None:
    on = settings.model_copy(update={"sms_template_registry": True})
    await _people(session)
    await add_template(session, code="MEET01", body=MEETING)
    await session.commit()
    with pytest.raises(CampaignError, match="已报备的模板"):
        await preview_campaign(session, settings=on, text="今天下午开会。", audience="all-leaders")
    with pytest.raises(CampaignError, match="已报备的模板"):
        await create_campaign(session, settings=on, kind=CampaignKind.BROADCAST, text="今天下午开会。",
                              audience="all-leaders")  # fmt: skip
    assert (await session.exec(select(func.count()).select_from(Campaign))).one() == 0
    assert (await session.exec(select(func.count()).select_from(Delivery))).one() == 0
    # The registered text passes, {name} filled per recipient; with the registry off nothing is checked.
    preview = await preview_campaign(session, settings=on, text="请{name}于周五下午3点到盟发改委参加重点项目调度会。",
                                     audience="all-leaders")  # fmt: skip
    assert preview.recipients == 3
    off = await preview_campaign(session, settings=settings, text="今天下午开会。", audience="all-leaders")
    assert off.recipients == 3


async def test_only_mainland_numbers_need_a_template(session: AsyncSession, settings: Settings) -> None:
    on = settings.model_copy(update={"sms_template_registry": True})
    await _people(session)
    preview = await preview_campaign(
        session, settings=on, text="Meeting at 3 pm.", audience="phones:+85291234567"
    )
    assert preview.recipients == 1


async def test_a_template_removed_after_creation_skips_its_deliveries_with_the_reason(
    session: AsyncSession, sessionmaker: SessionMaker, settings: Settings
) -> None:
    on = settings.model_copy(update={"sms_template_registry": True, "sms_retry_base_ms": 1})
    await _people(session)
    await add_template(session, code="MEET01", body=MEETING)
    await session.commit()
    campaign = await create_campaign(session, settings=on, kind=CampaignKind.BROADCAST, audience="all-leaders",
                                     text="请{name}于周五下午3点到盟发改委参加重点项目调度会。")  # fmt: skip
    campaign.state = CampaignState.QUEUED
    session.add(campaign)
    await remove_template(session, code="MEET01")
    await session.commit()
    assert (await session.exec(select(func.count()).select_from(SmsTemplate))).one() == 0
    provider = ScriptedProvider()
    await run_campaign(Sender(sessionmaker=sessionmaker, provider=provider, limiter=None, settings=on),
                       campaign_id=campaign.id or 0)  # fmt: skip
    assert [m.to for m in provider.accepted] == ["+85291234567"]  # not a mainland number
    rows = (await session.exec(select(Delivery.phone, Delivery.state, Delivery.skip_reason))).all()
    assert Counter((str(s), r) for _, s, r in rows) == Counter(
        {("skipped", "template_not_registered"): 2, ("sent", None): 1}
    )


async def test_aliyun_preview_refuses_a_parameter_over_the_limit_before_anything_is_stored(
    session: AsyncSession, settings: Settings
) -> None:
    """With Alibaba Cloud sending, every text must be a registered template, each named parameter at
    most SMS_TEMPLATE_PARAM_MAX characters (Alibaba Cloud's default is 35)."""
    aliyun = settings.model_copy(update={"sms_backend": "aliyun", "sms_template_param_max": 35})
    session.add(Person(name="王局长", phone="+8613904830001", role=Role.LEADER))
    await add_template(session, code="SMS_900001", body="本周通报:{summary}")
    await session.commit()
    fits = await preview_campaign(
        session, settings=aliyun, text="本周通报:" + "开" * 35, audience="all-leaders"
    )
    assert fits.recipients == 1
    for text, reason in (("本周通报:" + "开" * 36, "超过上限 35"), ("整段自由文字", "已报备的模板")):
        with pytest.raises(CampaignError, match=reason):
            await preview_campaign(session, settings=aliyun, text=text, audience="all-leaders")
        with pytest.raises(CampaignError, match=reason):
            await create_campaign(session, settings=aliyun, kind=CampaignKind.BROADCAST, text=text,
                                  audience="all-leaders")  # fmt: skip
    await session.rollback()
    assert (await session.exec(select(func.count()).select_from(Campaign))).one() == 0


def test_named_parameters_come_out_of_a_filled_in_text() -> None:
    from notifier.sending.templates import Registered, template_use

    registered = [Registered("MEET01", MEETING, compile_template(MEETING))]
    use = template_use("请王局长于周五下午3点到盟发改委参加重点项目调度会。", registered)
    assert use is not None and (use.code, use.params) == ("MEET01", {"name": "王局长", "time": "周五下午3点"})
