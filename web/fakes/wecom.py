"""A local fake of a WeCom (企业微信) self-built app, for tests and `guatu dev fake-wecom`.

It serves what Guatu's client calls, under `/cgi-bin`: `gettoken` (the same token while it is
valid, as WeCom does), `message/send` (text and template_card), `user/getuserid` and
`message/update_template_card`, with WeCom's JSON shapes and error codes: 40013 / 40001 (wrong
corp id / secret), 40014 (invalid access_token), 42001 (access_token expired), 45009 (over the
frequency limit), 60111 (no member with that mobile; WeCom has also been seen answering 46004,
which Guatu treats alike), 81013 with `invaliduser` (a member outside the app's visible range).
It records every message, and posts callbacks to Guatu's callback URL exactly as WeCom does:
the XML AES-encrypted with the EncodingAESKey and the corp id, msg_signature, timestamp and nonce
in the query — a text reply (`post_text`) or a button press on a card it delivered (`press`).

Knobs change while it runs, in code or through `POST /__control`: `expire_tokens` (every issued
token answers 42001), `throttle_next` (the next N API calls answer 45009). `GET /__stats` says
what was accepted; `POST /__callback` {"userid", "text"} or {"userid", "key"} posts a callback.
"""

from __future__ import annotations

import secrets
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from notifier.core.settings import Settings, load_settings
from web.fakes import serve
from wecom.callback import CallbackCrypto

DEFAULT_AES_KEY = "GuatuFakeWecomEncodingAesKey0123456789abcde"  # 43 characters, as WeCom's console makes
ERRORS = {
    40001: "invalid credential, hint: [corpsecret]",
    40013: "invalid corpid",
    40014: "invalid access_token",
    40056: "invalid agentid",
    40058: "invalid parameter",
    42001: "access_token expired",
    45009: "api freq out of limit",
    60111: "userid not found",
    81013: "user & party & tag all invalid",
}


def _cdata(text: str) -> str:
    """Text inside a CDATA section as WeCom writes it: as typed, a "]]>" split across two sections."""
    return text.replace("]]>", "]]]]><![CDATA[>")


@dataclass
class WecomMessage:
    msgid: str
    userid: str
    msgtype: str
    body: dict[str, Any]
    at: float

    @property
    def text(self) -> str:
        """What the member reads: the text, or the card's title and subtitle."""
        if self.msgtype == "text":
            return str(self.body["text"]["content"])
        card = self.body.get("template_card", {})
        return "\n".join(filter(None, [card.get("main_title", {}).get("title"), card.get("sub_title_text")]))

    @property
    def buttons(self) -> list[tuple[str, str]]:
        """(text, key) of a card's buttons."""
        card = self.body.get("template_card", {})
        return [(b["text"], b["key"]) for b in card.get("button_list", [])]


@dataclass
class Card:
    """A button card delivered to a member, and the response codes that may update it (once each)."""

    message: WecomMessage
    task_id: str
    codes: set[str] = field(default_factory=set)
    label: str | None = None


