"""Spreadsheet import from the admin console: upload, dry-run validation report, then confirm.

The request body is read only once the admin is known, so nothing a visitor sends is ever written;
an admin's file streams straight into this instance's own upload directory and is cut off at
IMPORT_MAX_BYTES. A checked file waits there for its confirmation for at most an hour.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import secrets
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

from notifier.core.errors import GuatuError
from notifier.core.texts import t
from notifier.importing.headings import COLUMNS, field_choice
from notifier.importing.importer import ImportKind, import_file
from web.pages import AdminDep, SessionDep, SettingsDep, error_page, lang_of, render
from web.security import csrf_ok

router = APIRouter(prefix="/admin")
SUFFIXES = (".xlsx", ".csv")
UPLOAD_TTL = 3600  # seconds a checked file waits for its confirmation
SWEEP_EVERY = 300
FORM_OVERHEAD = 64 * 1024  # the form's other fields and the multipart framing around the file
MAX_FIELD = 1024  # csrf, kind and token are short
MAX_PARTS = 8
MAX_PICKS = 64  # fields picked for unknown headings ("map.E"), sent back with the stored file's token
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
_PICK = re.compile(r"^map\.([A-Z]{1,3})$")


def upload_dir(state: Any) -> Path:
    """The app's private upload directory (mode 0700), made on first use; the lifespan removes it."""
    if getattr(state, "upload_dir", None) is None:
        state.upload_dir = Path(tempfile.mkdtemp(prefix="guatu-uploads-"))
    path: Path = state.upload_dir
    return path


def sweep_uploads(directory: Path, *, max_age: float = UPLOAD_TTL, now: float | None = None) -> int:
    """Delete files older than `max_age` seconds; how many went."""
    now = time.time() if now is None else now
    removed = 0
    for path in directory.iterdir():
        with contextlib.suppress(FileNotFoundError):
            if now - path.stat().st_mtime > max_age:
                path.unlink()
                removed += 1
    return removed


async def sweep_forever(state: Any) -> None:
    """The app's background sweep: unconfirmed uploads never outlive UPLOAD_TTL by much."""
    while True:
        await asyncio.sleep(SWEEP_EVERY)
        if getattr(state, "upload_dir", None) is not None:
            sweep_uploads(state.upload_dir)


def _stored(directory: Path, token: str) -> Path | None:
    # Only our own random names: a submitted token never becomes an arbitrary path.
    if not _TOKEN.match(token):
        return None
    path = next((p for p in directory.glob(f"{token}.*") if p.suffix in SUFFIXES), None)
    if path is not None and time.time() - path.stat().st_mtime > UPLOAD_TTL:
        path.unlink(missing_ok=True)
        return None
    return path


class UploadRefused(GuatuError):
    """The upload form cannot be taken; `status_code` is the answer's."""

    def __init__(self, message: str, *, status_code: int) -> None:
        super().__init__(message)
        self.status_code = status_code


@dataclass
class ImportForm:
    """The import form's fields, and the uploaded file as stored (None for a confirmation)."""

    fields: dict[str, str] = field(default_factory=dict)
    path: Path | None = None
    filename: str = ""


