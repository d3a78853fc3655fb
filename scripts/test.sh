#!/usr/bin/env bash
# The whole test suite: install what it needs, then lint, type-check and run pytest on SQLite,
# PostgreSQL (TEST_DATABASE_URL) and a real Redis (REDIS_URL, else a private server).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
bash scripts/browser-deps.sh
bash scripts/oracle-deps.sh
export SMS_SEGMENTS_ORACLE=${SMS_SEGMENTS_ORACLE-$PWD/build/oracle}
export TEST_DATABASE_URL=${TEST_DATABASE_URL-postgresql+asyncpg://postgres@127.0.0.1:5432/test}
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy .
.venv/bin/python -m pytest -q -p no:cacheprovider "$@"
