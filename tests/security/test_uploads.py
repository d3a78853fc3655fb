"""Unconfirmed uploads live in a private directory of each app instance, for an hour at most
(issue item 9); the directory goes when the app stops."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path
from types import SimpleNamespace

from notifier.core.settings import Settings
from web.app import create_app
from web.uploads import UPLOAD_TTL, _stored, sweep_uploads, upload_dir


def test_uploads_live_in_a_private_directory_of_each_instance(tmp_path: Path) -> None:
    first, second = SimpleNamespace(upload_dir=None), SimpleNamespace(upload_dir=None)
    assert upload_dir(first) != upload_dir(second)
    assert upload_dir(first) == upload_dir(first)
    assert stat.S_IMODE(upload_dir(first).stat().st_mode) == 0o700
    for state in (first, second):
        upload_dir(state).rmdir()


def test_an_unconfirmed_upload_is_gone_after_an_hour(tmp_path: Path) -> None:
    fresh, old, stale = (
        tmp_path / ("a" * 32 + ".csv"),
        tmp_path / ("b" * 32 + ".csv"),
        tmp_path / ("c" * 32 + ".csv"),
    )
    for path in (fresh, old, stale):
        path.write_text("code,name,kind\n")
    hour_ago = time.time() - UPLOAD_TTL - 1
    os.utime(old, (hour_ago, hour_ago))
    os.utime(stale, (hour_ago, hour_ago))
    assert _stored(tmp_path, "c" * 32) is None and not stale.exists()  # a confirmation that comes too late
    assert sweep_uploads(tmp_path) == 1  # the background sweep
    assert [p.name for p in tmp_path.iterdir()] == [fresh.name]
    assert _stored(tmp_path, "a" * 32) == fresh


async def test_the_upload_directory_goes_with_the_app(settings: Settings) -> None:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        directory = upload_dir(app.state)
        (directory / "x.csv").write_text("code\n")
    assert not directory.exists()
