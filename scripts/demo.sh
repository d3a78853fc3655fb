#!/usr/bin/env bash
# Fresh machine to a running demo: create the virtual environment, install, run `guatu demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec .venv/bin/guatu demo "$@"
