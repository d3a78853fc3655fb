"""What every page needs: templates, language, the database session, the signed-in admin."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlmodel.ext.asyncio.session import AsyncSession

from models import BulletinKind, Person
from notifier.core.settings import Settings
from notifier.core.texts import label, t
from notifier.numbers.money import format_amount, format_rate
from notifier.numbers.weeks import week_label
from notifier.reporting.links import has_stable_key
from web.security import csrf_token, ensure_csrf_cookie
from web.sessions import session_admin, session_token

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
# Every page formats a rate with the one function the SMS and the workbook use.
templates.env.globals["format_rate"] = format_rate


# Ids are PostgreSQL integers: a larger number in a path names nothing (404), it is not a server error.
MAX_ID = 2**31 - 1
DbId = Annotated[int, PathParam(ge=1, le=MAX_ID)]
# Dates a page may be asked about ("as_of"): the calendar code works within these years.
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2099, 12, 31)


class LoginRequired(Exception):
    """Raised by `current_admin`; the app turns it into a redirect to the login page."""


class BadRequest(Exception):
    """Input no page can answer (a date out of range, ...); the app answers 400 with the message."""


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


async def optional_admin(request: Request, session: SessionDep) -> Person | None:
    """The signed-in admin, or None (signed out, session revoked or expired, or no longer an admin)."""
    return await session_admin(session, session_token(request))


async def current_admin(admin: Annotated[Person | None, Depends(optional_admin)]) -> Person:
    if admin is None:
        raise LoginRequired
    return admin


AdminDep = Annotated[Person, Depends(current_admin)]


def parse_day(request: Request, value: str | None, settings: Settings) -> date:
    """`value` (YYYY-MM-DD) as a date, today when empty; BadRequest when malformed or out of range."""
    if not value:
        return datetime.now(settings.tz).date()
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise BadRequest(t("web.bad_date", lang_of(request), value=value[:20])) from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise BadRequest(t("web.bad_date", lang_of(request), value=value[:20]))
    return day


def local_time(moment: datetime | None, settings: Settings, *, seconds: bool = False) -> str:
    """An instant as the office reads it: its date and time in the office's time zone ("—" for none)."""
    if moment is None:
        return "—"
    return moment.astimezone(settings.tz).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def week_name(key: str, lang: str) -> str:
    """A period key as people say it: a week as dates ("12月第1周 11月30日–12月6日"), a month
    "2026-11" as 2026年11月; anything else as it is."""
    try:
        return week_label(key, lang)
    except ValueError:
        pass
    year, _, month = key.partition("-")
    if lang == "zh" and year.isdigit() and month.isdigit() and 1 <= int(month) <= 12:
        return f"{year}年{int(month)}月"
    return key


_TITLE_RE = re.compile(r"^([a-z_]+) (\d{4}-(?:W\d{2}|\d{2}))( contact)?$")


def campaign_title(title: str, lang: str) -> str:
    """A campaign's title as people read it: the rounds' and bulletins' "prompt 2026-W49" or
    "monthly 2026-11" become 报送提醒 12月第1周… / 月报告 2026年11月; a broadcast's own title stays."""
    match = _TITLE_RE.match(title)
    if not match:
        return title
    word, period, contact = match.groups()
    kind = "BulletinKind" if word in {k.value for k in BulletinKind} else "RoundStep"
    to = f" · {label('RoundStep', 'contact', lang)}" if contact else ""
    return f"{label(kind, word, lang)} {week_name(period, lang)}{to}"


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, *, status_code: int = 200
) -> HTMLResponse:
    """Render a template with the language, a translator, the CSRF token and the admin flag, and the
    formatters every page uses for times (office time zone), weeks and amounts."""
    lang = lang_of(request)
    settings = get_settings(request)
    values: dict[str, Any] = {
        "lang": lang,
        "tr": lambda key, **kw: t(key, lang, **kw),
        "label": lambda kind, value: label(kind, value, lang),
        "at": lambda moment, seconds=False: local_time(moment, settings, seconds=seconds),
        "weekname": lambda key: week_name(key, lang),
        "title": lambda text: campaign_title(text, lang),
        "money": lambda yuan: "—" if yuan is None else format_amount(yuan, lang),
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
    """Static files, the login redirect, bad input as 400/404 pages, and a warning when SECRET_KEY is unset."""
    app.mount("/static", StaticFiles(directory=str(Path(__file__).parent / "static")), name="static")

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, _exc: LoginRequired) -> RedirectResponse:
        return redirect(f"/admin/login?next={quote(request.url.path)}")

    @app.exception_handler(BadRequest)
    async def _bad_request(request: Request, exc: BadRequest) -> HTMLResponse:
        return error_page(request, str(exc), status_code=400)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> HTMLResponse:
        # A path that does not parse names nothing. Otherwise name the fields, never their values:
        # the default answer echoes the input, a password included.
        lang = lang_of(request)
        if any(error.get("loc", ("",))[0] == "path" for error in exc.errors()):
            return error_page(request, t("web.not_found", lang), status_code=404)
        fields = sorted({str(error["loc"][-1]) for error in exc.errors() if error.get("loc")})
        return error_page(request, t("web.bad_input", lang, fields=", ".join(fields)), status_code=422)

    if not has_stable_key(settings):
        print(
            "SECRET_KEY is not set: using a random key for this process; links and sign-ins won't survive a restart."
        )
