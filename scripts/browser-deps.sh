#!/usr/bin/env bash
# Debian's Chromium (and a Chinese font) for the browser tests (Playwright drives it; its own browser download is not used).
set -euo pipefail
# fonts-wqy-microhei: Chinese glyphs for the wall screenshots and the bulletin charts.
if [ -x /usr/bin/chromium ] && fc-list 2>/dev/null | grep -qi "wenquanyi"; then
    exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null
else
    echo "browser tests need /usr/bin/chromium (apt-get install chromium)" >&2
fi