class _MultipartReader:
    """Streams a multipart body: short text fields kept, the one file written as it arrives.

    The file is only written after a valid CSRF field (browsers send fields in page order, and the
    token comes first), with an allowed suffix, and is cut off past `max_bytes`.
    """

    def __init__(self, request: Request, *, directory: Path, max_bytes: int, lang: str) -> None:
        self.request, self.directory, self.max_bytes, self.lang = request, directory, max_bytes, lang
        self.form = ImportForm()
        self._out: IO[bytes] | None = None
        self._parts = 0
        self._size = 0
        self._header = b""
        self._value = b""
        self._disposition = b""
        self._name = ""
        self._data = bytearray()

    def _refuse(self, key: str, status_code: int, **values: object) -> UploadRefused:
        return UploadRefused(t(key, self.lang, **values), status_code=status_code)

    def on_part_begin(self) -> None:
        self._parts += 1
        if self._parts > MAX_PARTS:
            raise self._refuse("web.upload_form", 400)
        self._disposition, self._name, self._data = b"", "", bytearray()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def on_header_end(self) -> None:
        if self._header.lower() == b"content-disposition":
            self._disposition = self._value
        self._header = self._value = b""

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self._disposition)
        self._name = options.get(b"name", b"").decode("utf-8", "replace")
        if b"filename" not in options:
            return
        if self.form.path is not None:
            raise self._refuse("web.upload_form", 400)
        if not csrf_ok(self.request, self.form.fields.get("csrf")):
            raise self._refuse("web.csrf_failed", 403)
        filename = options[b"filename"].decode("utf-8", "replace")
        suffix = Path(filename).suffix.lower()
        if suffix not in SUFFIXES:
            raise self._refuse("web.upload_type", 422, name=filename)
        self.form.filename = filename
        self.form.path = self.directory / f"{secrets.token_urlsafe(24)}{suffix}"
        self._out = self.form.path.open("xb")

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._out is not None:
            self._size += end - start
            if self._size > self.max_bytes:
                raise self._refuse("web.upload_too_large", 413, limit=self.max_bytes // (1024 * 1024) or 1)
            self._out.write(data[start:end])
        else:
            if len(self._data) + end - start > MAX_FIELD:
                raise self._refuse("web.upload_form", 400)
            self._data += data[start:end]

    def on_part_end(self) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None
        elif self._name:
            self.form.fields[self._name] = self._data.decode("utf-8", "replace")

    def close(self, *, keep: bool) -> None:
        if self._out is not None:
            self._out.close()
        if not keep and self.form.path is not None:
            self.form.path.unlink(missing_ok=True)


async def read_import_form(request: Request, *, directory: Path, max_bytes: int, lang: str) -> ImportForm:
    """The import form from the request body (call only once the admin is known)."""
    kind, options = parse_options_header(request.headers.get("content-type"))
    if kind == b"application/x-www-form-urlencoded":
        form = await request.form(max_files=0, max_fields=MAX_PARTS + MAX_PICKS, max_part_size=MAX_FIELD)
        return ImportForm(fields={k: v for k, v in form.items() if isinstance(v, str)})
    if kind != b"multipart/form-data" or b"boundary" not in options:
        raise UploadRefused(t("web.upload_form", lang), status_code=400)
    reader = _MultipartReader(request, directory=directory, max_bytes=max_bytes, lang=lang)
    callbacks = {name: getattr(reader, name) for name in ("on_part_begin", "on_header_field", "on_header_value",
                 "on_header_end", "on_headers_finished", "on_part_data", "on_part_end")}  # fmt: skip
    parser = MultipartParser(options[b"boundary"], callbacks)  # type: ignore[arg-type]
    kept = False
    try:
        async for chunk in request.stream():
            parser.write(chunk)
        parser.finalize()
        kept = True
    except FormParserError:
        raise UploadRefused(t("web.upload_form", lang), status_code=400) from None
    finally:
        reader.close(keep=kept)
    return reader.form


def _kind(value: str) -> ImportKind | None:
    return ImportKind(value) if value in {k.value for k in ImportKind} else None


def _picks(fields: dict[str, str]) -> dict[str, str]:
    """The field picked for each column ("map.E" -> {"E": "annual_plan"}). "(not imported)" is no pick:
    such a column stays listed among the warnings."""
    return {match.group(1): value for name, value in fields.items() if (match := _PICK.match(name)) and value}


def _fields(kind: ImportKind | None, lang: str) -> dict[str, str]:
    """The choices of a column's select: every field of the kind by key, with its name."""
    if kind is None:
        return {}
    return {c.key: field_choice(kind, c.key, lang) for c in COLUMNS[kind]}


@router.get("/import", response_class=HTMLResponse)
async def import_page(request: Request, admin: AdminDep) -> Response:
    return render(
        request, "import.html", {"admin": admin, "kinds": list(ImportKind), "result": None, "error": None}
    )


def _file_to_import(directory: Path, form: ImportForm, lang: str) -> Path:
    """The uploaded file, or for a confirmation (`token`) the file checked before."""
    token = form.fields.get("token", "")
    if token:
        if form.path is not None:
            form.path.unlink(missing_ok=True)
        path = _stored(directory, token)
        if path is None:
            raise GuatuError(t("web.upload_gone", lang))
        return path
    if form.path is None:
        raise GuatuError(t("web.field_required", lang, field=t("web.import_file", lang)))
    return form.path


@router.post("/import", response_class=HTMLResponse)
async def import_upload(
    request: Request, session: SessionDep, settings: SettingsDep, admin: AdminDep
) -> Response:
    """Without `token`: store the upload and dry-run it. With `token` and `action=check`: dry-run the
    stored file again with the fields picked for its unknown columns (`map.E`). With `token` otherwise:
    import the stored file for real, with the picks that were checked.

    No form parameters: FastAPI would read (and spool to disk) the body before knowing who sent it.
    """
    lang = lang_of(request)
    directory = upload_dir(request.app.state)
    context: dict[str, object] = {"admin": admin, "kinds": list(ImportKind), "result": None, "error": None,
                                  "kind": "", "token": "", "picks": {}, "fields": {}, "filename": ""}  # fmt: skip
    try:
        form = await read_import_form(
            request, directory=directory, max_bytes=settings.import_max_bytes, lang=lang
        )
    except UploadRefused as exc:
        if exc.status_code == 403:
            return error_page(request, str(exc), status_code=403)
        context["error"] = str(exc)
        return render(request, "import.html", context, status_code=exc.status_code)
    if not csrf_ok(request, form.fields.get("csrf")):
        if form.path is not None:
            form.path.unlink(missing_ok=True)
        return error_page(request, t("web.csrf_failed", lang), status_code=403)
    kind, token, shown = form.fields.get("kind", ""), form.fields.get("token", ""), form.filename
    shown = shown or form.fields.get("filename", "")[:200]
    dry_run = not token or form.fields.get("action") == "check"
    picks = _picks(form.fields)
    import_kind = _kind(kind)
    context.update(kind=kind, picks=picks, filename=shown, fields=_fields(import_kind, lang))
    path: Path | None = form.path
    try:
        if import_kind is None:
            raise GuatuError(t("web.field_required", lang, field=t("web.import_kind", lang)))
        path = _file_to_import(directory, form, lang)
        result = await import_file(session, settings=settings, kind=import_kind, path=path, dry_run=dry_run,
                                   actor_id=admin.id, channel="web", overrides=picks)  # fmt: skip
    except GuatuError as exc:
        # Messages name the stored file; show the name the admin uploaded instead.
        context["error"] = str(exc).replace(path.name, shown) if path is not None and shown else str(exc)
        if path is not None:
            path.unlink(missing_ok=True)
        return render(request, "import.html", context, status_code=422)
    if shown:
        result.file = shown
    # A checked file waits for its confirmation, or for fields picked for its unknown columns.
    if dry_run and (result.ok or result.unknown or picks):
        context["token"] = path.name.split(".", 1)[0]
    else:
        path.unlink(missing_ok=True)
    context["result"] = result
    first, last = result.header_first or result.header_line, result.header_line
    context["header_lines"] = str(last) if first == last else f"{first}–{last}"
    return render(request, "import.html", context, status_code=200 if result.ok else 422)
