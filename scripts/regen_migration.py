"""Regenerate the initial migration from the models (before the first release only)."""

import tempfile
from pathlib import Path

from alembic import command

from models.migrate import MIGRATIONS, alembic_config

for old in (MIGRATIONS / "versions").glob("0001_*.py"):
    old.unlink()
with tempfile.TemporaryDirectory() as tmp:
    cfg = alembic_config(f"sqlite+aiosqlite:///{Path(tmp) / 'gen.db'}")
    command.revision(cfg, message="initial schema", autogenerate=True, rev_id="0001")
