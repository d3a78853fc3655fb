#!/usr/bin/env bash
# Twilio's own SMS segment calculator (npm sms-segments-calculator): the oracle that
# tests/notifier/sending/test_segments.py checks our segment counts against. Installed under build/oracle.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=build/oracle
if [ -d "$dir/node_modules/sms-segments-calculator" ]; then
    exit 0
fi
if ! command -v npm >/dev/null; then
    echo "npm not found: the segment-count oracle test will be skipped" >&2
    exit 0
fi
npm install --silent --no-audit --no-fund --prefix "$dir" "sms-segments-calculator@^1" >/dev/null \
    || echo "could not install sms-segments-calculator: the segment-count oracle test will be skipped" >&2
