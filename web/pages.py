"""What every page needs: templates, language, the database session, the signed-in admin."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Person, Role
from notifier.core.settings import Settings
from notifier.core.texts import label, t
from notifier.numbers.money import format_rate
from notifier.reporting.links import has_stable_key
from web.security import csrf_token, ensure_csrf_cookie, session_person_id

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
# Every page formats a rate with the one function the SMS and the workbook use.
templates.env.globals["format_rate"] = format_rate


class LoginRequired(Exception):
    """Raised by `current_admin`; the app turns it into a redirect to the login page."""


def lang_of(request: Request) -> str:
    return "en" if request.query_params.get("lang") == "en" else "zh"


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.sessionmaker() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


async def optional_admin(request: Request, session: SessionDep, settings: SettingsDep) -> Person | None:
    """The signed-in admin, or None (a person demoted since signing in is no longer one)."""
    person_id = session_person_id(request, settings)
    if person_id is None:
        return None
    person = await session.get(Person, person_id)
    if person is None or person.role != Role.ADMIN:
        return None
    return person


async def current_admin(admin: Annotated[Person | None, Depends(optional_admin)]) -> Person:
    if admin is None:
        raise LoginRequired
    return admin


AdminDep = Annotated[Person, Depends(current_admin)]


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, *, status_code: int = 200
) -> HTMLResponse:
    """Render a template with the language, a translator, the CSRF token and the admin flag."""
    lang = lang_of(request)
    values: dict[str, Any] = {
        "lang": lang,
        "tr": lambda key, **kw: t(key, lang, **kw),
        "label": lambda kind, value: label(kind, value, lang),
        "csrf": csrf_token(request),
        **(context or {}),
    }
    response = templates.TemplateResponse(request, name, values, status_code=status_code)
    ensure_csrf_cookie(request, response)
    return response


def error_page(request: Request, message: str, *, status_code: int) -> HTMLResponse:
    return render(request, "error.html", {"message": message}, status_code=status_code)


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def open_redis(settings: Settings) -> Any:
    """An arq-capable Redis client for REDIS_URL (connects lazily), or None when unset."""
    if not settings.redis_url:
        return None
    from arq.connections import ArqRedis

    return ArqRedis.from_url(settings.redis_url)


def install_pages(app: FastAPI, settings: Settings) -> None:
    """Static files, the login redirect, and a one-line warning when SECRET_KEY is unset."""
    app.mount("/static", StaticFiles(directory=str(Path(__file__).parent / "static")), name="static")

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, _exc: LoginRequired) -> RedirectResponse:
        return redirect(f"/admin/login?next={quote(request.url.path)}")

    @app.middleware("http")
    async def _headers(request: Request, call_next: Any) -> Any:
        response = await call_next(request)
        # Wall and report links carry their token in the URL: never send it on as a Referer.
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        return response

    if not has_stable_key(settings):
        print(
            "SECRET_KEY is not set: using a random key for this process; links and sign-ins won't survive a restart."
        )
