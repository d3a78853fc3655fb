#!/usr/bin/env bash
# Mutation testing (mutmut) of the rates, the reports and the bulletin composition against the tests
# that cover them ([tool.mutmut] in pyproject.toml), on SQLite and a real Redis; prints the score.
# Usage: bash scripts/mutation.sh [max-children]   (default: the number of CPUs)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
unset TEST_DATABASE_URL  # SQLite only: the same rules, a run well under an hour on two cores
rm -rf mutants
started=$(date +%s)
.venv/bin/mutmut run --max-children "${1:-$(nproc)}" >/tmp/guatu-mutmut-$$.log 2>&1 || true
.venv/bin/mutmut results --all true >mutants/results.txt 2>&1 || true
python3 - "$started" <<'PY'
import re, sys, time
from collections import Counter
counts = Counter()
for line in open("mutants/results.txt", encoding="utf-8"):
    m = re.match(r"\s*(\S+): (\w[\w ]*)$", line.rstrip())
    if m:
        counts[m.group(2)] += 1
killed = counts["killed"] + counts["timeout"]
total = sum(counts.values()) - counts["skipped"]
score = 100 * killed / total if total else 0.0
print(f"mutants: {dict(counts)}")
print(f"mutation score: {killed}/{total} killed = {score:.1f}% in {int(time.time() - int(sys.argv[1]))} s")
PY
