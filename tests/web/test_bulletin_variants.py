"""The sign-off page of a draft: the longest recipient variant, what it left out, each unit's line."""

from __future__ import annotations

from datetime import date

import httpx
from sqlmodel.ext.asyncio.session import AsyncSession

from models import BulletinKind
from notifier.bulletins.compose import describe_dropped
from notifier.bulletins.signoff import DraftContent, create_draft
from notifier.core.settings import Settings
from tests.web.test_http import _admin, _login


async def test_the_sign_off_page_says_what_the_longest_variant_left_out(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    bulletin = await create_draft(session, settings=settings, send_at=None, content=DraftContent(
        kind=BulletinKind.WEEKLY, as_of=date(2026, 6, 30), period_key="2026-W26", sms_text="【签名】通用稿", html="",
        copies={"all": "【签名】通用稿"}, numbers={"longest": {
            "group": "U001", "sms": "【签名】第1单位稿", "segments": 4, "characters": 250,
            "dropped": ["tail_procedure", "red_names"], "dropped_text": describe_dropped(["tail_procedure", "red_names"], "zh")},
            "unit_lines": {"U001": "第1单位:开复工率50.0%"}}))  # fmt: skip
    await session.commit()
    await _admin(session)
    assert (await _login(client)).status_code == 303
    page = (await client.get(f"/admin/bulletins/{bulletin.id}")).text
    assert "为控制条数省略了 2 项:手续办结率排名前3名以后的单位、红榜项目名单" in page
    assert "最长的一份(U001,按实际发送含已阅链接与签名):4 条" in page
    assert '<li data-unit="U001">第1单位:开复工率50.0%</li>' in page
