"""Segment counting on a table of GSM-7, extension, UCS-2, emoji and boundary texts."""

import json
import os
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest

from notifier.sending.segments import (
    GSM7,
    UCS2,
    _unit_cost,
    estimate_cost,
    segment_info,
    split_segments,
    with_signature,
)

CASES = [
    ("", GSM7, 0, 0),
    ("Hello", GSM7, 5, 1),
    ("a" * 160, GSM7, 160, 1),
    ("a" * 161, GSM7, 161, 2),
    ("a" * 306, GSM7, 306, 2),
    ("a" * 307, GSM7, 307, 3),
    ("€" * 80, GSM7, 80, 1),  # 160 septets
    ("€" * 81, GSM7, 81, 2),  # 162 septets
    ("a" * 152 + "€" + "a" * 10, GSM7, 163, 2),  # the escape pair moves whole to segment two
    ("[" * 80, GSM7, 80, 1),  # 160 septets
    ("[" * 81, GSM7, 81, 2),  # 162 septets: 76 pairs | 5 pairs, never 153 | 9
    ("中" * 70, UCS2, 70, 1),
    ("中" * 71, UCS2, 71, 2),
    ("中" * 134, UCS2, 134, 2),
    ("中" * 135, UCS2, 135, 3),
    ("a" * 69 + "中", UCS2, 70, 1),
    ("😀" * 35, UCS2, 35, 1),  # 70 UTF-16 units
    ("😀" * 36, UCS2, 36, 2),
    ("中" * 66 + "😀", UCS2, 67, 1),  # 68 units fit in one message
    ("中" * 66 + "😀" + "中" * 3, UCS2, 70, 2),  # 71 units: the surrogate pair moves to segment two
    ("【阿拉善盟发改委】本周通报", UCS2, 13, 1),
    ("Price: 5€ [ok]", GSM7, 14, 1),
    ("naïve", UCS2, 5, 1),  # ï is not in GSM-7
]


@pytest.mark.parametrize(("text", "encoding", "characters", "segments"), CASES)
def test_segment_table(text: str, encoding: str, characters: int, segments: int) -> None:
    info = segment_info(text)
    assert (info.encoding, info.characters, info.segments) == (encoding, characters, segments)


@pytest.mark.parametrize(("text", "encoding", "characters", "segments"), CASES)
def test_split_matches_count_and_never_breaks_pairs(
    text: str, encoding: str, characters: int, segments: int
) -> None:
    parts = split_segments(text)
    assert len(parts) == segments
    assert "".join(parts) == text
    info = segment_info(text)
    for part in parts:
        assert part.encode("utf-16-le").decode("utf-16-le") == part  # no lone surrogate
        assert sum(_unit_cost(c, info.encoding) for c in part) <= info.per_segment


def test_signature_once_and_cost() -> None:
    assert with_signature("通知", "【发改委】") == "【发改委】通知"
    assert with_signature("【发改委】通知", "【发改委】") == "【发改委】通知"
    assert estimate_cost(segments=3, recipients=100, price=Decimal("0.05")) == Decimal("15.00")


# Twilio's own segment calculator (npm `sms-segments-calculator`) as an oracle; the test command
# installs it under build/oracle (scripts/oracle-deps.sh) and points SMS_SEGMENTS_ORACLE there:
#   npm install --prefix ~/.cache/guatu-oracle sms-segments-calculator   (the default place otherwise)
ORACLE_DIR = Path(os.environ.get("SMS_SEGMENTS_ORACLE", Path.home() / ".cache/guatu-oracle")) / "node_modules"
ORACLE_JS = (
    'const {SegmentedMessage} = require("sms-segments-calculator"); let d = "";'
    "process.stdin.on('data', c => d += c).on('end', () => console.log(JSON.stringify("
    "JSON.parse(d).map(t => { const m = new SegmentedMessage(t); return [m.encodingName, m.segmentsCount]; }))));"
)
EXTRA = ["Hello ^world^ {x}", "ñandú €€€ ¿qué?", "a" * 153 + "€" * 2, "你" * 201, "😀" * 100, "Ω" * 200]


def test_counts_agree_with_twilios_calculator() -> None:
    node = shutil.which("node")
    if node is None or not (ORACLE_DIR / "sms-segments-calculator").is_dir():
        pytest.skip(f"node or sms-segments-calculator not installed under {ORACLE_DIR}")
    texts = [text for text, *_ in CASES if text] + EXTRA
    result = subprocess.run([node, "-e", ORACLE_JS], input=json.dumps(texts), capture_output=True, text=True,
                            env={**os.environ, "NODE_PATH": str(ORACLE_DIR)}, timeout=60, check=True)  # fmt: skip
    oracle = json.loads(result.stdout)
    ours = [[segment_info(text).encoding, segment_info(text).segments] for text in texts]
    assert ours == oracle
