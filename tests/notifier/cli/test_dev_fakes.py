"""`guatu dev fake-twilio`, `fake-aliyun` and `fake-wecom` serve their fakes until interrupted, and
the production adapters reach them with the settings they print."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from notifier.core.settings import load_settings
from notifier.sending.providers.aliyun import AliyunProvider
from notifier.sending.providers.base import TemplateUse
from notifier.sending.providers.twilio import TwilioProvider

ROOT = Path(__file__).resolve().parents[3]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(command: str, port: int) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-c", "from notifier.cli import main; main()", "dev", command,
                             "--port", str(port)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/__stats", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail(f"guatu dev {command} did not start")
    return proc


def _stop(proc: subprocess.Popen[str]) -> str:
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=20)
    return out


@pytest.mark.parametrize("command", ["fake-twilio", "fake-aliyun"])
async def test_dev_fakes_take_messages_from_the_real_adapters(command: str) -> None:
    port = _free_port()
    proc = _serve(command, port)
    try:
        if command == "fake-twilio":
            settings = load_settings(_env_file=None, sms_backend="twilio", twilio_base_url=f"http://127.0.0.1:{port}",
                                     twilio_account_sid="AC" + "f" * 32, twilio_auth_token="fake-twilio-auth-token",
                                     twilio_from="+15005550006")  # fmt: skip
            provider: TwilioProvider | AliyunProvider = TwilioProvider(settings)
        else:
            settings = load_settings(_env_file=None, sms_backend="aliyun", aliyun_endpoint=f"127.0.0.1:{port}",
                                     aliyun_protocol="http", aliyun_access_key_id="LTAI5tFakeAccessKey",
                                     aliyun_access_key_secret="fake-aliyun-secret",
                                     sms_signature="【阿拉善盟发改委】")  # fmt: skip
            provider = AliyunProvider(settings)
        # The fake's registered template, with its named parameters (Twilio ignores it).
        template = TemplateUse("SMS_900001", {"summary": "测试", "name": "王局长"})
        result = await provider.send(
            to="+8613904830001", body="【阿拉善盟发改委】测试短信", template=template
        )
        await provider.aclose()
        assert result.sid
        stats = httpx.get(f"http://127.0.0.1:{port}/__stats", timeout=5).json()
        assert stats["by_to"] == {"+8613904830001": 1}
    finally:
        out = _stop(proc)
    assert re.search(r"127\.0\.0\.1:" + str(port), out), out


async def test_dev_fake_wecom_takes_messages_from_the_real_client(redis: object) -> None:
    from web.fakes.wecom import DEFAULT_AES_KEY, FakeWecom
    from wecom.client import WecomClient

    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-c", "from notifier.cli import main; main()", "dev", "fake-wecom",
                             "--port", str(port), "--member", "13904830001=wangwei"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/__stats", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            pytest.fail("guatu dev fake-wecom did not start")
        defaults = FakeWecom()
        settings = load_settings(_env_file=None, wecom_corp_id=defaults.corp_id, wecom_agent_id=defaults.agent_id,
                                 wecom_secret=defaults.secret, wecom_token=defaults.token, wecom_aes_key=DEFAULT_AES_KEY,
                                 wecom_api_base=f"http://127.0.0.1:{port}/cgi-bin")  # fmt: skip
        client = WecomClient(settings, redis)
        try:
            userid = await client.userid_by_mobile("13904830001")
            await client.send_message({"touser": userid, "msgtype": "text", "text": {"content": "测试"}})
        finally:
            await client.aclose()
        stats = httpx.get(f"http://127.0.0.1:{port}/__stats", timeout=5).json()
        assert stats["by_user"] == {"wangwei": 1} and stats["gettoken_calls"] == 1
    finally:
        out = _stop(proc)
    assert f"WECOM_API_BASE=http://127.0.0.1:{port}/cgi-bin" in out, out
