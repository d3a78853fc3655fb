#!/usr/bin/env bash
# Mutation testing (mutmut) of the rates, the reports and the bulletin composition against the tests
# that cover them ([tool.mutmut] in pyproject.toml), on SQLite and a real Redis; prints the score per
# module and over all three.
#
# Usage: bash scripts/mutation.sh [max-children] [module...]
#   max-children  parallel mutants (default: the number of CPUs; 1 on a machine others share)
#   module        rates | reports | compose (default: all three). Results of earlier runs of the
#                 other modules are kept, so the three may be run one after another.
# KEEP=1 keeps mutants/ and the results of the previous run: with no module named, only the mutants
#   not checked yet are run (a stopped run goes on); with modules named, all of theirs run again.
# SURVIVORS=1 (with KEEP=1) runs again the mutants that survived, against the tests as they are now
#   (and the named modules' mutants as well).
#
# A mutant mypy refuses (the CI runs mypy over the whole tree) is "caught by type check" and never
# reaches the tests; the score counts it as killed, and also prints the score over the mutants the
# tests alone had to kill.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh >/dev/null
unset TEST_DATABASE_URL  # SQLite only: the same rules, fast enough for two cores
children="${1:-$(nproc)}"
shift || true
declare -A PATTERNS=(
    [rates]="notifier.numbers.rates.*"
    [reports]="notifier.reporting.reports.*"
    [compose]="notifier.bulletins.compose.*"
)
modules=("$@")
[ ${#modules[@]} -gt 0 ] || modules=(rates reports compose)
patterns=()
for module in "${modules[@]}"; do
    [ -n "${PATTERNS[$module]:-}" ] || { echo "unknown module: $module (rates, reports, compose)" >&2; exit 2; }
    patterns+=("${PATTERNS[$module]}")
done
[ "${KEEP:-0}" = 1 ] || rm -rf mutants
started=$(date +%s)
log="/tmp/guatu-mutmut-$$.log"
if [ "${SURVIVORS:-0}" = 1 ]; then
    [ $# -gt 0 ] || patterns=()  # the survivors only; named modules run again whole as well
    mapfile -t -O "${#patterns[@]}" patterns < <(.venv/bin/mutmut results 2>/dev/null | sed -n 's/^ *\([^ :]*\): survived$/\1/p')
    [ ${#patterns[@]} -gt 0 ] || { echo "no survivors to run again"; exit 0; }
elif [ $# -eq 0 ]; then
    patterns=()
fi
.venv/bin/mutmut run --max-children "$children" "${patterns[@]}" >"$log" 2>&1 || true
.venv/bin/mutmut results --all true >mutants/results.txt 2>&1 || true
python3 - "$started" "$log" <<'PY'
import re
import sys
import time
from collections import Counter

MODULES = {"notifier.numbers.rates": "rates", "notifier.reporting.reports": "reports",
           "notifier.bulletins.compose": "compose"}
counts: dict[str, Counter[str]] = {name: Counter() for name in MODULES.values()}
for line in open("mutants/results.txt", encoding="utf-8"):
    m = re.match(r"\s*(\S+): (\w[\w ]*)$", line.rstrip())
    if m:
        module = next((v for k, v in MODULES.items() if m.group(1).startswith(k + ".")), None)
        if module:
            counts[module][m.group(2)] += 1


def score(c: Counter[str]) -> str:
    by_tests = c["killed"] + c["timeout"]
    typed = c["caught by type check"]
    checked = sum(c.values()) - c["skipped"] - c["not checked"]
    if not checked:
        return "nothing checked"
    tests_only = checked - typed
    return (f"{by_tests + typed}/{checked} killed = {100 * (by_tests + typed) / checked:.1f}% "
            f"(by the tests alone {by_tests}/{tests_only} = {100 * by_tests / max(tests_only, 1):.1f}%; "
            f"{c['not checked']} not checked)")


total: Counter[str] = Counter()
for module, c in counts.items():
    total.update(c)
    print(f"{module:8} {dict(c)}")
    print(f"{'':8} mutation score: {score(c)}")
print(f"all three: mutation score: {score(total)} in {int(time.time() - int(sys.argv[1]))} s")
if "Failed" in open(sys.argv[2], encoding="utf-8", errors="replace").read():
    print(f"mutmut reported a failure: see {sys.argv[2]}")
PY
