"""`guatu web`, `guatu serve` and `guatu admin create`."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import typer
from sqlmodel import select

from models import Person, Role
from notifier.cli.main import app, console, get_settings, open_sessionmaker, require_schema, run
from notifier.core.errors import GuatuError
from notifier.core.phones import parse_phone
from notifier.core.redis_server import redis_url_for
from notifier.core.settings import Settings
from notifier.core.texts import t

admin_app = typer.Typer(help="管理员账号 / admin accounts", no_args_is_help=True)
app.add_typer(admin_app, name="admin")
MIN_PASSWORD = 10


def _server(settings: Settings, host: str, port: int) -> Any:
    from web.server import build_server

    return build_server(settings, host=host, port=port)


@app.command("web")
def web(
    host: str = typer.Option(None, "--host", help="监听地址 / bind address (WEB_HOST)"),
    port: int = typer.Option(None, "--port", help="端口 / port (WEB_PORT)"),
) -> None:
    """运行网页(大屏、后台、报送表单)/ serve the web app with uvicorn."""
    settings = get_settings()
    require_schema(settings)
    run(_server(settings, host or settings.web_host, port or settings.web_port).serve())


@app.command("serve")
def serve(
    host: str = typer.Option(None, "--host", help="监听地址 / bind address"),
    port: int = typer.Option(None, "--port", help="端口 / port"),
) -> None:
    """单机运行:网页 + 一个队列进程(+ 机器人)/ web, one worker and the bot together on one machine."""
    from arq.worker import Worker

    import worker as worker_module

    settings = get_settings()
    require_schema(settings)
    with redis_url_for(settings.redis_url) as redis_url:
        settings = settings.model_copy(update={"redis_url": redis_url})
        with_bot = settings.telegram_configured
        if not with_bot:
            console.print(t("cli.serve.no_bot", settings.language))
        server = _server(settings, host or settings.web_host, port or settings.web_port)
        job_worker = Worker(**worker_module.worker_settings(settings, redis_url), handle_signals=False)

        async def both() -> None:
            tasks = [asyncio.create_task(job_worker.async_run())]
            if with_bot:
                tasks.append(asyncio.create_task(_poll_bot(settings)))
            try:
                await server.serve()  # returns on Ctrl-C / SIGTERM
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                await job_worker.close()

        run(both())


async def _poll_bot(settings: Settings) -> None:
    """The bot's long polling inside `serve` (uvicorn owns the signals, so aiogram must not)."""
    from arq.connections import RedisSettings, create_pool

    from bot.app import build_bot, build_dispatcher, redis_storage

    bot = build_bot(settings)
    arq = await create_pool(RedisSettings.from_dsn(settings.redis_url or ""))
    try:
        async with open_sessionmaker(settings) as sessionmaker:
            dp = build_dispatcher(settings=settings, sessionmaker=sessionmaker, storage=redis_storage(settings),
                                  arq=arq)  # fmt: skip
            await dp.start_polling(bot, handle_signals=False)
    finally:
        await arq.aclose()
        await bot.session.close()


def _read_password(password_stdin: bool) -> str:
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("密码 / password", hide_input=True, confirmation_prompt=True)
    if len(password) < MIN_PASSWORD:
        raise GuatuError(
            f"密码至少 {MIN_PASSWORD} 个字符 / the password needs at least {MIN_PASSWORD} characters"
        )
    return password


@admin_app.command("create")
def admin_create(
    name: str,
    phone: str,
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="从标准输入读取密码 / read the password from stdin"
    ),
) -> None:
    """创建管理员或重设其密码(重设会让其所有登录失效)/ create an admin, or reset an admin's password
    (which signs them out everywhere)."""
    from web.security import hash_password
    from web.sessions import end_sessions

    settings = get_settings()
    e164 = parse_phone(phone)
    name = name.strip()
    if not name or len(name) > 64 or "\x00" in name:
        raise GuatuError("姓名不能为空且不超过 64 个字符 / the name must be 1-64 characters")
    password_hash = hash_password(_read_password(password_stdin))

    async def _save() -> str:
        async with open_sessionmaker(settings) as sessionmaker, sessionmaker() as session:
            person = (await session.exec(select(Person).where(Person.phone == e164))).first()
            namesake = (
                await session.exec(select(Person).where(Person.name == name, Person.role == Role.ADMIN))
            ).first()
            if namesake is not None and namesake.phone != e164:
                # Admins sign in by name: a second one of the same name could never sign in.
                raise GuatuError(
                    f"已有名为 {name} 的管理员({namesake.phone})/ an admin named {name} already exists"
                )
            if person is None:
                person = Person(name=name, phone=e164, role=Role.ADMIN)
                verb = "已创建 / created"
            elif person.role != Role.ADMIN:
                raise GuatuError(
                    f"{e164} 已属于 {person.name}(角色 {person.role})/ phone already belongs to a {person.role}"
                )
            else:
                ended = await end_sessions(session, person_id=person.id or 0)
                verb = f"已重设密码,{ended} 个登录已失效 / password reset, {ended} session(s) ended"
            person.password_hash = password_hash
            session.add(person)
            await session.commit()
            return verb

    console.print(f"{run(_save())}: {name} {e164}", markup=False, highlight=False)


@admin_app.command("revoke")
def admin_revoke(name: str) -> None:
    """让管理员的所有登录立即失效 / sign an admin out of every browser at once."""
    from web.sessions import end_sessions

    settings = get_settings()

    async def _revoke() -> int:
        async with open_sessionmaker(settings) as sessionmaker, sessionmaker() as session:
            person = (
                await session.exec(
                    select(Person).where(Person.name == name.strip(), Person.role == Role.ADMIN)
                )
            ).first()
            if person is None or person.id is None:
                raise GuatuError(f"没有名为 {name.strip()} 的管理员 / no admin named {name.strip()}")
            ended = await end_sessions(session, person_id=person.id)
            await session.commit()
            return ended

    ended = run(_revoke())
    console.print(
        f"已失效 {ended} 个登录 / {ended} session(s) ended: {name.strip()}", markup=False, highlight=False
    )
