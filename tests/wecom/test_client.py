"""The WeCom client against the fake at the HTTP boundary: one token for every process, refreshed
once when it expires mid-round (no message lost or doubled), WeCom's rate limit waited out by
every process, and members the app cannot reach reported, not retried."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from models import WecomState
from notifier.channels.wecom import WecomError, WecomUnreachableError
from web.fakes.twilio import max_in_window
from web.fakes.wecom import FakeWecom
from wecom.client import WecomClient


def _client(fake: FakeWecom, redis: Any, **settings: Any) -> WecomClient:
    return WecomClient(fake.settings(**settings), redis, backoff_seconds=0.05)


def _text(userid: str, content: str) -> dict[str, Any]:
    return {"touser": userid, "msgtype": "text", "text": {"content": content}}


def _members(fake: FakeWecom, n: int) -> list[str]:
    for i in range(n):
        fake.add_member(f"139048{i:05d}", f"lead{i}")
    return [f"lead{i}" for i in range(n)]


async def test_one_token_for_every_process(fake_wecom: FakeWecom, redis: Any) -> None:
    users = _members(fake_wecom, 10)
    clients = [_client(fake_wecom, redis) for _ in range(3)]  # three worker processes sharing Redis
    try:
        await asyncio.gather(
            *(clients[i % 3].send_message(_text(u, "本周请报送")) for i, u in enumerate(users))
        )
    finally:
        for client in clients:
            await client.aclose()
    assert fake_wecom.gettoken_calls == 1
    assert sorted(m.userid for m in fake_wecom.messages) == sorted(users)


async def test_token_expiry_mid_round_loses_no_message(fake_wecom: FakeWecom, redis: Any) -> None:
    users = _members(fake_wecom, 30)
    clients = [_client(fake_wecom, redis) for _ in range(3)]
    try:
        for user in users[:10]:
            await clients[0].send_message(_text(user, "第一批"))
        fake_wecom.expire_tokens()  # WeCom's two hours are up between two messages of the round
        await asyncio.gather(
            *(clients[i % 3].send_message(_text(u, "第二批")) for i, u in enumerate(users[10:]))
        )
    finally:
        for client in clients:
            await client.aclose()
    assert fake_wecom.refused[42001] >= 1
    assert fake_wecom.gettoken_calls == 2  # the crowd that saw 42001 caused one refresh
    assert sorted(m.userid for m in fake_wecom.messages) == sorted(users)  # each exactly once


async def test_a_token_refused_after_its_refresh_is_an_error(fake_wecom: FakeWecom, redis: Any) -> None:
    fake_wecom.add_member("13904830001", "lead1")
    fake_wecom.expires_in = 0  # every token is dead on arrival: refresh once, then give up
    client = _client(fake_wecom, redis)
    try:
        with pytest.raises(WecomError) as info:
            await client.send_message(_text("lead1", "x"))
    finally:
        await client.aclose()
    assert info.value.code == 42001
    assert fake_wecom.gettoken_calls == 2 and fake_wecom.messages == []


async def test_rate_limit_is_waited_out_and_retried(fake_wecom: FakeWecom, redis: Any) -> None:
    fake_wecom.add_member("13904830001", "lead1")
    fake_wecom.throttle_next = 2
    client = _client(fake_wecom, redis)
    try:
        await client.send_message(_text("lead1", "限流后重试"))
    finally:
        await client.aclose()
    assert fake_wecom.refused[45009] == 2
    assert [m.text for m in fake_wecom.messages] == ["限流后重试"]


async def test_rate_limit_pauses_every_process(fake_wecom: FakeWecom, redis: Any) -> None:
    fake_wecom.add_member("13904830001", "lead1")
    fake_wecom.add_member("13904830002", "lead2")
    a, b = (WecomClient(fake_wecom.settings(), redis, backoff_seconds=0.6) for _ in range(2))
    await a.tokens.get()
    fake_wecom.throttle_next = 1
    start = time.time()
    try:

        async def second() -> None:
            await asyncio.sleep(0.2)  # after a was refused and paused everyone
            await b.send_message(_text("lead2", "b"))

        await asyncio.gather(a.send_message(_text("lead1", "a")), second())
    finally:
        await a.aclose()
        await b.aclose()
    assert fake_wecom.refused[45009] == 1
    assert all(m.at - start >= 0.55 for m in fake_wecom.messages), [m.at - start for m in fake_wecom.messages]


async def test_giving_up_after_repeated_rate_limits(fake_wecom: FakeWecom, redis: Any) -> None:
    fake_wecom.add_member("13904830001", "lead1")
    fake_wecom.throttle_next = 100
    client = WecomClient(fake_wecom.settings(), redis, backoff_seconds=0.01, max_attempts=3)
    try:
        with pytest.raises(WecomError) as info:
            await client.send_message(_text("lead1", "x"))
    finally:
        await client.aclose()
    assert info.value.code == 45009 and info.value.transient
    assert fake_wecom.refused[45009] == 3 and fake_wecom.messages == []


async def test_sends_keep_to_the_shared_rate(fake_wecom: FakeWecom, redis: Any) -> None:
    users = _members(fake_wecom, 12)
    clients = [_client(fake_wecom, redis, wecom_rate_per_sec=5) for _ in range(2)]
    try:
        await asyncio.gather(*(clients[i % 2].send_message(_text(u, "x")) for i, u in enumerate(users)))
    finally:
        for client in clients:
            await client.aclose()
    assert len(fake_wecom.messages) == 12
    # Measured where the fake receives them: a loaded machine may delay one request and bunch it with
    # the next, so the window allows 0.2 s of arrival jitter (without the limiter all 12 land at once).
    assert max_in_window([m.at for m in fake_wecom.messages], 0.8) <= 5
    assert fake_wecom.messages[-1].at - fake_wecom.messages[0].at >= 1.6


async def test_member_outside_the_visible_range_is_unreachable(fake_wecom: FakeWecom, redis: Any) -> None:
    fake_wecom.add_member("13904830009", "hidden", visible=False)
    client = _client(fake_wecom, redis)
    try:
        with pytest.raises(WecomUnreachableError) as info:
            await client.send_message(_text("hidden", "x"))
    finally:
        await client.aclose()
    assert info.value.state == WecomState.NOT_VISIBLE and info.value.code == 81013
    assert fake_wecom.refused[81013] == 1  # asked once, not retried


async def test_unknown_mobile_is_no_user(fake_wecom: FakeWecom, redis: Any) -> None:
    fake_wecom.add_member("13904830001", "lead1")
    client = _client(fake_wecom, redis)
    try:
        assert await client.userid_by_mobile("13904830001") == "lead1"
        with pytest.raises(WecomUnreachableError) as info:
            await client.userid_by_mobile("13904830002")
    finally:
        await client.aclose()
    assert info.value.state == WecomState.NO_USER and info.value.code == 60111
    assert fake_wecom.lookup_misses == 1


@pytest.mark.parametrize(
    ("setting", "says"), [("wecom_secret", "WECOM_SECRET"), ("wecom_corp_id", "WECOM_CORP_ID")]
)
async def test_wrong_credentials_say_which(
    fake_wecom: FakeWecom, redis: Any, setting: str, says: str
) -> None:
    client = _client(fake_wecom, redis, **{setting: "wrong"})
    try:
        with pytest.raises(WecomError, match=says):
            await client.userid_by_mobile("13904830001")
    finally:
        await client.aclose()


async def test_unreachable_server_is_transient(redis: Any, fake_wecom: FakeWecom) -> None:
    settings = fake_wecom.settings(wecom_api_base="http://127.0.0.1:9/cgi-bin")
    client = WecomClient(settings, redis, backoff_seconds=0.01)
    try:
        with pytest.raises(WecomError) as info:
            await client.userid_by_mobile("13904830001")
    finally:
        await client.aclose()
    assert info.value.transient
