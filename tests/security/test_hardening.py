"""Hardening (issue items 8 and 9): security headers and a CSP no inline script gets past, HSTS and
Secure cookies behind https, no /openapi.json, link tokens kept out of the access log, a replayed
Twilio callback changing nothing, and a stalled body answered 408."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.types import Message
from twilio.request_validator import RequestValidator

from models import OptOut, WallLink
from notifier.core.settings import Settings
from tests.security.conftest import TWILIO_TOKEN, Live, csrf_of, login, make_admin, serve
from tests.security.test_bad_input import _world, live_settings
from web import guard
from web.app import create_app

TEMPLATES = Path(__file__).resolve().parents[2] / "web" / "templates"
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
INLINE_STYLE = re.compile(r"<style\b|\sstyle=|\son[a-z]+=|javascript:", re.I)
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
PAGES = ["/admin/login", "/admin", "/wall", "/admin/projects", "/admin/broadcast", "/admin/campaigns",
         "/admin/bulletins", "/admin/overdue", "/admin/import", "/admin/wall-links", "/admin/optouts",
         "/static/guatu.css", "/no-such-page"]  # fmt: skip


@pytest.mark.parametrize("template", sorted(p.name for p in TEMPLATES.glob("*.html")))
def test_no_template_holds_inline_script_or_style(template: str) -> None:
    text = (TEMPLATES / template).read_text()
    assert not INLINE_SCRIPT.search(text), "inline <script>: move it to web/static/"
    assert not INLINE_STYLE.search(text), "inline style or event handler: the CSP refuses it"


async def test_every_page_carries_the_security_headers(live: Live, session: AsyncSession) -> None:
    await make_admin(session)
    async with live.client() as client:
        assert (await login(client)).status_code == 303
        for path in PAGES:
            answer = await client.get(path)
            assert answer.status_code in (200, 404), path
            headers = answer.headers
            assert headers.get("content-security-policy") == CSP, path
            assert headers["x-content-type-options"] == "nosniff", path
            assert headers["referrer-policy"] == "no-referrer", path
            assert headers["x-frame-options"] == "DENY", path
            assert "strict-transport-security" not in headers, path  # plain http here
            if "text/html" in headers["content-type"]:
                assert not INLINE_SCRIPT.search(answer.text) and not INLINE_STYLE.search(answer.text), path
        assert (await client.get("/openapi.json")).status_code == 404
        assert (await client.get("/docs")).status_code == 404


async def test_https_brings_hsts_and_secure_cookies(
    session: AsyncSession, tmp_path: Path, redis: object
) -> None:
    await make_admin(session)
    with serve(tmp_path, redis_url=None, PUBLIC_BASE_URL="https://guatu.example.cn") as https:
        async with https.client() as client:
            page = await client.get("/admin/login")
            assert page.headers["strict-transport-security"].startswith("max-age=")
            # A Secure cookie is not sent back over plain http: send it by hand, as a proxy's https would.
            csrf_cookie = page.headers["set-cookie"].split(";", 1)[0]
            form = {"name": "管理员", "password": "correct horse battery", "csrf": csrf_of(page.text)}
            answer = await client.post("/admin/login", data=form, headers={"Cookie": csrf_cookie})
            assert answer.status_code == 303
            cookies = answer.headers.get_list("set-cookie")
            assert {c.split("=", 1)[0] for c in cookies} == {"guatu_session", "guatu_csrf"}
            assert all("; secure" in c.lower() and "httponly" in c.lower() for c in cookies), cookies
            assert "; secure" in page.headers["set-cookie"].lower()  # the CSRF cookie before signing in too


async def test_link_tokens_stay_out_of_the_access_log(
    live: Live, session: AsyncSession, settings: Settings
) -> None:
    token = await _world(session, settings)
    session.add(WallLink(label="大屏"))
    await session.commit()
    from notifier.reporting.links import wall_token

    wall = wall_token(live_settings(settings), link_id=1, version=1)
    async with live.client() as client:
        assert (await client.get(f"/r/{token}")).status_code == 200
        assert (await client.get(f"/wall?k={wall}&as_of=2026-11-20")).status_code == 200
        assert (await client.get("/r/1/2/0123456789abcdef0123")).status_code == 403
    await asyncio.sleep(0.5)
    log = live.log_text()
    assert "GET /r/… HTTP/1.1" in log and "/wall?k=…&as_of=2026-11-20" in log
    for secret in (token, wall, "0123456789abcdef0123"):
        assert secret not in log


async def test_a_replayed_twilio_callback_changes_nothing(live: Live, session: AsyncSession) -> None:
    url = f"{live.url}/webhooks/twilio/inbound"

    def signed(body: str, sid: str) -> tuple[dict[str, str], dict[str, str]]:
        params = {"From": "+8613904830001", "To": "+15005550006", "Body": body, "MessageSid": sid}
        return params, {"X-Twilio-Signature": RequestValidator(TWILIO_TOKEN).compute_signature(url, params)}

    async def opted_out() -> bool:
        return (
            await session.exec(select(OptOut).execution_options(populate_existing=True))
        ).first() is not None

    stop, start = signed("STOP", "SM" + "1" * 32), signed("START", "SM" + "2" * 32)
    async with live.client() as client:
        assert (await client.post(url, data=stop[0], headers=stop[1])).status_code == 200
        assert await opted_out()
        assert (await client.post(url, data=start[0], headers=start[1])).status_code == 200
        assert not await opted_out()
        replay = await client.post(url, data=stop[0], headers=stop[1])  # the first STOP, captured and resent
        assert replay.status_code == 200 and "<Message>" not in replay.text
        assert not await opted_out()


async def test_a_stalled_body_is_answered_408(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(guard, "BODY_IDLE_SECONDS", 0.2)
    app = create_app(settings)
    sent: list[Message] = []
    chunks = [{"type": "http.request", "body": b"name=a", "more_body": True}]

    async def receive() -> Message:
        if chunks:
            return chunks.pop()
        await asyncio.sleep(3600)  # the client stops sending
        raise AssertionError

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": "/admin/login", "raw_path": b"/admin/login", "query_string": b"", "root_path": "",
             "headers": [(b"host", b"test"), (b"content-type", b"application/x-www-form-urlencoded"),
                         (b"content-length", b"100")], "client": ("127.0.0.1", 1), "server": ("test", 80)}  # fmt: skip
    async with app.router.lifespan_context(app):
        await asyncio.wait_for(app(scope, receive, send), 5)
    assert sent[0]["status"] == 408
    assert (b"connection", b"close") in sent[0]["headers"]
