"""`guatu dev ...`: local stand-ins for outside services (the Twilio, Alibaba Cloud and WeCom fakes)."""

from __future__ import annotations

import asyncio

import typer

from notifier.cli.main import app, console, run

dev_app = typer.Typer(help="开发工具 / development tools", no_args_is_help=True)
app.add_typer(dev_app, name="dev")


@dev_app.command("fake-twilio")
def fake_twilio(
    port: int = typer.Option(8790, help="监听端口 / port"),
    host: str = typer.Option("127.0.0.1", help="监听地址 / host"),
    latency_ms: int = typer.Option(0, "--latency-ms", min=0, help="每个请求的延迟 / latency per request"),
    fail_rate: float = typer.Option(0.0, "--fail-rate", min=0.0, max=1.0, help="HTTP 500 的比例"),
    throttle_rate: float = typer.Option(0.0, "--throttle-rate", min=0.0, max=1.0, help="HTTP 429 的比例"),
    seed: int = typer.Option(42, help="故障随机数种子 / seed of the fault draws"),
    account_sid: str = typer.Option("AC" + "f" * 32, "--account-sid"),
    auth_token: str = typer.Option("fake-twilio-auth-token", "--auth-token"),
) -> None:
    """Serve a local fake of Twilio's Messages API until interrupted (Ctrl-C)."""
    from web.fakes.twilio import FakeTwilio

    async def serve() -> None:
        fake = FakeTwilio(account_sid=account_sid, auth_token=auth_token, seed=seed, latency_ms=latency_ms,
                          fail_rate=fail_rate, throttle_rate=throttle_rate)  # fmt: skip
        await fake.start(host=host, port=port)
        console.print(f"Twilio 模拟服务 / fake Twilio: TWILIO_BASE_URL={fake.base_url} "
                      f"TWILIO_ACCOUNT_SID={account_sid} TWILIO_AUTH_TOKEN={auth_token}", highlight=False)  # fmt: skip
        try:
            await asyncio.Event().wait()
        finally:
            await fake.stop()

    run(serve())


@dev_app.command("fake-aliyun")
def fake_aliyun(
    port: int = typer.Option(8791, help="监听端口 / port"),
    host: str = typer.Option("127.0.0.1", help="监听地址 / host"),
    latency_ms: int = typer.Option(0, "--latency-ms", min=0, help="每个请求的延迟 / latency per request"),
    throttle_rate: float = typer.Option(0.0, "--throttle-rate", min=0.0, max=1.0, help="限流错误的比例"),
    outage: bool = typer.Option(False, "--outage", help="全部请求返回服务不可用 / answer every request 503"),
    seed: int = typer.Option(7, help="故障随机数种子 / seed of the fault draws"),
) -> None:
    """Serve a local fake of Alibaba Cloud's SMS API (SendSms, QuerySendDetails) until interrupted."""
    from web.fakes.aliyun import FakeAliyun

    async def serve() -> None:
        fake = FakeAliyun(seed=seed, latency_ms=latency_ms, throttle_rate=throttle_rate, outage=outage)
        await fake.start(host=host, port=port)
        templates = " ".join(f"{code}={text}" for code, text in fake.templates.items())
        console.print(f"阿里云短信模拟服务 / fake Alibaba Cloud SMS: ALIYUN_ENDPOINT={fake.endpoint} "
                      f"ALIYUN_PROTOCOL=http ALIYUN_ACCESS_KEY_ID={fake.access_key_id} "
                      f"ALIYUN_ACCESS_KEY_SECRET={fake.access_key_secret} "
                      f"SMS_SIGNATURE=【{fake.sign_name}】; registered templates: {templates}", highlight=False,
                      markup=False)  # fmt: skip
        try:
            await asyncio.Event().wait()
        finally:
            await fake.stop()

    run(serve())


@dev_app.command("fake-wecom")
def fake_wecom(
    port: int = typer.Option(8792, help="监听端口 / port"),
    host: str = typer.Option("127.0.0.1", help="监听地址 / host"),
    callback_url: str = typer.Option(
        "http://127.0.0.1:8000/webhooks/wecom",
        "--callback-url",
        help="Guatu 的回调地址 / Guatu's callback URL",
    ),
    member: list[str] = typer.Option(
        [], "--member", help="成员 手机号=userid,可重复 / a member as mobile=userid (repeatable)"
    ),
) -> None:
    """Serve a local fake of a WeCom self-built app (gettoken, message/send, user/getuserid) until interrupted."""
    from web.fakes.wecom import FakeWecom

    members = dict(m.split("=", 1) for m in member if "=" in m)

    async def serve() -> None:
        fake = FakeWecom(callback_url=callback_url, members=members)
        await fake.start(host=host, port=port)
        console.print(f"企业微信模拟服务 / fake WeCom: WECOM_API_BASE={fake.api_base} WECOM_CORP_ID={fake.corp_id} "
                      f"WECOM_AGENT_ID={fake.agent_id} WECOM_SECRET={fake.secret} WECOM_TOKEN={fake.token} "
                      f"WECOM_AES_KEY={fake.aes_key} (callbacks to {callback_url})", highlight=False)  # fmt: skip
        try:
            await asyncio.Event().wait()
        finally:
            await fake.stop()

    run(serve())
