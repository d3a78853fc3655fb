"""What approvers see before they sign off: the longest recipient variant as sent, with its segments
and what the composer left out of it, and each unit's own line — in chat and on the web page."""

from __future__ import annotations

import html
import json
from datetime import date
from decimal import Decimal
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from models import Bulletin, BulletinKind, LeaderLevel, Person, Project, Role, Stage, Unit, UnitKind
from notifier.bulletins import chat_copies
from notifier.bulletins.compose import describe_dropped, draft_bulletin
from notifier.core.chat import RecordingChatSender
from notifier.core.settings import Settings

APPROVER_TG = 5021


async def _office(session: AsyncSession, *, units: int) -> None:
    """`units` units with long names, one leader each, two projects each, and one approver."""
    for u in range(units):
        unit = Unit(code=f"U{u:03d}", name=f"阿拉善盟第{u + 1}号重点项目责任单位", short_name=f"第{u + 1}单位",
                    kind=UnitKind.DEPARTMENT, sort_order=u)  # fmt: skip
        session.add(unit)
        await session.flush()
        session.add(Person(name=f"领导{u}", phone=f"+86139048{30000 + u:05d}", role=Role.LEADER, unit_id=unit.id,
                           level=LeaderLevel.UNIT))  # fmt: skip
        for p in range(2):
            session.add(Project(code=f"P{u:03d}{p}", name=f"第{u + 1}单位重点工程{p}", unit_id=unit.id or 0, year=2026,
                                stage=Stage.NEW, annual_plan=Decimal(1000 * (u + 1)), ytd_base=Decimal(37 * (u + p + 1)),
                                planned_start=date(2026, 3, 1), actual_start=date(2026, 3, 1) if p == 0 else None,
                                procedures_required=3, procedures_base=u % 4))  # fmt: skip
    session.add(Person(name="审核人", phone="+8613904839998", role=Role.APPROVER, telegram_id=APPROVER_TG))
    await session.commit()


def _budgeted(settings: Settings) -> Settings:
    return settings.model_copy(update={"public_base_url": "https://guatu.alsm.gov.cn", "sms_segment_budget": 5,
                                       "bulletin_approval": "required"})  # fmt: skip


async def _asked(session: AsyncSession, settings: Settings, bulletin_id: int) -> str:
    chat = RecordingChatSender()
    assert await chat_copies.ask_approvers(session, chat, settings=settings, bulletin_id=bulletin_id) == 1
    assert [m.telegram_id for m in chat.sent] == [APPROVER_TG]
    return chat.sent[0].text


async def test_the_approval_request_shows_the_longest_variant_what_it_left_out_and_every_unit_line(
    session: AsyncSession, settings: Settings
) -> None:
    settings = _budgeted(settings)
    await _office(session, units=12)
    bulletin, composed = await draft_bulletin(
        session, settings=settings, kind=BulletinKind.WEEKLY, as_of=date(2026, 6, 30)
    )
    longest = composed.longest()
    assert longest["group"] != "all" and longest["dropped"]  # a unit leader's copy is the longest here
    text = await _asked(session, settings, bulletin.id or 0)
    assert "短信原文:\n" + html.escape(composed.sms) in text  # the generic text, as before
    unit_name = composed.numbers.unit(longest["group"]).name  # type: ignore[union-attr]
    assert (f"<b>最长的一份</b>({longest['group']} {unit_name}):按实际发送(含本单位一行、已阅链接与签名)"
            f"{longest['segments']}条短信,{longest['characters']}字") in text  # fmt: skip
    assert html.escape(longest["sms"]) in text
    assert f"为控制条数省略了:{describe_dropped(longest['dropped'], 'zh')}。" in text
    assert "投资完成率排名前3名以后的单位" in text or "开复工率排名前3名以后的单位" in text
    lines = text.split("<b>各单位领导收到的本单位一行</b>:\n", 1)[1].split("\n")
    assert lines == [f"• {html.escape(composed.unit_lines[code])}" for code in composed.unit_lines]
    assert len(lines) == 12 and "另有" not in text
    assert len(text) <= chat_copies.TELEGRAM_LIMIT


async def test_unit_lines_past_the_telegram_limit_are_counted_not_cut(
    session: AsyncSession, settings: Settings
) -> None:
    settings = _budgeted(settings)
    await _office(session, units=80)
    bulletin, composed = await draft_bulletin(
        session, settings=settings, kind=BulletinKind.WEEKLY, as_of=date(2026, 6, 30)
    )
    text = await _asked(session, settings, bulletin.id or 0)
    assert len(text) <= chat_copies.TELEGRAM_LIMIT
    shown = [line for line in text.split("\n") if line.startswith("• ")]
    assert 0 < len(shown) < 80
    assert shown == [f"• {html.escape(line)}" for line in list(composed.unit_lines.values())[: len(shown)]]
    assert text.endswith(f"……另有{80 - len(shown)}个单位,请在管理后台查看。")


def _bulletin(numbers: dict[str, Any], sms: str = "【签名】通用稿") -> Bulletin:
    return Bulletin(id=7, kind=BulletinKind.WEEKLY, as_of=date(2026, 6, 30), period_key="2026-W26", sms_text=sms,
                    html="", numbers_json=json.dumps(numbers, ensure_ascii=False))  # fmt: skip


def test_a_generic_longest_variant_is_not_repeated_and_nothing_left_out_is_said(settings: Settings) -> None:
    numbers = {
        "longest": {"group": "all", "sms": "【签名】通用稿", "segments": 1, "characters": 7, "dropped": []}
    }
    text = chat_copies.approval_text(_bulletin(numbers), settings=settings, recipients=3, lang="zh")
    assert "<b>最长的一份</b>(全体领导通用稿):按实际发送(含本单位一行、已阅链接与签名)1条短信,7字" in text
    assert text.count("【签名】通用稿") == 1
    assert text.endswith("未省略任何内容。")
    english = chat_copies.approval_text(_bulletin(numbers), settings=settings, recipients=3, lang="en")
    assert "(the copy for all leaders): 1 SMS segments, 7 characters" in english
    assert english.endswith("Nothing left out.")


def test_a_draft_composed_before_variants_were_recorded_reads_as_before(settings: Settings) -> None:
    text = chat_copies.approval_text(_bulletin({"overall": {"projects": 2}}), settings=settings, recipients=3,
                                     lang="zh")  # fmt: skip
    assert text.endswith("短信原文:\n【签名】通用稿")
    assert "最长的一份" not in text


def test_unit_lines_and_texts_are_escaped(settings: Settings) -> None:
    numbers = {"longest": {"group": "U1", "sms": "<b>x</b>", "segments": 1, "characters": 8, "dropped": ["week"]},
               "units": [{"code": "U1", "name": "A&B"}], "unit_lines": {"U1": "A&B:<i>"}}  # fmt: skip
    text = chat_copies.approval_text(_bulletin(numbers), settings=settings, recipients=1, lang="zh")
    assert "(U1 A&amp;B)" in text and "&lt;b&gt;x&lt;/b&gt;" in text and "• A&amp;B:&lt;i&gt;" in text
    assert "为控制条数省略了:本周进展。" in text