@dataclass
class FakeWecom:
    """The fake app. `members` maps mobile numbers to userids; `hidden` members are outside the
    app's visible range (getuserid finds them; messages to them are refused with 81013)."""

    corp_id: str = "wwfa4ec0de00000001"
    agent_id: int = 1000002
    secret: str = "fake-wecom-app-secret"
    token: str = "fake-wecom-callback-token"
    aes_key: str = DEFAULT_AES_KEY
    callback_url: str | None = None
    expires_in: int = 7200
    members: dict[str, str] = field(default_factory=dict)
    hidden: set[str] = field(default_factory=set)
    throttle_next: int = 0
    messages: list[WecomMessage] = field(default_factory=list)
    cards: dict[str, Card] = field(default_factory=dict)  # by task id
    refused: Counter[int] = field(default_factory=Counter)
    calls: Counter[str] = field(default_factory=Counter)  # API requests by path, whatever their answer
    gettoken_calls: int = 0
    lookup_misses: int = 0
    per_second: Counter[int] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self._tokens: dict[str, float] = {}  # token → when it expires (time.time())
        self._expired: set[str] = set()
        self._runner: web.AppRunner | None = None
        self.port = 0
        self.crypto = CallbackCrypto(token=self.token, aes_key=self.aes_key, corp_id=self.corp_id)

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}/cgi-bin"

    def settings(self, **overrides: Any) -> Settings:
        """Settings that point Guatu's WeCom client and callback at this fake."""
        values: dict[str, Any] = {"wecom_corp_id": self.corp_id, "wecom_agent_id": self.agent_id,
                                  "wecom_secret": self.secret, "wecom_token": self.token, "wecom_aes_key": self.aes_key,
                                  "wecom_api_base": self.api_base, "_env_file": None}  # fmt: skip
        values.update(overrides)
        return load_settings(**values)

    def add_member(self, mobile: str, userid: str, *, visible: bool = True) -> None:
        self.members[mobile] = userid
        if not visible:
            self.hidden.add(userid)

    def expire_tokens(self) -> None:
        """Every token issued so far answers 42001 from now on (as after its two hours)."""
        self._expired.update(self._tokens)
        self._tokens.clear()

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._count])
        app.router.add_get("/__stats", self._stats)
        app.router.add_post("/__control", self._control)
        app.router.add_post("/__callback", self._callback)
        app.router.add_get("/cgi-bin/gettoken", self._gettoken)
        app.router.add_post("/cgi-bin/message/send", self._send)
        app.router.add_post("/cgi-bin/user/getuserid", self._getuserid)
        app.router.add_post("/cgi-bin/message/update_template_card", self._update_card)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> FakeWecom:
        self._runner, self.port = await serve(self.app(), host, port)
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def to(self, userid: str) -> list[WecomMessage]:
        return [m for m in self.messages if m.userid == userid]

    def stats(self) -> dict[str, Any]:
        return {"messages": len(self.messages), "by_user": dict(Counter(m.userid for m in self.messages)),
                "refused": {str(code): n for code, n in self.refused.items()}, "gettoken_calls": self.gettoken_calls,
                "lookup_misses": self.lookup_misses, "calls": dict(self.calls), "max_per_second": max(self.per_second.values(), default=0),
                "card_labels": {c.task_id: c.label for c in self.cards.values() if c.label}}  # fmt: skip

    # -- the API --------------------------------------------------------------------------------

    @web.middleware
    async def _count(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if request.path.startswith("/cgi-bin/"):
            self.calls[request.path.removeprefix("/cgi-bin/")] += 1
        response: web.StreamResponse = await handler(request)
        return response

    def _error(self, code: int) -> web.Response:
        self.refused[code] += 1
        hint = secrets.token_hex(8)
        return web.json_response({"errcode": code, "errmsg": f"{ERRORS.get(code, 'error')}, hint: [{hint}]"})

    async def _gettoken(self, request: web.Request) -> web.Response:
        self.gettoken_calls += 1
        if request.query.get("corpid") != self.corp_id:
            return self._error(40013)
        if request.query.get("corpsecret") != self.secret:
            return self._error(40001)
        now = time.time()
        valid = [(token, until) for token, until in self._tokens.items() if until > now]
        if valid:  # WeCom hands out the same token while it is valid
            token, until = valid[0]
            return web.json_response({"errcode": 0, "errmsg": "ok", "access_token": token,
                                      "expires_in": int(until - now)})  # fmt: skip
        token = secrets.token_urlsafe(48)
        self._tokens[token] = now + self.expires_in
        return web.json_response(
            {"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": self.expires_in}
        )

    def _authorize(self, request: web.Request) -> web.Response | None:
        token = request.query.get("access_token", "")
        if token in self._expired or (token in self._tokens and self._tokens[token] <= time.time()):
            return self._error(42001)
        if token not in self._tokens:
            return self._error(40014)
        if self.throttle_next > 0:
            self.throttle_next -= 1
            return self._error(45009)
        return None

    async def _json(self, request: web.Request) -> dict[str, Any] | None:
        try:
            data = await request.json()
        except ValueError:
            return None
        return data if isinstance(data, dict) else None

    async def _getuserid(self, request: web.Request) -> web.Response:
        denied = self._authorize(request)
        if denied is not None:
            return denied
        data = await self._json(request) or {}
        userid = self.members.get(str(data.get("mobile", "")))
        if userid is None:
            self.lookup_misses += 1
            return self._error(60111)
        return web.json_response({"errcode": 0, "errmsg": "ok", "userid": userid})

    def _valid_card(self, card: Any) -> bool:
        if not isinstance(card, dict) or card.get("card_type") != "button_interaction":
            return False
        task_id, buttons = card.get("task_id"), card.get("button_list")
        return (isinstance(task_id, str) and 0 < len(task_id) <= 128 and task_id not in self.cards
                and isinstance(buttons, list) and 0 < len(buttons) <= 6
                and bool(card.get("main_title", {}).get("title") or card.get("sub_title_text")))  # fmt: skip

    async def _send(self, request: web.Request) -> web.Response:
        denied = self._authorize(request)
        if denied is not None:
            return denied
        data = await self._json(request)
        if data is None or data.get("msgtype") not in ("text", "template_card"):
            return self._error(40058)
        if data.get("agentid") != self.agent_id:
            return self._error(40056)
        userid = str(data.get("touser", ""))
        msgtype = str(data["msgtype"])
        if msgtype == "text" and not str(data.get("text", {}).get("content", "")).strip():
            return self._error(40058)
        if msgtype == "template_card" and not self._valid_card(data.get("template_card")):
            return self._error(40058)
        if userid not in self.members.values() or userid in self.hidden:
            self.refused[81013] += 1
            return web.json_response({"errcode": 81013, "errmsg": ERRORS[81013], "invaliduser": userid})
        message = WecomMessage(
            msgid=secrets.token_urlsafe(24), userid=userid, msgtype=msgtype, body=data, at=time.time()
        )
        self.messages.append(message)
        self.per_second[int(message.at)] += 1
        answer: dict[str, Any] = {"errcode": 0, "errmsg": "ok", "invaliduser": "", "msgid": message.msgid}
        if msgtype == "template_card":
            card = Card(message=message, task_id=data["template_card"]["task_id"])
            self.cards[card.task_id] = card
            answer["response_code"] = self._new_code(card)
        return web.json_response(answer)

    def _new_code(self, card: Card) -> str:
        code = secrets.token_urlsafe(32)
        card.codes.add(code)
        return code

    async def _update_card(self, request: web.Request) -> web.Response:
        denied = self._authorize(request)
        if denied is not None:
            return denied
        data = await self._json(request) or {}
        code = str(data.get("response_code", ""))
        card = next((c for c in self.cards.values() if code in c.codes), None)
        label = data.get("button", {}).get("replace_name")
        if card is None or data.get("agentid") != self.agent_id or not label:
            return self._error(40058)
        card.codes.discard(code)  # good for one update
        card.label = str(label)
        return web.json_response({"errcode": 0, "errmsg": "ok", "invaliduser": []})

    # -- callbacks, as WeCom posts them ------------------------------------------------------------

    def callback_request(
        self, plaintext: str, *, timestamp: int | None = None
    ) -> tuple[dict[str, str], bytes]:
        """The query and body WeCom posts for `plaintext`: encrypted, signed, stamped now."""
        stamp, nonce = str(timestamp if timestamp is not None else int(time.time())), secrets.token_hex(8)
        encrypted, signature = self.crypto.seal(plaintext, timestamp=stamp, nonce=nonce)
        body = (f"<xml><ToUserName><![CDATA[{self.corp_id}]]></ToUserName><AgentID><![CDATA[{self.agent_id}]]>"
                f"</AgentID><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>")  # fmt: skip
        return {"msg_signature": signature, "timestamp": stamp, "nonce": nonce}, body.encode()

    def text_xml(self, userid: str, content: str) -> str:
        return (f"<xml><ToUserName><![CDATA[{self.corp_id}]]></ToUserName><FromUserName><![CDATA[{userid}]]>"
                f"</FromUserName><CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
                f"<Content><![CDATA[{_cdata(content)}]]></Content><MsgId>{secrets.randbelow(10**18)}</MsgId>"
                f"<AgentID>{self.agent_id}</AgentID></xml>")  # fmt: skip

    def image_xml(self, userid: str) -> str:
        """A picture the member sent (WeCom gives its URL and media id, not the picture)."""
        return (f"<xml><ToUserName><![CDATA[{self.corp_id}]]></ToUserName><FromUserName><![CDATA[{userid}]]>"
                f"</FromUserName><CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[image]]></MsgType>"
                f"<PicUrl><![CDATA[https://wework.qpic.cn/fake/{secrets.token_hex(6)}]]></PicUrl>"
                f"<MediaId><![CDATA[{secrets.token_hex(16)}]]></MediaId><MsgId>{secrets.randbelow(10**18)}</MsgId>"
                f"<AgentID>{self.agent_id}</AgentID></xml>")  # fmt: skip

    def press_xml(self, userid: str, key: str) -> str:
        """The template_card_event of `userid` pressing the button `key` on the newest card they got with it."""
        card = next((c for c in reversed(self.cards.values())
                     if c.message.userid == userid and key in {k for _, k in c.message.buttons}), None)  # fmt: skip
        if card is None:
            raise LookupError(f"no card with a button {key!r} was sent to {userid}")
        code = self._new_code(card)
        return (f"<xml><ToUserName><![CDATA[{self.corp_id}]]></ToUserName><FromUserName><![CDATA[{userid}]]>"
                f"</FromUserName><CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
                f"<Event><![CDATA[template_card_event]]></Event><EventKey><![CDATA[{key}]]></EventKey>"
                f"<TaskId><![CDATA[{card.task_id}]]></TaskId><CardType><![CDATA[button_interaction]]></CardType>"
                f"<ResponseCode><![CDATA[{code}]]></ResponseCode><AgentID>{self.agent_id}</AgentID></xml>")  # fmt: skip

    async def post(self, plaintext: str, *, timestamp: int | None = None) -> int:
        """Post one encrypted callback to `callback_url`; the HTTP status Guatu answered."""
        if not self.callback_url:
            raise RuntimeError("FakeWecom.callback_url is not set")
        params, body = self.callback_request(plaintext, timestamp=timestamp)
        async with (
            aiohttp.ClientSession() as http,
            http.post(self.callback_url, params=params, data=body) as response,
        ):
            await response.read()
            return response.status

    async def post_text(self, userid: str, content: str) -> int:
        return await self.post(self.text_xml(userid, content))

    async def press(self, userid: str, key: str) -> int:
        return await self.post(self.press_xml(userid, key))

    # -- control ------------------------------------------------------------------------------

    async def _stats(self, _request: web.Request) -> web.Response:
        return web.json_response(self.stats())

    async def _control(self, request: web.Request) -> web.Response:
        data = await self._json(request) or {}
        if data.get("expire_tokens"):
            self.expire_tokens()
        if "throttle_next" in data:
            self.throttle_next = int(data["throttle_next"])
        if "callback_url" in data:
            self.callback_url = str(data["callback_url"])
        for mobile, userid in dict(data.get("members", {})).items():
            self.add_member(str(mobile), str(userid))
        return web.json_response({"ok": True})

    async def _callback(self, request: web.Request) -> web.Response:
        data = await self._json(request) or {}
        userid = str(data.get("userid", ""))
        try:
            xml = (
                self.press_xml(userid, str(data["key"]))
                if "key" in data
                else self.text_xml(userid, str(data["text"]))
            )
        except (KeyError, LookupError) as exc:
            return web.json_response({"ok": False, "error": str(exc)}, status=400)
        return web.json_response({"ok": True, "status": await self.post(xml)})
