"""The Twilio fake and the requests Guatu sends, checked against Twilio's own OpenAPI description of API
v2010 (tests/fixtures/twilio/twilio_api_v2010.json.gz, from the public twilio-oai repository) with openapi-core:
every request twilio-python made for Guatu (create, list, fetch), every Message resource and list the
fake answered, and its error bodies against the error schema the same file gives (code, message,
more_info, status)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from openapi_core import OpenAPI
from openapi_core.testing import MockRequest, MockResponse

from notifier.sending.providers.base import ProviderError
from notifier.sending.providers.twilio import TwilioProvider
from web.fakes.twilio import Exchange, FakeTwilio

REFERENCE = Path(__file__).resolve().parents[2] / "fixtures" / "twilio" / "twilio_api_v2010.json.gz"
TO = "+8613904830001"


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(gzip.decompress(REFERENCE.read_bytes()).decode("utf-8"))
    return data


@pytest.fixture(scope="module")
def openapi(spec: dict[str, Any]) -> OpenAPI:
    return OpenAPI.from_dict(spec)  # type: ignore[arg-type]


def error_schema(spec: dict[str, Any]) -> dict[str, Any]:
    """Twilio's error body as the file describes it (the only error response it spells out)."""
    path = spec["paths"]["/2010-04-01/Accounts/{AccountSid}/Calls/{CallSid}/Recordings/{Sid}.json"]
    schema: dict[str, Any] = path["post"]["responses"]["408"]["content"]["application/json"]["schema"]
    return {**schema, "required": ["code", "message", "more_info", "status"]}


def _request(exchange: Exchange) -> MockRequest:
    query = dict(item.split("=", 1) for item in exchange.query.split("&") if "=" in item)
    from urllib.parse import unquote_plus

    return MockRequest("https://api.twilio.com", exchange.method.lower(), exchange.path,
                       args={unquote_plus(k): unquote_plus(v) for k, v in query.items()},
                       headers={k.lower(): v for k, v in exchange.headers.items()}, data=exchange.body or None,
                       content_type=exchange.headers.get("Content-Type", "application/json").split(";")[0])  # fmt: skip


def check(openapi: OpenAPI, spec: dict[str, Any], exchanges: list[Exchange]) -> int:
    """Validate each exchange; errors against the error schema. Returns how many were checked."""
    for exchange in exchanges:
        request = _request(exchange)
        openapi.validate_request(request)
        if exchange.status < 400:
            openapi.validate_response(request, MockResponse(exchange.response, status_code=exchange.status,
                                                            content_type=exchange.content_type))  # fmt: skip
        else:
            body = json.loads(exchange.response)
            jsonschema.validate(body, error_schema(spec))
            assert body["status"] == exchange.status and str(body["code"]) in body["more_info"]
    return len(exchanges)


async def test_requests_and_answers_validate_against_twilios_openapi(
    fake_twilio: FakeTwilio, openapi: OpenAPI, spec: dict[str, Any]
) -> None:
    fake_twilio.exchanges = []
    fake_twilio.callbacks_first = True
    plain = TwilioProvider(fake_twilio.settings(public_base_url="http://127.0.0.1:9"))
    service = TwilioProvider(
        fake_twilio.settings(twilio_messaging_service_sid="MG" + "1" * 32, twilio_from=None)
    )
    try:
        sent = await plain.send(to=TO, body="【阿拉善盟发改委】本周通报")
        await service.send(to="+8613904830002", body="通报")
        await plain.find_sent(to=TO, since=sent_time(fake_twilio))
        client = plain._ensure_client()
        await client.messages(sent.sid).fetch_async()
    finally:
        await plain.aclose()
        await service.aclose()
    assert [e.status for e in fake_twilio.exchanges] == [201, 201, 200, 200]
    assert check(openapi, spec, fake_twilio.exchanges) == 4


def sent_time(fake: FakeTwilio) -> Any:
    return fake.messages[0].created


@pytest.mark.parametrize(
    ("setup", "status"), [("invalid", 400), ("token", 401), ("throttle", 429), ("down", 500)]
)
async def test_error_bodies_validate_against_twilios_error_schema(
    fake_twilio: FakeTwilio, openapi: OpenAPI, spec: dict[str, Any], setup: str, status: int
) -> None:
    fake_twilio.exchanges = []
    overrides: dict[str, Any] = {}
    if setup == "invalid":
        fake_twilio.permanent[TO] = 21211
    elif setup == "token":
        overrides["twilio_auth_token"] = "wrong"
    elif setup == "throttle":
        fake_twilio.throttle_rate = 1.0
    else:
        fake_twilio.fail_rate = 1.0
    provider = TwilioProvider(fake_twilio.settings(**overrides))
    try:
        with pytest.raises(ProviderError):
            await provider.send(to=TO, body="x")
    finally:
        await provider.aclose()
    [exchange] = fake_twilio.exchanges
    assert exchange.status == status
    if setup == "token":  # a wrong token is still a well-formed request with Basic auth
        assert exchange.headers["Authorization"].startswith("Basic ")
    assert check(openapi, spec, fake_twilio.exchanges) == 1


async def test_a_resource_that_breaks_the_description_is_caught(
    fake_twilio: FakeTwilio, openapi: OpenAPI, spec: dict[str, Any]
) -> None:
    """The check can fail: a status Twilio never returns is refused by the description."""
    fake_twilio.exchanges = []
    provider = TwilioProvider(fake_twilio.settings())
    try:
        await provider.send(to=TO, body="x")
    finally:
        await provider.aclose()
    [exchange] = fake_twilio.exchanges
    broken = json.loads(exchange.response) | {"status": "teleported"}
    bad = Exchange(**{**exchange.__dict__, "response": json.dumps(broken).encode()})
    with pytest.raises(Exception, match="(?i)invalid|schema"):
        check(openapi, spec, [bad])
