"""Spreadsheet import from the admin console: upload, dry-run validation report, then confirm."""

from __future__ import annotations

import re
import secrets
import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, Response

from notifier.core.errors import GuatuError
from notifier.core.texts import t
from notifier.importing.importer import ImportKind, import_file
from web.pages import AdminDep, SessionDep, SettingsDep, error_page, lang_of, render
from web.security import csrf_ok

router = APIRouter(prefix="/admin")
SUFFIXES = (".xlsx", ".csv")
CHUNK = 64 * 1024
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def upload_dir() -> Path:
    path = Path(tempfile.gettempdir()) / "guatu-uploads"
    path.mkdir(mode=0o700, exist_ok=True)
    return path


def _stored(token: str) -> Path | None:
    # Only our own random names: a submitted token never becomes an arbitrary path.
    if not _TOKEN.match(token):
        return None
    return next((p for p in upload_dir().glob(f"{token}.*") if p.suffix in SUFFIXES), None)


async def _save(upload: UploadFile, *, max_bytes: int, lang: str) -> Path:
    """Write the upload to a private file, refusing wrong types and oversized files as they stream in."""
    suffix = Path(upload.filename or "").suffix.lower()
    if suffix not in SUFFIXES:
        raise GuatuError(t("web.upload_type", lang, name=upload.filename or ""))
    path = upload_dir() / f"{secrets.token_urlsafe(24)}{suffix}"
    size = 0
    with path.open("wb") as out:
        while chunk := await upload.read(CHUNK):
            size += len(chunk)
            if size > max_bytes:
                out.close()
                path.unlink(missing_ok=True)
                raise GuatuError(t("web.upload_too_large", lang, limit=max_bytes // (1024 * 1024) or 1))
            out.write(chunk)
    return path


def _kind(value: str) -> ImportKind | None:
    return ImportKind(value) if value in {k.value for k in ImportKind} else None


@router.get("/import", response_class=HTMLResponse)
async def import_page(request: Request, admin: AdminDep) -> Response:
    return render(
        request, "import.html", {"admin": admin, "kinds": list(ImportKind), "result": None, "error": None}
    )


@router.post("/import", response_class=HTMLResponse)
async def import_upload(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    admin: AdminDep,
    csrf: Annotated[str, Form()] = "",
    kind: Annotated[str, Form(max_length=16)] = "",
    upload: Annotated[UploadFile | None, File()] = None,
    token: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """Without `token`: store the upload and dry-run it. With `token`: import the stored file for real."""
    lang = lang_of(request)
    if not csrf_ok(request, csrf):
        return error_page(request, t("web.csrf_failed", lang), status_code=403)
    context: dict[str, object] = {"admin": admin, "kinds": list(ImportKind), "result": None, "error": None,
                                  "kind": kind, "token": ""}  # fmt: skip
    import_kind = _kind(kind)
    path: Path | None = None
    shown = upload.filename if upload is not None and upload.filename else ""
    try:
        if import_kind is None:
            raise GuatuError(t("web.field_required", lang, field=t("web.import_kind", lang)))
        if token:
            path = _stored(token)
            if path is None:
                raise GuatuError(t("web.upload_gone", lang))
        elif upload is None or not upload.filename:
            raise GuatuError(t("web.field_required", lang, field=t("web.import_file", lang)))
        else:
            path = await _save(upload, max_bytes=settings.import_max_bytes, lang=lang)
        result = await import_file(session, settings=settings, kind=import_kind, path=path, dry_run=not token,
                                   actor_id=admin.id, channel="web")  # fmt: skip
    except GuatuError as exc:
        # Messages name the stored file; show the name the admin uploaded instead.
        context["error"] = str(exc).replace(path.name, shown) if path is not None and shown else str(exc)
        if path is not None:
            path.unlink(missing_ok=True)
        return render(request, "import.html", context, status_code=422)
    if shown:
        result.file = shown
    if token or not result.ok:
        path.unlink(missing_ok=True)
    else:
        context["token"] = path.name.split(".", 1)[0]
    context["result"] = result
    return render(request, "import.html", context, status_code=200 if result.ok else 422)
