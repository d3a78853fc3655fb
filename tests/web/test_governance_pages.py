"""The 已阅 link in the SMS, the bulletin page's read receipts, the archive and the opt-out page."""

from __future__ import annotations

from datetime import date

import httpx
from pydantic import SecretStr
from sqlmodel import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import AuditLog, BulletinKind, BulletinRead, OptOut, Person, Role
from notifier.bulletins.signoff import (
    DraftContent,
    RecipientSnapshot,
    create_correction,
    create_draft,
    mark_sent,
)
from notifier.core.settings import Settings
from notifier.reporting.receipts import read_path
from tests.web.test_http import PASSWORD, _admin, _csrf, _login


async def _sent_bulletin(session: AsyncSession, settings: Settings) -> tuple[int, Person, Person, Person]:
    leader = Person(name="盟领导", phone="+8613904830301", role=Role.LEADER)
    other = Person(name="旗领导", phone="+8613904830302", role=Role.LEADER)
    outsider = Person(name="项目负责人", phone="+8613904830303", role=Role.LEAD)
    session.add_all([leader, other, outsider])
    await session.commit()
    text = "【阿拉善盟发改委】重点项目周通报:开复工率94.0%。"
    content = DraftContent(kind=BulletinKind.WEEKLY, as_of=date(2026, 11, 22), period_key="2026-W47",
                           numbers={"overall": {}}, sms_text=text, html=text, copies={"all": text})  # fmt: skip
    bulletin = await create_draft(session, settings=settings.model_copy(update={"bulletin_approval": "auto"}),
                                  content=content, send_at=None)  # fmt: skip
    await mark_sent(session, bulletin_id=bulletin.id or 0, recipients=[
        RecipientSnapshot(person_id=p.id or 0, name=p.name, phone=p.phone, group="all") for p in (leader, other)])  # fmt: skip
    await session.commit()
    return bulletin.id or 0, leader, other, outsider


def _link(settings: Settings, bulletin_id: int, person_id: int) -> str:
    assert settings.secret_key is not None
    return read_path(settings.secret_key.get_secret_value(), bulletin_id, person_id)


async def _reads(session: AsyncSession) -> int:
    return int((await session.exec(select(func.count()).select_from(BulletinRead))).one())


async def test_read_link_records_once_and_forged_links_record_nothing(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    bulletin_id, leader, other, outsider = await _sent_bulletin(session, settings)
    good = _link(settings, bulletin_id, leader.id or 0)
    bulletin_part, person_part, signature = good.split("/")[2:]
    forged = [
        f"/r/{bulletin_part}/{other.id}/{signature}",  # someone else's person id under this signature
        f"/r/{int(bulletin_part) + 1}/{person_part}/{signature}",  # another bulletin
        f"/r/{bulletin_part}/{person_part}/{'A' * len(signature)}",  # a made-up signature
        f"/r/{bulletin_part}/{person_part}/{signature[:-1]}",  # cut short
        _link(
            settings.model_copy(update={"secret_key": SecretStr("another-secret")}),
            bulletin_id,
            leader.id or 0,
        ),
        _link(settings, bulletin_id, outsider.id or 0),  # validly signed, but not a recipient
        _link(settings, bulletin_id + 1, leader.id or 0),  # validly signed, no such bulletin
    ]
    for path in forged:
        response = await client.get(path)
        assert response.status_code == 403, path
    assert await _reads(session) == 0

    first = await client.get(good)
    assert first.status_code == 200 and "已记录您阅读了这份通报" in first.text
    again = await client.get(good)
    assert again.status_code == 200 and "已阅读过" in again.text
    assert await _reads(session) == 1
    row = (await session.exec(select(BulletinRead))).one()
    assert (row.person_id, row.via) == (leader.id, "link")


async def test_bulletin_page_shows_who_read_and_the_archive_links_corrections(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    bulletin_id, leader, _other, _ = await _sent_bulletin(session, settings)
    await _admin(session)
    assert (await client.get(_link(settings, bulletin_id, leader.id or 0))).status_code == 200
    text = "【阿拉善盟发改委】更正:开复工率应为93.0%。"
    content = DraftContent(kind=BulletinKind.WEEKLY, as_of=date(2026, 11, 22), period_key="2026-W47",
                           numbers={"overall": {}}, sms_text=text, html=text, copies={"all": text})  # fmt: skip
    correction = await create_correction(session, settings=settings, original_id=bulletin_id, content=content,
                                         send_at=None)  # fmt: skip
    await session.commit()
    assert (await client.get("/admin/bulletins/archive")).status_code == 303  # visitors see nothing
    assert (await _login(client)).status_code == 303
    page = (await client.get(f"/admin/bulletins/{bulletin_id}")).text
    assert "已阅情况 (1/2)" in page
    assert 'class="read"><td>盟领导' in page and 'class="unread"><td>旗领导' in page
    assert f'href="/admin/bulletins/{correction.id}"' in page
    archive = (await client.get("/admin/bulletins/archive")).text
    assert f'href="/admin/bulletins/{bulletin_id}"' in archive and f"#{correction.id}" in archive


async def test_admin_opts_numbers_out_and_in_and_bad_input_changes_nothing(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await _admin(session)
    leader = Person(name="盟领导", phone="+8613904830301", role=Role.LEADER)
    session.add(leader)
    await session.commit()
    assert (await client.get("/admin/optouts")).status_code == 303
    assert (await _login(client, PASSWORD)).status_code == 303
    csrf = _csrf((await client.get("/admin/optouts")).text)

    async def count() -> int:
        return int((await session.exec(select(func.count()).select_from(OptOut))).one())

    for phone, action in (("1390483030", "out"), ("not a phone", "out"), ("13904830301", "delete")):
        response = await client.post("/admin/optouts", data={"phone": phone, "action": action, "csrf": csrf})
        assert response.status_code == 422, (phone, action)
    forged = await client.post("/admin/optouts", data={"phone": "13904830301", "action": "out", "csrf": "x"})
    assert forged.status_code == 403
    assert await count() == 0

    done = await client.post("/admin/optouts", data={"phone": "139 0483 0301", "action": "out", "csrf": csrf})
    assert done.status_code == 200 and "+8613904830301 不再收到短信" in done.text
    assert await count() == 1
    await session.refresh(leader)
    assert leader.opted_out is True
    assert "盟领导" in (await client.get("/admin/optouts")).text
    back = await client.post("/admin/optouts", data={"phone": "+8613904830301", "action": "in", "csrf": csrf})
    assert "将重新收到短信" in back.text
    assert await count() == 0
    actions = (await session.exec(select(AuditLog.action).where(AuditLog.channel == "admin"))).all()
    assert sorted(actions) == ["sms.opt_in", "sms.opt_out"]
