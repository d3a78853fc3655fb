"""The Twilio fake itself: auth, errors, list filters and paging, signed callbacks, seeded faults."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from aiohttp import web
from twilio.request_validator import RequestValidator

from web.fakes.twilio import FakeTwilio, max_in_window

TO = "+8613904830001"


def _client(fake: FakeTwilio, *, token: str | None = None) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=fake.base_url, auth=(fake.account_sid, token or fake.auth_token))


def _messages(fake: FakeTwilio) -> str:
    return f"/2010-04-01/Accounts/{fake.account_sid}/Messages.json"


async def _send(client: httpx.AsyncClient, fake: FakeTwilio, to: str = TO, **extra: str) -> httpx.Response:
    return await client.post(
        _messages(fake), data={"To": to, "Body": "测试", "From": "+15005550006", **extra}
    )


@pytest.mark.parametrize("token", ["wrong-token", None])
async def test_basic_auth_is_required(fake_twilio: FakeTwilio, token: str | None) -> None:
    async with httpx.AsyncClient(base_url=fake_twilio.base_url) as client:
        if token:
            client.auth = (fake_twilio.account_sid, token)
        response = await _send(client, fake_twilio)
    assert response.status_code == 401
    assert response.json()["code"] == 20003
    assert fake_twilio.messages == []


async def test_other_account_path_is_404(fake_twilio: FakeTwilio) -> None:
    async with _client(fake_twilio) as client:
        response = await client.get("/2010-04-01/Accounts/AC" + "0" * 32 + "/Messages.json")
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("data", "code"),
    [({"To": "", "Body": "x", "From": "+15005550006"}, 21604), ({"To": TO, "Body": "", "From": "+15005550006"}, 21602),
     ({"To": TO, "Body": "x"}, 21606), ({"To": "12345", "Body": "x", "From": "+15005550006"}, 21211)],
)  # fmt: skip
async def test_bad_requests_have_twilio_error_shape(
    fake_twilio: FakeTwilio, data: dict[str, str], code: int
) -> None:
    async with _client(fake_twilio) as client:
        response = await client.post(_messages(fake_twilio), data=data)
    body = response.json()
    assert response.status_code == 400
    assert body["code"] == code and body["status"] == 400
    assert body["more_info"].endswith(str(code))
    assert fake_twilio.messages == []


async def test_create_returns_resource_and_counts(fake_twilio: FakeTwilio) -> None:
    async with _client(fake_twilio) as client:
        response = await _send(client, fake_twilio)
        fetched = await client.get(_messages(fake_twilio).replace(".json", f"/{response.json()['sid']}.json"))
    resource = response.json()
    assert response.status_code == 201
    assert resource["status"] == "queued" and resource["to"] == TO and resource["num_segments"] == "1"
    assert fetched.json()["sid"] == resource["sid"]
    stats = fake_twilio.stats()
    assert stats["messages"] == 1 and stats["by_to"] == {TO: 1}
    assert sum(int(n) for n in stats["per_second"].values()) == 1


async def test_list_filters_by_to_and_date_and_pages(fake_twilio: FakeTwilio) -> None:
    fake_twilio.callbacks_first = True  # sent (date_sent set) before the create call answers
    async with _client(fake_twilio) as client:
        for _ in range(5):
            await _send(client, fake_twilio, StatusCallback="http://127.0.0.1:9/nowhere")
        await _send(client, fake_twilio, to="+8613904830002")
        unsent = (await _send(client, fake_twilio)).json()  # no callback: never sent, no date_sent
        today = datetime.now(UTC).date()
        first = (await client.get(_messages(fake_twilio), params={"To": TO, "DateSent>": today.isoformat(),
                                                                   "PageSize": 2})).json()  # fmt: skip
        second = (await client.get(first["next_page_uri"])).json()
        tomorrow = (today + timedelta(days=1)).isoformat()
        none = (await client.get(_messages(fake_twilio), params={"To": TO, "DateSent>": tomorrow})).json()
    assert [m["to"] for m in first["messages"]] == [TO, TO]
    assert first["page"] == 0 and first["page_size"] == 2 and first["previous_page_uri"] is None
    assert second["page"] == 1 and second["previous_page_uri"]
    assert {m["sid"] for m in first["messages"]}.isdisjoint(m["sid"] for m in second["messages"])
    assert none["messages"] == [] and none["next_page_uri"] is None
    # As at Twilio, a message not yet sent has no date_sent and no DateSent filter finds it.
    everything = [m["sid"] for m in first["messages"] + second["messages"]]
    assert unsent["sid"] not in everything and unsent["date_sent"] is None


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[str, list[tuple[str, dict[str, str]]]]]:
    got: list[tuple[str, dict[str, str]]] = []

    async def handle(request: web.Request) -> web.Response:
        form = await request.post()
        got.append((request.headers.get("X-Twilio-Signature", ""), {k: str(v) for k, v in form.items()}))
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/webhooks/twilio/status", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}/webhooks/twilio/status", got
    await runner.cleanup()


async def test_status_callbacks_are_signed_as_twilio_signs(
    fake_twilio: FakeTwilio, receiver: tuple[str, list[tuple[str, dict[str, str]]]]
) -> None:
    url, got = receiver
    fake_twilio.callback_delay_ms = 0
    fake_twilio.undeliverable.add("+8613904830002")
    async with _client(fake_twilio) as client:
        await _send(client, fake_twilio, StatusCallback=url)
        await _send(client, fake_twilio, to="+8613904830002", StatusCallback=url)
    await fake_twilio.drain_callbacks()
    validator = RequestValidator(fake_twilio.auth_token)
    assert len(got) == 4
    for signature, params in got:
        assert validator.validate(url, params, signature)
        assert not RequestValidator("another-token").validate(url, params, signature)
    statuses = {(p["To"], p["MessageStatus"]) for _, p in got}
    assert statuses == {(TO, "sent"), (TO, "delivered"), ("+8613904830002", "sent"),
                        ("+8613904830002", "undelivered")}  # fmt: skip
    assert fake_twilio.stats()["callbacks"] == {"http_200": 4}


async def _outcomes(seed: int) -> list[int]:
    fake = await FakeTwilio(seed=seed, throttle_rate=0.3, fail_rate=0.3).start()
    try:
        async with _client(fake) as client:
            return [(await _send(client, fake)).status_code for _ in range(30)]
    finally:
        await fake.stop()


async def test_faults_are_seeded_and_reproducible() -> None:
    first, again, other = await _outcomes(1), await _outcomes(1), await _outcomes(2)
    assert first == again
    assert first != other
    assert {201, 429, 500} == set(first)


async def test_control_endpoint_sets_knobs(fake_twilio: FakeTwilio) -> None:
    async with httpx.AsyncClient(base_url=fake_twilio.base_url) as plain:
        await plain.post("/__control", json={"throttle_rate": 1.0, "permanent": {TO: 21610},
                                             "undeliverable": [TO], "callback_delay_ms": 5})  # fmt: skip
        stats = (await plain.get("/__stats")).json()
    assert fake_twilio.throttle_rate == 1.0 and fake_twilio.permanent == {TO: 21610}
    assert fake_twilio.undeliverable == {TO} and fake_twilio.callback_delay_ms == 5
    assert stats["messages"] == 0


@pytest.mark.parametrize(
    ("times", "expected"),
    [([], 0), ([0.0], 1), ([0.0, 0.5, 0.99], 3), ([0.0, 0.5, 1.0], 2), ([0.9, 1.1, 1.2, 2.5], 3),
     ([3.0, 0.1, 0.2], 2)],
)  # fmt: skip
def test_max_in_any_second_uses_sliding_windows(times: list[float], expected: int) -> None:
    assert max_in_window(times, 1.0) == expected


async def test_reset_forgets_messages_but_keeps_knobs(fake_twilio: FakeTwilio) -> None:
    fake_twilio.latency_ms = 1
    async with _client(fake_twilio) as client:
        await _send(client, fake_twilio)
        await client.post("/__control", json={"reset": True})
        listed = (await client.get(_messages(fake_twilio))).json()
    stats = fake_twilio.stats()
    assert (stats["messages"], stats["max_in_any_second"], stats["span_seconds"]) == (0, 0, 0.0)
    assert listed["messages"] == [] and fake_twilio.latency_ms == 1
