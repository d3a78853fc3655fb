"""One spreadsheet cannot freeze the app (issue item 4).

A zip bomb is refused from its declared sizes before openpyxl opens it, an archive lying about them
is cut off where it lies, and rows, cells and time are bounded while a sheet streams, off the event
loop; the answer is a clear error.
"""

from __future__ import annotations

import asyncio
import io
import struct
import time
import zipfile
from pathlib import Path

import httpx
import pytest
from openpyxl import Workbook
from sqlmodel.ext.asyncio.session import AsyncSession

from notifier.importing.sheets import SheetError, read_rows
from tests.security.conftest import Live, csrf_of, login, make_admin

MB = 1024 * 1024
MAX_ZIP_ENTRIES = 1000  # notifier.importing.sheets.MAX_ZIP_ENTRIES
SHARED_STRINGS = "xl/sharedStrings.xml"
STRINGS_TYPE = (b'<Override PartName="/xl/sharedStrings.xml" '
                b'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml" />')  # fmt: skip


def _workbook() -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["code", "name", "kind"])
    sheet.append(["ALS", "阿拉善左旗", "banner"])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _with_strings(path: Path, unpacked: int, *, zip64: bool = True) -> Path:
    """A real workbook whose shared-string table unpacks to `unpacked` bytes (about 1/350 of that packed)."""
    item = b"<si><t>" + b"x" * 1000 + b"</t></si>"
    block = item * 1000
    with (
        zipfile.ZipFile(io.BytesIO(_workbook())) as source,
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as bomb,
    ):
        for entry in source.infolist():
            data = source.read(entry)
            if entry.filename == "[Content_Types].xml":  # openpyxl reads the table it finds declared here
                data = data.replace(b"</Types>", STRINGS_TYPE + b"</Types>")
            bomb.writestr(entry, data)
        with bomb.open(SHARED_STRINGS, "w", force_zip64=zip64) as out:
            out.write(
                b'<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            )
            for _ in range(unpacked // len(block)):
                out.write(block)
            out.write(b"</sst>")
    return path


@pytest.fixture(scope="module")
def bomb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Under a megabyte that unpacks to 320 MB (the default limit is 200 MB)."""
    return _with_strings(tmp_path_factory.mktemp("bomb") / "units.xlsx", 320 * MB)


def test_a_zip_bomb_is_refused_from_its_declared_size(bomb: Path) -> None:
    started = time.monotonic()
    with pytest.raises(SheetError, match=r"解压后 3\d\d MB,上限 200 MB"):
        read_rows(bomb, max_bytes=20 * MB, max_rows=50_000)
    assert time.monotonic() - started < 1


def test_an_archive_lying_about_its_size_is_cut_off_where_it_lies(tmp_path: Path) -> None:
    path = _with_strings(tmp_path / "liar.xlsx", 20 * MB, zip64=False)
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        entry = archive.getinfo(SHARED_STRINGS)
    # Declare 1,000 bytes unpacked, in the local header and in the central directory.
    local = entry.header_offset + 22
    central = _central_entry(bytes(data), SHARED_STRINGS) + 24
    assert struct.unpack("<I", data[central : central + 4])[0] == entry.file_size
    for offset in (local, central):
        data[offset : offset + 4] = struct.pack("<I", 1000)
    path.write_bytes(bytes(data))
    started = time.monotonic()
    with pytest.raises(SheetError, match="不是电子表格"):
        read_rows(path, max_bytes=20 * MB, max_rows=50_000)
    assert time.monotonic() - started < 2


def _central_entry(data: bytes, name: str) -> int:
    """Where the central directory's record of `name` starts."""
    position = -1
    while (position := data.find(b"PK\x01\x02", position + 1)) != -1:
        length = struct.unpack("<H", data[position + 28 : position + 30])[0]
        if data[position + 46 : position + 46 + length] == name.encode():
            return position
    raise AssertionError(f"{name} is not in the central directory")


def test_an_archive_of_too_many_entries_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "many.xlsx"
    with zipfile.ZipFile(io.BytesIO(_workbook())) as source, zipfile.ZipFile(path, "w") as archive:
        for entry in source.infolist():
            archive.writestr(entry, source.read(entry))
        for i in range(MAX_ZIP_ENTRIES):
            archive.writestr(f"xl/media/{i}.bin", b"")
    with pytest.raises(SheetError, match=f"上限 {MAX_ZIP_ENTRIES} 个"):
        read_rows(path, max_bytes=20 * MB, max_rows=50_000)


def test_cells_and_time_are_bounded(tmp_path: Path) -> None:
    path = tmp_path / "wide.csv"
    path.write_text("code,name,kind" + ",x" * 97 + "\n" + ("A,B,banner" + ",x" * 97 + "\n") * 3000)
    with pytest.raises(SheetError, match="单元格过多.*超过 10000 个"):
        read_rows(path, max_bytes=20 * MB, max_rows=50_000, max_cells=10_000)
    with pytest.raises(SheetError, match="读取超时"):
        read_rows(path, max_bytes=20 * MB, max_rows=50_000, seconds=0.000_001)
    assert len(read_rows(path, max_bytes=20 * MB, max_rows=50_000, seconds=60)) == 3001


async def test_the_bomb_uploaded_is_refused_within_five_seconds(
    live: Live, session: AsyncSession, bomb: Path
) -> None:
    await make_admin(session)
    async with live.client() as client:
        assert (await login(client)).status_code == 303
        csrf = csrf_of((await client.get("/admin/import")).text)
        started = time.monotonic()
        upload = asyncio.create_task(
            client.post("/admin/import", data={"csrf": csrf, "kind": "units"}, timeout=5,
                        files={"upload": ("units.xlsx", bomb.read_bytes(), "application/octet-stream")})
        )  # fmt: skip
        async with httpx.AsyncClient(base_url=live.url, timeout=5) as probe:
            health = (await probe.get("/healthz")).status_code
        answer = await upload
    elapsed = time.monotonic() - started
    print(
        f"\nzip bomb ({bomb.stat().st_size / MB:.2f} MB, 320 MB unpacked): {answer.status_code} in {elapsed:.2f} s"
    )
    assert answer.status_code == 422 and elapsed < 5
    assert "上限 200 MB" in answer.text and "units.xlsx" in answer.text
    assert health == 200
    assert live.upload_files() == []
