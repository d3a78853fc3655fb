"""The whole loop on loopback, as in production: the worker's release job asks approvers and sends
leaders' copies through WeCom (the fake), and the fake posts encrypted button presses to the
running web app's callback URL — sign-off and 已阅 recorded, even with the access token expiring
between the two rounds; members bound by their number on first contact."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from arq.connections import ArqRedis, RedisSettings, create_pool
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

import worker
from models import Bulletin, BulletinKind, BulletinRead, BulletinState, Person, Role, WecomState
from models.db import SessionMaker
from notifier.bulletins.signoff import DraftContent, create_draft
from notifier.channels.router import ChannelChat
from notifier.core.chat import RecordingChatSender
from notifier.core.settings import Settings
from notifier.jobs.bulletins import release_bulletins_job
from web.app import create_app
from web.fakes.wecom import FakeWecom


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def port() -> int:
    return _free_port()


@pytest.fixture
def wecom_settings(fake_wecom: FakeWecom, db_url: str, redis_url: str, tmp_path: Path, port: int) -> Settings:
    fake_wecom.callback_url = f"http://127.0.0.1:{port}/webhooks/wecom"
    return fake_wecom.settings(database_url=db_url, redis_url=redis_url, sms_backend="file", quiet_hours="",
                               sms_file_path=tmp_path / "sms.jsonl", secret_key="test-secret-key-not-for-production",
                               public_base_url=f"http://127.0.0.1:{port}")  # fmt: skip


@pytest.fixture
async def web_server(wecom_settings: Settings, engine: object, redis: Any, port: int) -> AsyncIterator[None]:
    server = uvicorn.Server(uvicorn.Config(create_app(wecom_settings), host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="on"))  # fmt: skip
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    yield
    server.should_exit = True
    await task


@pytest.fixture
async def arq_pool(redis_url: str, redis: Any) -> AsyncIterator[ArqRedis]:
    pool = await create_pool(RedisSettings.from_dsn(redis_url))
    yield pool
    await pool.aclose()


async def _world(session: AsyncSession, fake: FakeWecom) -> dict[str, Person]:
    people = {
        "admin": Person(name="管理员", phone="+8613904830401", role=Role.ADMIN),
        "approver": Person(name="审核人", phone="+8613904830402", role=Role.APPROVER),
        "leader": Person(name="盟领导", phone="+8613904830403", role=Role.LEADER),
        "tg_leader": Person(name="旗领导", phone="+8613904830404", role=Role.LEADER, telegram_id=604),
        "sms_leader": Person(name="无企业微信领导", phone="+8613904830405", role=Role.LEADER),
    }
    for key in ("admin", "approver", "leader"):
        fake.add_member(str(people[key].phone)[3:], f"wx-{key}")
    session.add_all(people.values())
    await session.commit()
    return people


def _content() -> DraftContent:
    text = "【阿拉善盟发改委】重点项目周通报(2026-W47):开复工率94.0%。"
    return DraftContent(kind=BulletinKind.WEEKLY, as_of=date(2026, 11, 22), period_key="2026-W47",
                        numbers={"overall": {"projects": 100, "start_rate": 0.94}, "black_list": [], "red_list": []},
                        sms_text=text, html=f"<b>{text}</b>", copies={"all": text})  # fmt: skip


async def _bulletin(sessionmaker: SessionMaker, bulletin_id: int) -> Bulletin:
    async with sessionmaker() as session:
        bulletin = await session.get(Bulletin, bulletin_id)
        assert bulletin is not None
        return bulletin


async def test_sign_off_and_read_in_wecom_through_the_worker_and_the_callback_url(
    fake_wecom: FakeWecom, wecom_settings: Settings, web_server: None, session: AsyncSession,
    sessionmaker: SessionMaker, arq_pool: ArqRedis,
) -> None:  # fmt: skip
    people = await _world(session, fake_wecom)
    bulletin = await create_draft(session, settings=wecom_settings, content=_content(),
                                  send_at=datetime.now(UTC) + timedelta(hours=1))  # fmt: skip
    await session.commit()
    bulletin_id = bulletin.id or 0
    chat = worker.build_chat_sender(wecom_settings, sessionmaker=sessionmaker, redis=arq_pool)
    assert isinstance(chat, ChannelChat) and isinstance(chat.telegram, RecordingChatSender)
    ctx = {"settings": wecom_settings, "sessionmaker": sessionmaker, "redis": arq_pool, "chat": chat}
    try:
        await release_bulletins_job(ctx)  # not due: approvers are asked, in WeCom
        approve = f"bd:{bulletin_id}:1"
        assert {m.userid for m in fake_wecom.messages if ("✅ 同意发送", approve) in m.buttons} == {
            "wx-admin", "wx-approver"}  # fmt: skip
        assert await fake_wecom.press("wx-approver", approve) == 200
        assert (await _bulletin(sessionmaker, bulletin_id)).state == BulletinState.APPROVED

        async with sessionmaker() as s:  # bring the send time forward instead of waiting
            row = await s.get(Bulletin, bulletin_id)
            assert row is not None
            row.send_at = datetime.now(UTC) - timedelta(seconds=1)
            s.add(row)
            await s.commit()
        fake_wecom.expire_tokens()  # the access token runs out between the two rounds
        assert (await release_bulletins_job(ctx)).startswith("sent 1")
    finally:
        await chat.wecom.aclose()  # type: ignore[union-attr]

    read = f"rd:{bulletin_id}"
    assert [m.buttons for m in fake_wecom.to("wx-leader") if m.buttons] == [[("已阅", read)]]
    assert [m.telegram_id for m in chat.telegram.sent if m.buttons == [[("已阅", read)]]] == [604]  # type: ignore[union-attr]
    assert fake_wecom.refused[42001] >= 1 and fake_wecom.gettoken_calls == 2

    assert await fake_wecom.press("wx-leader", read) == 200
    # A second press, asked of the fake over HTTP as `guatu dev fake-wecom` users do: read already.
    async with httpx.AsyncClient() as http:
        pressed = await http.post(f"http://127.0.0.1:{fake_wecom.port}/__callback",
                                  json={"userid": "wx-leader", "key": read})  # fmt: skip
    assert pressed.json() == {"ok": True, "status": 200}
    async with sessionmaker() as s:
        reads = (await s.exec(select(BulletinRead))).all()
        by_person = {p.name: p for p in (await s.exec(select(Person))).all()}
    assert [(r.person_id, r.via) for r in reads] == [(people["leader"].id, "wecom")]
    assert (by_person["盟领导"].wecom_userid, by_person["盟领导"].wecom_state) == (
        "wx-leader",
        WecomState.BOUND,
    )
    assert by_person["无企业微信领导"].wecom_state == WecomState.NO_USER  # looked up once, falls back to SMS
    # The acknowledgements go after the callback's answer: the card's button turns into 已阅 and
    # the first press (only) gets a text.
    await _until(lambda: any(c.label for c in fake_wecom.cards.values()))
    await _until(lambda: any("已记录您已阅读通报" in m.text for m in fake_wecom.to("wx-leader")))
    await asyncio.sleep(0.2)
    assert sum("已记录您已阅读通报" in m.text for m in fake_wecom.to("wx-leader")) == 1
    assert {c.label for c in fake_wecom.cards.values() if c.message.userid == "wx-leader"} == {"已阅 ✓"}


async def _until(condition: Any, seconds: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.02)
