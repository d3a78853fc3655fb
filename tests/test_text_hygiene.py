"""Every tracked text file is Simplified Chinese (except inputs that must accept traditional forms)
and carries no stray pinyin annotations."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_chinese_text_is_normalized() -> None:
    proc = subprocess.run(
        [sys.executable, "scripts/normalize_chinese.py", "--check"], cwd=ROOT, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout
