"""The callback crypto: vectors from wechatpy's own tests (WeCom's format), and every way a
callback is refused — unsigned, forged, stale, encrypted for another corp or with another key."""

from __future__ import annotations

import time

import pytest

from wecom.callback import CallbackCrypto, CallbackRefusedError, parse_inbound, signature

# wechatpy's tests/test_crypto.py (WeCom's sample format): token, EncodingAESKey, CorpID.
TOKEN, AES_KEY, CORP = "123456", "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR", "wx49f0ab532d5d035a"
VECTOR_BODY = b"""<xml><ToUserName><![CDATA[wx49f0ab532d5d035a]]></ToUserName>
<Encrypt><![CDATA[RgqEoJj5A4EMYlLvWO1F86ioRjZfaex/gePD0gOXTxpsq5Yj4GNglrBb8I2BAJVODGajiFnXBu7mCPatfjsu6IHCrsTyeDXzF6Bv283dGymzxh6ydJRvZsryDyZbLTE7rhnus50qGPMfp2wASFlzEgMW9z1ef/RD8XzaFYgm7iTdaXpXaG4+BiYyolBug/gYNx410cvkKR2/nPwBiT+P4hIiOAQqGp/TywZBtDh1yCF2KOd0gpiMZ5jSw3e29mTvmUHzkVQiMS6td7vXUaWOMZnYZlF3So2SjHnwh4jYFxdgpkHHqIrH/54SNdshoQgWYEvccTKe7FS709/5t6NMxuGhcUGAPOQipvWTT4dShyqio7mlsl5noTrb++x6En749zCpQVhDpbV6GDnTbcX2e8K9QaNWHp91eBdCRxthuL0=]]></Encrypt>
<AgentID><![CDATA[1]]></AgentID>
</xml>"""
VECTOR = {
    "msg_signature": "74d92dfeb87ba7c714f89d98870ae5eb62dff26d",
    "timestamp": "1411525903",
    "nonce": "461056294",
}
ECHO = {"msg_signature": "dd6b9c95b495b3f7e2901bfbc76c664930ffdb96", "timestamp": "1411443780", "nonce": "437374425",
        "echostr": "4ByGGj+sVCYcvGeQYhaKIk1o0pQRNbRjxybjTGblXrBaXlTXeOo1+bXFXDQQb1o6co6Yh9Bv41n7hOchLF6p+Q=="}  # fmt: skip


def _crypto(corp: str = CORP, key: str = AES_KEY, token: str = TOKEN) -> CallbackCrypto:
    return CallbackCrypto(token=token, aes_key=key, corp_id=corp)


def test_known_callback_opens() -> None:
    inbound = _crypto().open(body=VECTOR_BODY, now=1411525903 + 10, **VECTOR)
    assert (inbound.kind, inbound.userid, inbound.text, inbound.agent_id) == ("text", "messense", "test", 1)


def test_known_url_verification_echoes() -> None:
    echo = _crypto().verify_url(now=1411443780, **ECHO)
    assert echo and echo.isascii()


def test_signature_matches_the_vector() -> None:
    encrypted = VECTOR_BODY.split(b"CDATA[")[2].split(b"]]")[0].decode()
    assert signature(TOKEN, VECTOR["timestamp"], VECTOR["nonce"], encrypted) == VECTOR["msg_signature"]


@pytest.mark.parametrize("missing", ["msg_signature", "timestamp", "nonce"])
def test_unsigned_is_refused(missing: str) -> None:
    with pytest.raises(CallbackRefusedError, match="unsigned"):
        _crypto().open(body=VECTOR_BODY, now=1411525903, **{**VECTOR, missing: ""})


@pytest.mark.parametrize(
    "changed", [{"msg_signature": "0" * 40}, {"nonce": "461056295"}, {"timestamp": "1411525904"}]
)
def test_forged_is_refused(changed: dict[str, str]) -> None:
    with pytest.raises(CallbackRefusedError, match="signature"):
        _crypto().open(body=VECTOR_BODY, now=1411525903, **{**VECTOR, **changed})


