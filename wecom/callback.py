"""The app's callback URL as WeCom calls it: signature, freshness and replay checks, decryption
(wechatpy's WeChatCrypto: AES-256-CBC, the corp id inside), and the decrypted XML as an Inbound.

A request must carry msg_signature = SHA1 of the sorted (token, timestamp, nonce, ciphertext),
a timestamp within MAX_AGE_SECONDS of now, and a (signature, timestamp, nonce) not seen before in
Redis; the message inside must not have been handled before (its MsgId, or for an event the
member, time, key and card). WeCom retries a callback it got no answer to within 5 s; such a
retry is the same message, answered and not handled twice.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, replace
from typing import Any
from xml.parsers.expat import ExpatError

import xmltodict
from wechatpy.enterprise.crypto import PrpCrypto, WeChatCrypto

from notifier.core.errors import GuatuError
from wecom import keys

MAX_AGE_SECONDS = 300
MAX_BODY_BYTES = 64 * 1024
# A seen request must be remembered for as long as its timestamp would still pass (both ways).
REQUEST_MEMORY_SECONDS = 2 * MAX_AGE_SECONDS + 60
MESSAGE_MEMORY_SECONDS = 24 * 3600


class CallbackRefusedError(GuatuError):
    """Unsigned, forged, stale or undecryptable: nothing in it is acted on."""


@dataclass(frozen=True)
class Inbound:
    """One decrypted message or event from a member."""

    kind: str  # "text" (a reply), "button" (template_card_event) or "other"
    userid: str
    created: int
    agent_id: int | None = None
    text: str = ""
    key: str = ""  # the pressed button's key: the callback data it was sent with
    task_id: str = ""
    response_code: str = ""  # lets the app update the pressed card once (72 h)
    msg_id: str = ""
    event: str = ""

    @property
    def identity(self) -> str:
        """What makes it the same message when WeCom delivers it again."""
        if self.msg_id:
            return f"msg:{self.msg_id}"
        return f"event:{self.userid}:{self.created}:{self.event}:{self.key}:{self.task_id}"


def signature(token: str, timestamp: str, nonce: str, encrypted: str) -> str:
    return hashlib.sha1("".join(sorted([token, timestamp, nonce, encrypted])).encode()).hexdigest()


def _xml(text: str | bytes) -> dict[str, Any]:
    try:
        data = xmltodict.parse(text)  # entities are not expanded (xmltodict's default)
    except (ExpatError, ValueError) as exc:
        raise CallbackRefusedError(f"malformed XML ({type(exc).__name__})") from None
    root = data.get("xml") if isinstance(data, dict) else None
    if not isinstance(root, dict):
        raise CallbackRefusedError("no <xml> root")
    return root


def _int(value: Any) -> int | None:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return None


def parse_inbound(xml: str) -> Inbound:
    """The decrypted XML as an Inbound (wechatpy 1.8's parser knows no template_card_event)."""
    m = _xml(xml)
    userid = str(m.get("FromUserName") or "")
    if not userid:
        raise CallbackRefusedError("no FromUserName")
    base = Inbound(kind="other", userid=userid, created=_int(m.get("CreateTime")) or 0,
                   agent_id=_int(m.get("AgentID")), msg_id=str(m.get("MsgId") or ""))  # fmt: skip
    msg_type = str(m.get("MsgType") or "").lower()
    if msg_type == "text":
        return replace(base, kind="text", text=str(m.get("Content") or ""))
    event = str(m.get("Event") or "").lower()
    if msg_type == "event" and event == "template_card_event":
        return replace(base, kind="button", event=event, key=str(m.get("EventKey") or ""),
                       task_id=str(m.get("TaskId") or ""), response_code=str(m.get("ResponseCode") or ""))  # fmt: skip
    return replace(base, event=event or msg_type)


class CallbackCrypto:
    """Checks and opens callbacks for one app (Token, EncodingAESKey, CorpID); seals them for the fake."""

    def __init__(self, *, token: str, aes_key: str, corp_id: str) -> None:
        self._token = token
        self._crypto = WeChatCrypto(token, aes_key, corp_id)
        self._key = self._crypto.key
        self.corp_id = corp_id

    def _check(self, *, msg_signature: str, timestamp: str, nonce: str, encrypted: str, now: float) -> None:
        if not (msg_signature and timestamp and nonce and encrypted):
            raise CallbackRefusedError(
                "unsigned: msg_signature, timestamp, nonce and the ciphertext are required"
            )
        # Compared in constant time here; wechatpy compares again, with ==.
        if not hmac.compare_digest(signature(self._token, timestamp, nonce, encrypted), msg_signature):
            raise CallbackRefusedError("bad msg_signature")
        if not timestamp.isdigit() or abs(now - int(timestamp)) > MAX_AGE_SECONDS:
            raise CallbackRefusedError("stale timestamp")

    def verify_url(self, *, msg_signature: str, timestamp: str, nonce: str, echostr: str, now: float) -> str:
        """The GET that WeCom sends when the callback URL is saved: the decrypted echostr."""
        self._check(msg_signature=msg_signature, timestamp=timestamp, nonce=nonce, encrypted=echostr, now=now)
        try:
            return str(self._crypto.check_signature(msg_signature, timestamp, nonce, echostr))
        except Exception as exc:  # wechatpy raises whatever a bad ciphertext makes it raise
            raise CallbackRefusedError(f"cannot decrypt echostr ({type(exc).__name__})") from None

    def open(self, *, msg_signature: str, timestamp: str, nonce: str, body: bytes, now: float) -> Inbound:
        """A POSTed callback: checked, decrypted and parsed."""
        encrypted = str(_xml(body).get("Encrypt") or "")
        self._check(
            msg_signature=msg_signature, timestamp=timestamp, nonce=nonce, encrypted=encrypted, now=now
        )
        try:
            xml = self._crypto.decrypt_message({"Encrypt": encrypted}, msg_signature, timestamp, nonce)
        except Exception as exc:  # a wrong corp id inside, bad padding, not base64...
            raise CallbackRefusedError(f"cannot decrypt ({type(exc).__name__})") from None
        return parse_inbound(xml)

    def seal(self, plaintext: str, *, timestamp: str, nonce: str) -> tuple[str, str]:
        """(ciphertext, msg_signature) as WeCom makes them: what the fake posts."""
        encrypted = PrpCrypto(self._key).encrypt(plaintext, self.corp_id)
        encrypted = encrypted.decode() if isinstance(encrypted, bytes) else str(encrypted)
        return encrypted, signature(self._token, timestamp, nonce, encrypted)


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()


class ReplayGuard:
    """Remembers callbacks in Redis: a request (msg_signature, timestamp, nonce) and a message are
    each let through once; `forget` lets WeCom's retry through when handling failed."""

    def __init__(self, redis: Any) -> None:
        self.redis = redis

    @staticmethod
    def _keys(request: tuple[str, str, str], inbound: Inbound) -> tuple[str, str]:
        return (keys.SEEN_REQUEST.format(digest=_digest(*request)),
                keys.SEEN_MESSAGE.format(digest=_digest(inbound.identity)))  # fmt: skip

    async def first_time(self, request: tuple[str, str, str], inbound: Inbound) -> bool:
        request_key, message_key = self._keys(request, inbound)
        if not await self.redis.set(request_key, "1", nx=True, ex=REQUEST_MEMORY_SECONDS):
            return False
        return bool(await self.redis.set(message_key, "1", nx=True, ex=MESSAGE_MEMORY_SECONDS))

    async def forget(self, request: tuple[str, str, str], inbound: Inbound) -> None:
        await self.redis.delete(*self._keys(request, inbound))
