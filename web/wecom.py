"""WeCom callback URL (接收消息服务器): GET answers the URL verification, POST takes encrypted
replies and button presses (the weekly report, 我的项目, 已阅, sign-off; wecom/handlers.py). A request that is unsigned, forged, stale or undecryptable gets 403;
a replayed or repeated one gets an empty 200 (WeCom stops retrying) and is not acted on. Either
way nothing changes.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, BackgroundTasks, HTTPException, Request
from fastapi.responses import PlainTextResponse

from models import utcnow
from notifier.core.settings import Settings
from notifier.core.texts import t
from wecom.callback import MAX_BODY_BYTES, CallbackCrypto, CallbackRefusedError, ReplayGuard
from wecom.channel import WecomChannel
from wecom.handlers import Answer, handle

log = logging.getLogger("guatu.web.wecom")
router = APIRouter(prefix="/webhooks/wecom", tags=["wecom"])


@dataclass
class WecomWeb:
    """What the callback needs, built once per app (tests may put their own in app.state.wecom)."""

    crypto: CallbackCrypto
    guard: ReplayGuard | None  # None without Redis: callbacks are refused (503)
    channel: WecomChannel | None  # None: answers are not sent (tests of the callback alone)

    async def aclose(self) -> None:
        if self.channel is not None:
            await self.channel.aclose()


def open_wecom(settings: Settings, redis: Any) -> WecomWeb | None:
    """The callback's crypto, replay guard and client when WeCom is configured; else None, said in one line."""
    if not settings.wecom_configured:
        log.warning(t("wecom.off", settings.language))
        return None
    from wecom.client import WecomClient

    assert settings.wecom_token is not None and settings.wecom_aes_key is not None
    crypto = CallbackCrypto(token=settings.wecom_token.get_secret_value(),
                            aes_key=settings.wecom_aes_key.get_secret_value(), corp_id=settings.wecom_corp_id or "")  # fmt: skip
    if redis is None:
        log.warning(
            "WeCom callbacks need REDIS_URL (replay protection and the shared token); they are refused"
        )
        return WecomWeb(crypto=crypto, guard=None, channel=None)
    return WecomWeb(
        crypto=crypto, guard=ReplayGuard(redis), channel=WecomChannel(WecomClient(settings, redis))
    )


def _wecom(request: Request) -> WecomWeb:
    wecom: WecomWeb | None = getattr(request.app.state, "wecom", None)
    if wecom is None:
        raise HTTPException(status_code=404, detail="WeCom is not configured")
    if wecom.guard is None:
        raise HTTPException(status_code=503, detail="WeCom callbacks need REDIS_URL")
    return wecom


@router.get("")
async def verify_url(
    request: Request, msg_signature: str = "", timestamp: str = "", nonce: str = "", echostr: str = ""
) -> PlainTextResponse:
    """Saving the callback URL in WeCom's console: echo the decrypted echostr, and nothing else."""
    wecom = _wecom(request)
    try:
        echo = wecom.crypto.verify_url(msg_signature=msg_signature, timestamp=timestamp, nonce=nonce,
                                       echostr=echostr, now=time.time())  # fmt: skip
    except CallbackRefusedError as exc:
        log.warning("WeCom URL verification refused: %s", exc)
        raise HTTPException(status_code=403, detail="forbidden") from None
    return PlainTextResponse(echo)


async def _body(request: Request) -> bytes:
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise HTTPException(status_code=413, detail="too large")
    return body


async def send_answers(channel: WecomChannel | None, answers: list[Answer]) -> None:
    """After the response: each answer on its own, so one failure does not hold back the rest."""
    if channel is None:
        return
    for answer in answers:
        try:
            if answer.card_label and answer.response_code:
                await channel.answer_card(userid=answer.userid, response_code=answer.response_code,
                                          label=answer.card_label)  # fmt: skip
            if answer.text:
                await channel.send_chat(userid=answer.userid, text=answer.text, buttons=answer.buttons)
        except Exception:  # the member's action is recorded; only the acknowledgement is lost
            log.exception("WeCom answer to %s could not be sent", answer.userid)


@router.post("")
async def callback(
    request: Request,
    background: BackgroundTasks,
    msg_signature: str = "",
    timestamp: str = "",
    nonce: str = "",
) -> PlainTextResponse:
    """A member's reply or button press, encrypted; acted on once."""
    wecom = _wecom(request)
    assert wecom.guard is not None
    try:
        inbound = wecom.crypto.open(msg_signature=msg_signature, timestamp=timestamp, nonce=nonce,
                                    body=await _body(request), now=time.time())  # fmt: skip
    except CallbackRefusedError as exc:
        log.warning("WeCom callback refused: %s", exc)
        raise HTTPException(status_code=403, detail="forbidden") from None
    signed = (msg_signature, timestamp, nonce)
    clock = getattr(request.app.state, "clock", utcnow)  # tests may set the office's "now"
    if not await wecom.guard.first_time(signed, inbound):
        log.info("WeCom callback seen before (%s); not acted on again", inbound.identity)
        return PlainTextResponse("")
    try:
        async with request.app.state.sessionmaker() as session:
            answers = await handle(inbound, session=session, settings=request.app.state.settings,
                                   now=clock(), redis=wecom.guard.redis)  # fmt: skip
    except Exception:
        await wecom.guard.forget(
            signed, inbound
        )  # WeCom retries an unanswered callback: let that one through
        raise
    background.add_task(send_answers, wecom.channel, answers)
    return PlainTextResponse("")