def test_tampered_ciphertext_is_refused() -> None:
    body = VECTOR_BODY.replace(b"RgqEoJj5", b"RgqEoJj6")
    with pytest.raises(CallbackRefusedError, match="signature"):
        _crypto().open(body=body, now=1411525903, **VECTOR)


@pytest.mark.parametrize("offset", [-301, 301, 86400])
def test_stale_or_future_timestamp_is_refused(offset: int) -> None:
    with pytest.raises(CallbackRefusedError, match="stale"):
        _crypto().open(body=VECTOR_BODY, now=1411525903 + offset, **VECTOR)


def test_message_for_another_corp_is_refused() -> None:
    # Signed with our token but encrypted for another corp id: wechatpy finds the other id inside.
    with pytest.raises(CallbackRefusedError, match="decrypt"):
        _crypto(corp="wwsomeoneelse").open(body=VECTOR_BODY, now=1411525903, **VECTOR)


def test_message_under_another_key_is_refused() -> None:
    other = _crypto(key="a" * 43)
    with pytest.raises(CallbackRefusedError, match="decrypt"):
        other.open(body=VECTOR_BODY, now=1411525903, **VECTOR)


@pytest.mark.parametrize("body", [b"", b"not xml", b"<xml><Encrypt>&lol;</Encrypt></xml>", b"<other/>",
                                  b'<!DOCTYPE x [<!ENTITY a "aaaa">]><xml><Encrypt>&a;</Encrypt></xml>'])  # fmt: skip
def test_malformed_body_is_refused(body: bytes) -> None:
    with pytest.raises(CallbackRefusedError):
        _crypto().open(body=body, now=1411525903, **VECTOR)


def test_sealed_callback_round_trips() -> None:
    crypto = _crypto()
    stamp = str(int(time.time()))
    xml = ("<xml><FromUserName><![CDATA[zhangsan]]></FromUserName><CreateTime>1</CreateTime>"
           "<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[template_card_event]]></Event>"
           "<EventKey><![CDATA[rd:7]]></EventKey><TaskId><![CDATA[t1]]></TaskId>"
           "<ResponseCode><![CDATA[rc]]></ResponseCode><AgentID>5</AgentID></xml>")  # fmt: skip
    encrypted, sig = crypto.seal(xml, timestamp=stamp, nonce="n1")
    body = f"<xml><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>".encode()
    inbound = crypto.open(msg_signature=sig, timestamp=stamp, nonce="n1", body=body, now=time.time())
    assert (inbound.kind, inbound.key, inbound.task_id, inbound.response_code, inbound.agent_id) == (
        "button", "rd:7", "t1", "rc", 5)  # fmt: skip


@pytest.mark.parametrize(
    ("xml", "kind"),
    [("<xml><FromUserName>u</FromUserName><MsgType>image</MsgType></xml>", "other"),
     ("<xml><FromUserName>u</FromUserName><MsgType>event</MsgType><Event>enter_agent</Event></xml>", "other"),
     ("<xml><FromUserName>u</FromUserName><MsgType>text</MsgType><Content>你好</Content><MsgId>9</MsgId></xml>", "text")],
)  # fmt: skip
def test_parse_inbound_kinds(xml: str, kind: str) -> None:
    assert parse_inbound(xml).kind == kind


def test_identity_tells_retries_from_new_presses() -> None:
    press = parse_inbound("<xml><FromUserName>u</FromUserName><CreateTime>5</CreateTime><MsgType>event</MsgType>"
                          "<Event>template_card_event</Event><EventKey>rd:1</EventKey><TaskId>t</TaskId></xml>")  # fmt: skip
    later = parse_inbound("<xml><FromUserName>u</FromUserName><CreateTime>6</CreateTime><MsgType>event</MsgType>"
                          "<Event>template_card_event</Event><EventKey>rd:1</EventKey><TaskId>t</TaskId></xml>")  # fmt: skip
    assert press.identity != later.identity
    assert (
        parse_inbound(
            "<xml><FromUserName>u</FromUserName><MsgType>text</MsgType><MsgId>42</MsgId></xml>"
        ).identity
        == "msg:42"
    )
