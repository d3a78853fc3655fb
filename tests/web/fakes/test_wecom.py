"""The WeCom fake itself, spoken to with plain HTTP: WeCom's JSON shapes and error codes, one token
while valid, cards and their one-use response codes, and callbacks sealed as WeCom seals them."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from wechatpy.enterprise.crypto import WeChatCrypto

from web.fakes.wecom import FakeWecom


async def _token(http: httpx.AsyncClient, fake: FakeWecom) -> str:
    data = (await http.get("/gettoken", params={"corpid": fake.corp_id, "corpsecret": fake.secret})).json()
    assert data["errcode"] == 0 and 0 < data["expires_in"] <= 7200
    return str(data["access_token"])


def _http(fake: FakeWecom) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=fake.api_base)


async def _send(http: httpx.AsyncClient, fake: FakeWecom, token: str, **body: Any) -> dict[str, Any]:
    message = {"touser": "u1", "msgtype": "text", "agentid": fake.agent_id, "text": {"content": "hi"}, **body}
    data: dict[str, Any] = (
        await http.post("/message/send", params={"access_token": token}, json=message)
    ).json()
    return data


@pytest.mark.parametrize(("params", "code"), [({"corpid": "ww0", "corpsecret": "fake-wecom-app-secret"}, 40013),
                                              ({"corpid": "wwfa4ec0de00000001", "corpsecret": "no"}, 40001)])  # fmt: skip
async def test_gettoken_refuses_wrong_credentials(
    fake_wecom: FakeWecom, params: dict[str, str], code: int
) -> None:
    async with _http(fake_wecom) as http:
        assert (await http.get("/gettoken", params=params)).json()["errcode"] == code


async def test_same_token_while_valid_and_expired_ones_answer_42001(fake_wecom: FakeWecom) -> None:
    fake_wecom.add_member("13900000001", "u1")
    async with _http(fake_wecom) as http:
        token = await _token(http, fake_wecom)
        assert await _token(http, fake_wecom) == token
        assert (await _send(http, fake_wecom, "made-up"))["errcode"] == 40014
        assert (await _send(http, fake_wecom, token))["errcode"] == 0
        fake_wecom.expire_tokens()
        assert (await _send(http, fake_wecom, token))["errcode"] == 42001
        assert await _token(http, fake_wecom) != token
    assert len(fake_wecom.messages) == 1


async def test_throttle_and_unreachable_members(fake_wecom: FakeWecom) -> None:
    fake_wecom.add_member("13900000001", "u1")
    fake_wecom.add_member("13900000002", "hidden", visible=False)
    async with _http(fake_wecom) as http:
        token = await _token(http, fake_wecom)
        fake_wecom.throttle_next = 1
        assert (await _send(http, fake_wecom, token))["errcode"] == 45009
        refused = await _send(http, fake_wecom, token, touser="hidden")
        assert (refused["errcode"], refused["invaliduser"]) == (81013, "hidden")
        lookup = await http.post(
            "/user/getuserid", params={"access_token": token}, json={"mobile": "13900000003"}
        )
        assert lookup.json()["errcode"] == 60111
        found = await http.post(
            "/user/getuserid", params={"access_token": token}, json={"mobile": "13900000002"}
        )
        assert found.json()["userid"] == "hidden"
        assert (await _send(http, fake_wecom, token, agentid=1))["errcode"] == 40056
    assert fake_wecom.messages == [] and fake_wecom.lookup_misses == 1


async def test_cards_are_checked_and_updated_once_per_code(fake_wecom: FakeWecom) -> None:
    fake_wecom.add_member("13900000001", "u1")
    card = {"card_type": "button_interaction", "main_title": {"title": "通报"}, "task_id": "t-1",
            "button_list": [{"text": "已阅", "style": 1, "key": "rd:1"}]}  # fmt: skip
    async with _http(fake_wecom) as http:
        token = await _token(http, fake_wecom)
        sent = await _send(http, fake_wecom, token, msgtype="template_card", template_card=card)
        assert sent["errcode"] == 0 and sent["response_code"]
        again = await _send(http, fake_wecom, token, msgtype="template_card", template_card=card)
        assert again["errcode"] == 40058  # a task id is good once
        update = {"userids": ["u1"], "agentid": fake_wecom.agent_id, "response_code": sent["response_code"],
                  "button": {"replace_name": "已阅 ✓"}}  # fmt: skip
        url = "/message/update_template_card"
        assert (await http.post(url, params={"access_token": token}, json=update)).json()["errcode"] == 0
        assert (await http.post(url, params={"access_token": token}, json=update)).json()["errcode"] == 40058
    assert fake_wecom.cards["t-1"].label == "已阅 ✓"


def test_callbacks_are_sealed_as_wecom_seals_them(fake_wecom: FakeWecom) -> None:
    params, body = fake_wecom.callback_request(fake_wecom.text_xml("u1", "收到 <ok> & 谢谢"))
    assert abs(int(params["timestamp"]) - time.time()) < 5
    # wechatpy, independently of Guatu's code, verifies and decrypts what the fake posts.
    plain = WeChatCrypto(fake_wecom.token, fake_wecom.aes_key, fake_wecom.corp_id).decrypt_message(
        body, params["msg_signature"], params["timestamp"], params["nonce"]
    )
    # Inside CDATA the text is as typed, not entity-escaped (as WeCom writes it).
    assert "<FromUserName><![CDATA[u1]]></FromUserName>" in plain and "<![CDATA[收到 <ok> & 谢谢]]>" in plain
